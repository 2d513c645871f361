"""Choosing, per judge, what decides a verdict the checks leave: the model's own probabilities,
a linear model over the stored example embeddings, both summed, or the retrieved examples' label
vote — by cross-validation on the labelled examples already in memory, at no model cost.

No one of them wins everywhere (design/decision.md): on rules about wording the model's fitted
threshold or the checks do; on rules about intent that a small model cannot act on, the
embeddings carry the experts' labels better than the model (an intent task on the local 1.5B:
the embedding model near 0.86 balanced accuracy, the model near chance). Each example's
first-pass probabilities were recorded when it arrived, before it was in memory, so they are
held-out evidence of the model; the embedding model is refitted (its L2 chosen again), and the
vote taken, without each fold; only its feature set (embedding alone, or with the examples'
words) is chosen once on all the rows, which leans its score a little optimistic and halves the
cost. The folds are ten and stratified by label: cut in arrival order, or five, they
scored the rules that learn from memory far below what those reached on unseen cases
(design/decision.md).

The incumbent is "combined" (the model's log-odds plus the embedding model's), else the
model's rule; only a rule that reads memory alone displaces it, by ``MARGIN`` on the held-out
folds. The model's recorded probabilities come from a judge with less memory in its prompt than
the one that will use the rule, so a score that uses them can be off either way: low for a
capable model that acts on its guidelines, high for one that memory in the prompt confuses (the
local 1.5B on marketing: 0.82 cross-validated, 0.55 unseen). Each rule is scored after the
checks, as it will act; and where the checks settle some examples, the rules are cross-validated
twice, fitted on every example and on only those the checks leave, and the second fit is kept
when it beats the first by ``MARGIN`` (what the checks leave can hold a very different label
mix: marketing's leave 26 Pass to 10 Fail, where all 50 records hold 26 to 24).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from memalign.errors import LabelError
from memalign.judge_spec import Labels, OutputType, Pairwise, Scale, Value
from memalign.judging.decision import (
    Threshold,
    class_totals,
    example_vote,
    first_label,
    fit_threshold,
    value_from_probs,
)
from memalign.judging.embedding_model import (
    EmbeddingModel,
    combined_value,
    concordance,
    fit_embedding_model,
)
from memalign.judging.folds import stratified_folds
from memalign.judging.pairwise_model import combined_pick, fit_pairwise_model
from memalign.records import Example

Rule = Literal["llm", "embedding", "combined", "vote"]
RULES: tuple[Rule, ...] = ("llm", "embedding", "combined", "vote")
# What the threshold and the embedding model are fitted on: every example, or only those the
# deciding checks leave (where the rules will act).
Scope = Literal["all", "undecided"]

# The newest labelled examples the choice is measured on: enough to tell rules apart, few enough
# that refitting the embedding model per fold stays well under a second.
SELECTION_WINDOW = 200
# Below this many examples with the model's recorded answer, the folds are too small to fit an
# embedding model (20 per fit) and the model's rule is kept.
MIN_ROWS = 25
MARGIN = 0.05
# Ten folds, so each rule that learns from memory is fitted on nine tenths of it: with five,
# the embedding model was fitted on 40 of 50 examples and scored well below what it reaches
# on all 50, which the model's rule (read off recorded answers) never is.
FOLDS = 10


@dataclass(frozen=True)
class DecisionChoice:
    """The rule ``decision="auto"`` chose, what its models are fitted on, and the held-out
    scores it was chosen on (those of the chosen fit; ``by_scope``: the chosen rule's score
    under each fit tried)."""

    rule: Rule
    scores: tuple[tuple[Rule, float], ...]
    support: int
    metric: str
    fitted_on: Scope = "all"
    by_scope: tuple[tuple[Scope, float], ...] = ()

    def describe(self) -> str:
        measured = ", ".join(f"{name} {score:.2f}" for name, score in self.scores)
        fit = ""
        if len(self.by_scope) > 1:
            where = dict(self.by_scope)
            fit = (
                f", fitted on the examples the checks leave ({where['undecided']:.2f} against "
                f"{where['all']:.2f} fitted on all)"
                if self.fitted_on == "undecided"
                else f", fitted on all examples ({where['all']:.2f} against "
                f"{where['undecided']:.2f} on those the checks leave)"
            )
        return (
            f"auto chose {self.rule}{fit}: cross-validated {self.metric} on {self.support} "
            f"examples ({measured}; a rule that reads memory alone must beat the incumbent "
            f"by {MARGIN:.2f})"
        )


def choose_decision(
    output: OutputType,
    examples: Sequence[Example],
    matrix: npt.NDArray[np.float32],
    settled: Sequence[Value | None] | None = None,
    k: int = 5,
) -> DecisionChoice | None:
    """The rule that scores best on held-out folds of memory; None when memory is too small to
    tell (or the output has no such rules), in which case the model's rule applies.

    ``matrix`` holds one row per example: its stored embedding, or for a pairwise judge the
    embedding of response A minus that of response B. ``settled`` gives, per example, the label
    the validated checks decide it with (None where they do not): each rule is scored as it will
    act, after the checks, so a rule is not chosen for cases the checks take anyway. Where the
    checks settle some examples, the rules are also fitted on only the examples they leave, and
    that fit is kept when its chosen rule beats the other fit's by ``MARGIN``
    (design/decision.md, "Fitted where the checks leave off"); a pairwise model is always
    fitted on every pair."""
    if not isinstance(output, Labels | Scale | Pairwise):
        return None
    newest = sorted(range(len(examples)), key=lambda i: examples[i].created_at)[-SELECTION_WINDOW:]
    rows = [
        i for i in newest
        if _usable(output, examples[i], settled[i] if settled is not None else None)
    ]  # fmt: skip
    if len(rows) < MIN_ROWS:
        return None
    scopes: list[Scope] = ["all"]
    pairwise = isinstance(output, Pairwise)
    if settled is not None and not pairwise and any(settled[i] is not None for i in rows):
        scopes.append("undecided")
    fits = {
        scope: _cross_validate(output, examples, matrix, rows, settled, k, scope)
        for scope in scopes
    }
    picked = {scope: _pick(dict(scores)) for scope, scores in fits.items()}
    merit = {scope: dict(fits[scope])[picked[scope]] for scope in scopes}
    # The fit on every example is the incumbent, as the model's rule is among the rules: the
    # better of two noisy scores is biased upward, so the other fit must win by MARGIN.
    scope: Scope = "all"
    if "undecided" in merit and merit["undecided"] >= merit["all"] + MARGIN:
        scope = "undecided"
    return DecisionChoice(
        picked[scope],
        fits[scope],
        len(rows),
        _metric(output),
        scope,
        tuple(merit.items()) if len(scopes) > 1 else (),
    )


def _cross_validate(
    output: OutputType,
    examples: Sequence[Example],
    matrix: npt.NDArray[np.float32],
    rows: list[int],
    settled: Sequence[Value | None] | None,
    k: int,
    scope: Scope,
) -> tuple[tuple[Rule, float], ...]:
    """Each rule's held-out score over ``rows``, its models fitted per fold on ``scope``."""
    truth = [_canonical(output, examples[i].label) for i in rows]
    folds = stratified_folds(truth, FOLDS)
    predicted: dict[Rule, list[Value | None]] = {rule: [None] * len(rows) for rule in RULES}
    words = _feature_choice(output, examples, matrix, rows, settled, scope)
    for fold in range(FOLDS):
        train = [rows[j] for j in range(len(rows)) if folds[j] != fold]
        train_fit = _in_scope(train, settled, scope)
        totals = class_totals(output, [examples[i] for i in train]) if scope != "all" else None
        threshold = fit_threshold(output, _evidence(examples, train_fit), totals=totals)
        for j, (embedding, combined) in _held_out(
            output, examples, matrix, train_fit, rows, folds == fold, threshold, words
        ):
            example = examples[rows[j]]
            predicted["llm"][j] = _model_value(output, example, threshold)
            predicted["embedding"][j] = embedding
            predicted["combined"][j] = combined
            if first_label(output) is not None:  # the vote is a rule for two labels only
                vote = _vote(output, examples, matrix, train, rows[j], k)
                predicted["vote"][j] = vote if vote is not None else predicted["llm"][j]
    if settled is not None:
        for j, i in enumerate(rows):
            if settled[i] is not None:
                for values in predicted.values():
                    values[j] = settled[i]
    scores: list[tuple[Rule, float]] = []
    for name, values in predicted.items():
        if all(v is not None for v in values):
            scores.append((name, _score(output, [_canonical(output, v) for v in values], truth)))
    return tuple(scores)


