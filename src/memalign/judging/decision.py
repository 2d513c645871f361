"""Turning the model's label probabilities into a verdict value, and deciding by validated
checks where they fire and agree."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from memalign.checks import clauses, fired_clause
from memalign.checks import pairwise as pairs
from memalign.errors import SpecError
from memalign.judge_spec import FloatScore, Labels, OutputType, Pairwise, Scale, Value
from memalign.records import Case, CheckHit, Example, Guideline

# The newest calibrated examples a threshold or blend is fitted on: the freshest evidence of how
# the judge behaves under its current memory, at a bounded cost whatever the memory's size.
EVIDENCE_WINDOW = 2000


def normalise(probs: Mapping[str, float], choices: tuple[str, ...]) -> dict[str, float]:
    raw = {c: max(0.0, float(probs.get(c, 0.0))) for c in choices}
    total = sum(raw.values())
    if total <= 0:
        return {c: 1.0 / len(choices) for c in choices}
    return {c: p / total for c, p in raw.items()}


@dataclass(frozen=True)
class Threshold:
    """For two labels: choose the first label when P(first) >= ``value``."""

    value: float
    support: int

    def describe(self) -> str:
        return f"P(first label) >= {self.value:.3f}, fitted on {self.support} examples"


def fit_threshold(
    output: OutputType,
    evidence: Sequence[tuple[Mapping[str, float], Value]],
    min_per_class: int = 2,
    *,
    totals: tuple[int, int] | None = None,
) -> Threshold | None:
    """The cut on P(first label) that maximises balanced accuracy on labelled evidence.

    Small local models are often confident in one direction whatever the case; a threshold fitted
    on the feedback already seen corrects that bias at no extra model calls. None when the
    output is not binary or either class has fewer than ``min_per_class`` examples (with
    ``totals``: in the whole memory, and the evidence holds fewer than ``min_per_class``).

    ``totals`` (first label, other labels): the class sizes of the whole memory when
    ``evidence`` is only the part of it the checks leave undecided. Each recall is then taken
    over the whole class, so the cut maximises the balanced accuracy of the checks and the
    threshold together: where the checks already catch most of one label, the examples they
    leave are mostly of the other, and the cut leans that way (design/decision.md).
    """
    if not isinstance(output, Labels) or len(output.labels) != 2:
        return None
    first = output.labels[0]
    points = [(normalise(p, output.choices)[first], label == first) for p, label in evidence]
    positives = sum(1 for _, y in points if y)
    negatives = len(points) - positives
    if totals is not None:
        if len(points) < min_per_class:
            return None
        positives, negatives = max(positives, totals[0]), max(negatives, totals[1])
    if positives < min_per_class or negatives < min_per_class:
        return None
    values = sorted({p for p, _ in points})
    cuts = [0.5] + [(a + b) / 2 for a, b in pairwise(values)]
    if totals is not None:  # one label for every undecided case may be the best complement
        above = (values[-1] + 1) / 2
        cuts += [values[0] / 2, above if above > values[-1] else math.nextafter(1.0, 2.0)]

    def balanced_accuracy(cut: float) -> float:
        tp = sum(1 for p, y in points if y and p >= cut)
        tn = sum(1 for p, y in points if not y and p < cut)
        return (tp / positives + tn / negatives) / 2

    best = max(cuts, key=lambda cut: (balanced_accuracy(cut), -abs(cut - 0.5)))
    return Threshold(best, len(points))


def expected_score(output: Scale, probs: Mapping[str, float]) -> float:
    """The probability-weighted mean score."""
    return sum(int(c) * p for c, p in normalise(probs, output.choices).items())


def value_from_probs(
    output: OutputType, probs: Mapping[str, float], threshold: Threshold | None = None
) -> Value:
    """Argmax for labels and pairwise (or a fitted threshold for two labels); the
    probability-weighted mean, rounded, for scales."""
    if isinstance(output, FloatScore):
        raise SpecError("float outputs have no finite choices to read probabilities over")
    dist = normalise(probs, output.choices)
    if threshold is not None and isinstance(output, Labels) and len(output.labels) == 2:
        return output.labels[0] if dist[output.labels[0]] >= threshold.value else output.labels[1]
    if isinstance(output, Scale):
        return min(output.high, max(output.low, round(expected_score(output, probs))))
    # Ties resolve to the first choice in the user's order, deterministically.
    return max(output.choices, key=lambda c: dist[c])


def agrees(output: OutputType, judged: Value, expected: Value) -> bool:
    """Whether a judge value matches an expert label; floats within 5% of the scale."""
    if isinstance(output, FloatScore):
        span = (
            output.high - output.low
            if output.low is not None and output.high is not None
            else max(1.0, abs(float(expected)))
        )
        return abs(float(judged) - float(expected)) <= 0.05 * span
    return judged == expected


def first_label(output: OutputType) -> str | None:
    """The label a binary judge's probabilities are read for; None for other outputs."""
    return output.labels[0] if isinstance(output, Labels) and len(output.labels) == 2 else None


