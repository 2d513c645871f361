"""Turning the model's label probabilities into a verdict value."""

from __future__ import annotations

from collections.abc import Mapping

from memalign.judge_spec import FloatScore, OutputType, Scale, Value


def normalise(probs: Mapping[str, float], choices: tuple[str, ...]) -> dict[str, float]:
    raw = {c: max(0.0, float(probs.get(c, 0.0))) for c in choices}
    total = sum(raw.values())
    if total <= 0:
        return {c: 1.0 / len(choices) for c in choices}
    return {c: p / total for c, p in raw.items()}


def value_from_probs(output: OutputType, probs: Mapping[str, float]) -> Value:
    """Argmax for labels and pairwise; the probability-weighted mean, rounded, for scales."""
    if isinstance(output, FloatScore):
        raise ValueError("float outputs have no finite choices to read probabilities over")
    dist = normalise(probs, output.choices)
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