def _pick(by_rule: dict[Rule, float]) -> Rule:
    """The incumbent — the model's log-odds plus the embedding model's where both exist
    ("combined"), else the model's rule — unless a rule that reads memory alone beats it by
    ``MARGIN``. A rule's cross-validated score is trusted to displace the incumbent only when
    it needs no model output: the model's first-pass answers were given with less memory in
    its prompt than the judge that will use the rule (design/decision.md)."""
    incumbent: Rule = "combined" if "combined" in by_rule else "llm"
    challengers = [r for r in ("embedding", "vote") if r in by_rule]
    if not challengers:
        return incumbent
    best = max(challengers, key=lambda r: by_rule[r])  # max keeps the first of equals
    if incumbent not in by_rule or by_rule[best] >= by_rule[incumbent] + MARGIN:
        return best
    return incumbent


def _vote(
    output: OutputType,
    examples: Sequence[Example],
    matrix: npt.NDArray[np.float32],
    train: list[int],
    row: int,
    k: int,
) -> Value | None:
    """The label the k most similar training examples vote for (two labels only), as the
    retrieved examples vote when judging; None on a tie or for other outputs."""
    first = first_label(output)
    if first is None or k < 1 or not train:
        return None
    assert isinstance(output, Labels)
    similarity = matrix[train] @ matrix[row]
    nearest = np.argsort(-similarity, kind="stable")[:k]
    vote = example_vote(output, [(examples[train[n]], float(similarity[n])) for n in nearest])
    if vote is None or vote == 0:
        return None
    return output.labels[0] if vote > 0 else output.labels[1]


