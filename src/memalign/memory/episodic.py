"""Episodic memory: examples retrieved top-k by cosine similarity over stored vectors."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from memalign.records import Example
from memalign.stores import Vector

# Added to the similarity of examples the judge got wrong, so that near-ties favour the cases
# where memory has the most to teach. Small on purpose: similarity still dominates.
DISAGREEMENT_BONUS = 0.05


def retrieve(
    query: Vector,
    examples: Sequence[Example],
    matrix: Vector,
    k: int,
    *,
    prefer_disagreements: bool = True,
    exclude: Collection[str] = (),
) -> list[tuple[Example, float]]:
    """The k examples most similar to ``query`` (vectors are L2-normalised), best first."""
    if k <= 0 or not examples or matrix.size == 0 or matrix.shape[1] != query.shape[0]:
        return []
    scores = matrix @ query
    if prefer_disagreements:
        scores = scores + np.array(
            [DISAGREEMENT_BONUS if ex.agree is False else 0.0 for ex in examples],
            dtype=np.float32,
        )
    if exclude:
        mask = np.array([ex.record_id in exclude for ex in examples])
        scores = np.where(mask, -np.inf, scores)
    available = int(np.isfinite(scores).sum())
    top = min(k, available)
    if top == 0:
        return []
    order = np.argpartition(-scores, top - 1)[:top]
    # Sort by score, ties by record id, so retrieval is deterministic.
    ranked = sorted(order.tolist(), key=lambda i: (-float(scores[i]), examples[i].record_id))
    return [(examples[i], float(scores[i])) for i in ranked]