def example_vote(output: OutputType, hits: Sequence[tuple[Example, float]]) -> float | None:
    """A similarity-weighted vote of retrieved examples in [-1, 1]. Two labels: +1 when every
    labelled neighbour carries the first label, -1 when none does. A scale: the neighbours'
    mean score, -1 at the scale's low end and +1 at its high end. None when it cannot be taken."""
    first = first_label(output)
    labelled = [(e, max(0.0, float(s))) for e, s in hits if e.label is not None]
    total = sum(w for _, w in labelled)
    if not labelled or total <= 0:
        return None
    if isinstance(output, Scale):
        mean = sum(w * float(str(e.label)) for e, w in labelled) / total
        return 2 * (mean - output.low) / (output.high - output.low) - 1
    if first is None:
        return None
    return sum(w if e.label == first else -w for e, w in labelled) / total


def leave_one_out_votes(
    output: OutputType, examples: Sequence[Example], matrix: npt.NDArray[np.float32], k: int
) -> list[float | None]:
    """Each example's vote of its k nearest other examples: the vote it would have got had it
    been judged with the rest of memory, as evidence to fit a decision rule on."""
    similarity = matrix @ matrix.T
    votes = []
    for i in range(len(examples)):
        others = [int(j) for j in np.argsort(-similarity[i]) if j != i][:k]
        votes.append(example_vote(output, [(examples[j], float(similarity[i, j])) for j in others]))
    return votes


def blend_evidence(
    output: OutputType, examples: Sequence[Example], matrix: npt.NDArray[np.float32], k: int
) -> list[tuple[float, float, bool]]:
    """(P_llm(first), leave-one-out example vote, is first) for each calibrated example."""
    first = first_label(output)
    if first is None or not examples:
        return []
    points = []
    for example, vote in zip(
        examples, leave_one_out_votes(output, examples, matrix, k), strict=True
    ):
        if example.judge_probs is None or example.label is None:
            continue
        p_first = normalise(example.judge_probs, output.choices)[first]
        points.append((p_first, vote or 0.0, example.label == first))
    return points


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class Blend:
    """For two labels: P(first) = σ(a·logit(P_llm(first)) + b·vote + c), where ``vote`` is the
    similarity-weighted label vote of the retrieved examples. Fitted on the feedback already
    seen, so memory counts in the decision and not only in the prompt."""

    a: float
    b: float
    c: float
    support: int

    def p_first(self, p_llm: float, vote: float) -> float:
        z = self.a * _logit(p_llm) + self.b * vote + self.c
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def describe(self) -> str:
        return (
            f"blend: σ({self.a:.2f}·logit P_llm + {self.b:.2f}·example vote + {self.c:.2f}) "
            f">= 0.5, fitted on {self.support} examples"
        )


def fit_blend(
    points: Sequence[tuple[float, float, bool]], min_per_class: int = 2, l2: float = 1.0
) -> Blend | None:
    """L2-regularised logistic regression on (P_llm(first), vote, is_first), by Newton steps."""
    positives = sum(1 for _, _, y in points if y)
    if positives < min_per_class or len(points) - positives < min_per_class:
        return None
    x = np.array([[_logit(p), v, 1.0] for p, v, _ in points])
    y = np.array([1.0 if label else 0.0 for _, _, label in points])
    w = np.zeros(3)
    penalty = np.diag([l2, l2, 0.0])  # the bias is not shrunk
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -50, 50)))
        gradient = x.T @ (p - y) + penalty @ w
        hessian = (x.T * (p * (1 - p))) @ x + penalty + 1e-9 * np.eye(3)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return Blend(float(w[0]), float(w[1]), float(w[2]), len(points))