def _usable(output: OutputType, example: Example, settled: Value | None = None) -> bool:
    """Labelled, with the model's recorded answer or a label the checks now settle it with;
    for a pairwise judge, a pair with a winner."""
    if example.label is None:
        return False
    if _model_value(output, example, None) is None and settled is None:
        return False
    return not isinstance(output, Pairwise) or _canonical(output, example.label) in ("A", "B")


def _in_scope(
    indices: Sequence[int], settled: Sequence[Value | None] | None, scope: Scope
) -> list[int]:
    """The examples a fit in ``scope`` reads: all of them, or those no check settles."""
    if scope == "all" or settled is None:
        return list(indices)
    return [i for i in indices if settled[i] is None]


def _feature_choice(
    output: OutputType,
    examples: Sequence[Example],
    matrix: npt.NDArray[np.float32],
    rows: Sequence[int],
    settled: Sequence[Value | None] | None,
    scope: Scope,
) -> tuple[bool, ...]:
    """Whether the embedding model reads the examples' words, chosen once on every row of the
    scope and kept in each fold, where only the L2 strength is chosen again: choosing both in
    each of ten folds cost twice as much (benchmarks/scripts/selection_cost.py), and the choice
    between two feature sets learns little from the held-out tenth."""
    if isinstance(output, Pairwise):
        return (False,)  # the pairwise model reads embeddings only
    fit = _in_scope(rows, settled, scope)
    model = fit_embedding_model(output, [examples[i] for i in fit], matrix[fit])
    return (model.words,) if model is not None else (False, True)


