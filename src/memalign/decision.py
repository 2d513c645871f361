"""Turning the model's label probabilities into a verdict value."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from memalign.judge_spec import FloatScore, Labels, OutputType, Scale, Value


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
) -> Threshold | None:
    """The cut on P(first label) that maximises balanced accuracy on labelled evidence.

    Small local models are often confident in one direction whatever the case; a threshold fitted
    on the feedback already seen corrects that bias at no extra model calls. None when the
    output is not binary or either class has fewer than ``min_per_class`` examples.
    """
    if not isinstance(output, Labels) or len(output.labels) != 2:
        return None
    first = output.labels[0]
    points = [(normalise(p, output.choices)[first], label == first) for p, label in evidence]
    positives = sum(1 for _, y in points if y)
    negatives = len(points) - positives
    if positives < min_per_class or negatives < min_per_class:
        return None
    values = sorted({p for p, _ in points})
    cuts = [0.5] + [(a + b) / 2 for a, b in pairwise(values)]

    def balanced_accuracy(cut: float) -> float:
        tp = sum(1 for p, y in points if y and p >= cut)
        tn = sum(1 for p, y in points if not y and p < cut)
        return (tp / positives + tn / negatives) / 2

    best = max(cuts, key=lambda cut: (balanced_accuracy(cut), -abs(cut - 0.5)))
    return Threshold(best, len(points))


def value_from_probs(
    output: OutputType, probs: Mapping[str, float], threshold: Threshold | None = None
) -> Value:
    """Argmax for labels and pairwise (or a fitted threshold for two labels); the
    probability-weighted mean, rounded, for scales."""
    if isinstance(output, FloatScore):
        raise ValueError("float outputs have no finite choices to read probabilities over")
    dist = normalise(probs, output.choices)
    if threshold is not None and isinstance(output, Labels) and len(output.labels) == 2:
        return output.labels[0] if dist[output.labels[0]] >= threshold.value else output.labels[1]
    if isinstance(output, Scale):
        expected = sum(int(c) * p for c, p in dist.items())
        return min(output.high, max(output.low, round(expected)))
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