def decide(
    output: OutputType,
    probs: Mapping[str, float],
    threshold: Threshold | None,
    blend: Blend | None,
    vote: float | None,
    rule: str = "llm",
) -> tuple[Value, str]:
    """The value and how it was chosen: under the "vote" rule the retrieved examples' vote
    (unless tied); else from the model's probabilities: the fitted blend with the example vote,
    else the fitted threshold, else the argmax."""
    first = first_label(output)
    by_vote = vote_value(output, vote) if rule == "vote" else None
    if by_vote is not None:
        return by_vote
    if blend is not None and vote is not None and first is not None:
        assert isinstance(output, Labels)
        p_first = blend.p_first(normalise(probs, output.choices)[first], vote)
        value = output.labels[0] if p_first >= 0.5 else output.labels[1]
        return value, f"{blend.describe()}; vote {vote:+.2f}"
    if threshold is not None:
        return value_from_probs(output, probs, threshold), threshold.describe()
    return value_from_probs(output, probs), "argmax"


def vote_value(output: OutputType, vote: float | None) -> tuple[Value, str] | None:
    """Two labels: the label the retrieved examples vote for, and why; None on a tie."""
    if not vote or not isinstance(output, Labels) or len(output.labels) != 2:
        return None
    return output.labels[0 if vote > 0 else 1], f"retrieved examples' vote {vote:+.2f}"


def fit_rules(
    output: OutputType,
    examples: Sequence[Example],
    matrix: npt.NDArray[np.float32],
    k: int,
    *,
    blend: bool,
    settled: Sequence[Value | None] | None = None,
) -> tuple[Threshold | None, Blend | None]:
    """The threshold (and, when asked, the blend) fitted on calibrated examples.

    ``settled``: per example, the label the deciding checks give it (None where they leave it).
    The threshold then acts only where the checks do not, so it is fitted there: on the
    examples the checks leave, its recalls taken over the whole memory. The blend stays fitted
    on every example: its example vote reads the whole memory when judging, and ``auto``
    never chooses it."""
    evidence = [
        (e.judge_probs, e.label)
        for i, e in enumerate(examples)
        if e.judge_probs is not None
        and e.label is not None
        and (settled is None or settled[i] is None)
    ]
    totals = class_totals(output, examples) if settled is not None else None
    fitted = fit_blend(blend_evidence(output, examples, matrix, k)) if blend else None
    return fit_threshold(output, evidence, totals=totals), fitted


def class_totals(output: OutputType, examples: Sequence[Example]) -> tuple[int, int] | None:
    """Two labels: how many labelled examples carry the first label, and how many another."""
    first = first_label(output)
    if first is None:
        return None
    labels = [e.label for e in examples if e.label is not None]
    positives = labels.count(first)
    return positives, len(labels) - positives


def active_checks(guidelines: Iterable[Guideline]) -> tuple[Guideline, ...]:
    """The active guidelines whose check the labelled records bear out."""
    return tuple(
        g for g in guidelines if g.status == "active" and g.check is not None and g.check.active
    )


def checks_fired(
    checks: Sequence[Guideline], case: Case, output: OutputType | None = None
) -> list[CheckHit]:
    """The validated checks that fire on ``case`` (on each candidate, for a pairwise judge),
    with where their term was found."""
    active = [(g, g.check) for g in checks if g.check is not None and g.check.active]
    sides: dict[str | None, Case] = {None: case}
    if isinstance(output, Pairwise):
        sides = dict(pairs.candidates(case).items())
    hits = []
    for side, one in sides.items():
        for guideline, check in active:
            fired = fired_clause(check, one)
            if fired is not None:
                index, span = fired
                hits.append(
                    CheckHit(
                        guideline_id=guideline.id,
                        label=check.label,
                        field=clauses(check)[index].field,
                        span=span,
                        candidate=side,
                        clause=index,
                    )
                )
    return hits


def decided_by_checks(hits: Sequence[CheckHit], output: OutputType | None = None) -> str | None:
    """The label validated checks agree on, if any fired and none disagrees; for a pairwise
    judge, the candidate they set above the other."""
    if isinstance(output, Pairwise):
        return pairs.pick(hits)
    labels = {hit.label for hit in hits}
    return labels.pop() if len(labels) == 1 else None