def _held_out(
    output: OutputType,
    examples: Sequence[Example],
    matrix: npt.NDArray[np.float32],
    train: list[int],
    rows: Sequence[int],
    held: npt.NDArray[np.bool_],
    threshold: Threshold | None,
    words: tuple[bool, ...],
) -> list[tuple[int, tuple[Value | None, Value | None]]]:
    """(row, (embedding rule's value, combined rule's value)) for each held-out row, from
    models fitted on ``train`` only, over the feature sets ``words`` offers."""
    out: list[tuple[int, tuple[Value | None, Value | None]]] = []
    pairs = labels = None
    if isinstance(output, Pairwise):
        winners = [str(_canonical(output, examples[i].label)) for i in train]
        pairs = fit_pairwise_model(matrix[train], winners)
    else:
        labels = fit_embedding_model(output, [examples[i] for i in train], matrix[train], words)
    for j in (int(k) for k in np.flatnonzero(held)):
        example, vector = examples[rows[j]], matrix[rows[j]]
        embedding: Value | None = None
        combined: Value | None = None
        if pairs is not None:
            embedding = pairs.predict(vector)
            if example.judge_probs:
                combined = combined_pick(pairs, vector, example.judge_probs)
        elif labels is not None:
            embedding = labels.predict(vector, example.key_text)
            combined = _combined(output, labels, vector, example, threshold)
        out.append((j, (embedding, combined)))
    return out


def _evidence(
    examples: Sequence[Example], rows: Sequence[int]
) -> list[tuple[dict[str, float], Value]]:
    return [
        (e.judge_probs, e.label)
        for e in (examples[i] for i in rows)
        if e.judge_probs is not None and e.label is not None
    ]


def _model_value(output: OutputType, example: Example, threshold: Threshold | None) -> Value | None:
    """What the model's rule says for an example: its recorded probabilities read as the rule
    reads them, else the verdict it recorded (the review flow keeps verdicts, not always
    probabilities)."""
    if example.judge_probs:
        return value_from_probs(output, example.judge_probs, threshold)
    return None if example.decided_by_checks else example.judge_value


def _combined(
    output: OutputType,
    model: EmbeddingModel,
    vector: npt.NDArray[np.float32],
    example: Example,
    threshold: Threshold | None,
) -> Value | None:
    if not isinstance(output, Labels) or len(output.labels) != 2 or not example.judge_probs:
        return None
    return combined_value(output, model, vector, example.key_text, example.judge_probs, threshold)


def _canonical(output: OutputType, value: Value | None) -> Value | None:
    """Labels in the judge's own spelling, scores as integers, so values compare equal."""
    if value is None:
        return None
    if isinstance(output, Scale):
        return round(float(str(value)))
    if isinstance(output, Pairwise):
        try:
            return output.coerce(value)
        except LabelError:
            return str(value)
    assert isinstance(output, Labels)
    return {label.lower(): label for label in output.labels}.get(str(value).lower(), str(value))


def _metric(output: OutputType) -> str:
    return "CCC" if isinstance(output, Scale) else "balanced accuracy"


def _score(
    output: OutputType, predicted: Sequence[Value | None], truth: Sequence[Value | None]
) -> float:
    """Balanced accuracy for labels (mean recall over the labels present), Lin's concordance
    correlation for a scale."""
    if isinstance(output, Scale):
        x = np.array([float(str(v)) for v in predicted])
        return concordance(x, np.array([float(str(v)) for v in truth]))
    recalls = [
        np.mean([p == t for p, t in zip(predicted, truth, strict=True) if t == label])
        for label in sorted({str(t) for t in truth})
    ]
    return float(np.mean(recalls))
