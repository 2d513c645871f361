"""Agreement between judge verdicts and expert labels.

Missing verdicts (errors, ``None``) are never silently dropped: callers count them separately;
these functions take aligned, complete pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Literal

import numpy as np

from memalign.errors import InputError

TiePolicy = Literal["strict", "half", "exclude"]


def _pairs_check(a: Sequence[object], b: Sequence[object]) -> None:
    if len(a) != len(b):
        raise InputError(f"length mismatch: {len(a)} predictions vs {len(b)} labels")
    if not a:
        raise InputError("no items to score")


def accuracy(predictions: Sequence[Hashable], labels: Sequence[Hashable]) -> float:
    """Exact match rate."""
    _pairs_check(predictions, labels)
    return sum(p == t for p, t in zip(predictions, labels, strict=True)) / len(labels)


exact_match = accuracy


def balanced_accuracy(predictions: Sequence[Hashable], labels: Sequence[Hashable]) -> float:
    """Mean over the expert labels present of the share of each that was predicted: a judge that
    always gives one answer scores 1 / (number of labels present), however skewed the data."""
    _pairs_check(predictions, labels)
    hits: Counter[Hashable] = Counter()
    for p, t in zip(predictions, labels, strict=True):
        hits[t] += p == t
    totals = Counter(labels)
    return sum(hits[c] / n for c, n in totals.items()) / len(totals)


def cohen_kappa(predictions: Sequence[Hashable], labels: Sequence[Hashable]) -> float:
    """Cohen's κ: agreement corrected for chance. 1.0 when both raters are constant and equal."""
    _pairs_check(predictions, labels)
    n = len(labels)
    observed = accuracy(predictions, labels)
    pred_counts, label_counts = Counter(predictions), Counter(labels)
    shared = set(pred_counts) | set(label_counts)
    expected = sum(pred_counts[c] * label_counts[c] for c in shared) / (n * n)
    if expected == 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - expected) / (1.0 - expected)


def ccc(predictions: Sequence[float], labels: Sequence[float]) -> float:
    """Lin's concordance correlation coefficient (population moments, as Lin 1989)."""
    _pairs_check(predictions, labels)
    x = np.asarray(predictions, dtype=float)
    y = np.asarray(labels, dtype=float)
    mx, my = x.mean(), y.mean()
    vx, vy = x.var(), y.var()
    cov = float(((x - mx) * (y - my)).mean())
    denominator = vx + vy + (mx - my) ** 2
    if denominator == 0:
        return 1.0
    return float(2 * cov / denominator)


def auc(scores: Sequence[float], positive: Sequence[bool]) -> float:
    """Area under the ROC curve: P(a random positive case scores above a random negative one),
    ties counting half. It reads how well a judge's probabilities rank the cases whatever the
    cut, so memory that moves them without flipping the most probable label still shows."""
    _pairs_check(scores, positive)
    pos = [s for s, p in zip(scores, positive, strict=True) if p]
    neg = [s for s, p in zip(scores, positive, strict=True) if not p]
    if not pos or not neg:
        raise InputError("AUC needs positive and negative items")
    wins = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def pairwise_accuracy(
    predictions: Sequence[str], labels: Sequence[str], *, ties: TiePolicy = "strict"
) -> float:
    """Accuracy for A / B / tie preferences.

    ``strict``: a tie must be predicted exactly. ``half``: a tie predicted where the experts
    preferred one side, or the reverse, counts 0.5. ``exclude``: items the experts called a tie
    are dropped before scoring.
    """
    _pairs_check(predictions, labels)
    pairs = list(zip(predictions, labels, strict=True))
    if ties == "exclude":
        pairs = [(p, t) for p, t in pairs if t != "tie"]
        if not pairs:
            raise InputError("no non-tie items to score")
    score = 0.0
    for p, t in pairs:
        if p == t:
            score += 1.0
        elif ties == "half" and "tie" in (p, t):
            score += 0.5
    return score / len(pairs)


def confusion_matrix(
    predictions: Sequence[Hashable], labels: Sequence[Hashable], classes: Sequence[Hashable]
) -> list[list[int]]:
    """Rows are expert labels, columns predictions, both in ``classes`` order."""
    _pairs_check(predictions, labels)
    index = {c: i for i, c in enumerate(classes)}
    matrix = [[0] * len(classes) for _ in classes]
    for p, t in zip(predictions, labels, strict=True):
        if p in index and t in index:
            matrix[index[t]][index[p]] += 1
    return matrix
