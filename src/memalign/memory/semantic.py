"""Semantic memory: guidelines, chosen for a case when there are more than fit the budget."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import numpy as np

from memalign.memory.vector_index import Vector
from memalign.records import Guideline


def new_guideline_id() -> str:
    return "g-" + uuid.uuid4().hex[:10]


def active(
    guidelines: Sequence[tuple[Guideline, Vector | None]],
) -> list[tuple[Guideline, Vector | None]]:
    return [item for item in guidelines if item[0].status == "active"]


def select_for_case(
    guidelines: Sequence[tuple[Guideline, Vector | None]],
    query: Vector | None,
    budget: int,
) -> list[Guideline]:
    """All active guidelines when they fit; otherwise the pinned ones plus the most similar to
    the case. The result keeps memory order so the prompt prefix stays stable across cases."""
    candidates = active(guidelines)
    if len(candidates) <= budget:
        return [g for g, _ in candidates]
    pinned = [i for i, (g, _) in enumerate(candidates) if g.pinned]
    rest = [i for i, (g, _) in enumerate(candidates) if not g.pinned]

    def score(index: int) -> float:
        vector = candidates[index][1]
        if query is None or vector is None or vector.shape != query.shape:
            return -1.0
        return float(np.dot(vector, query))

    room = max(0, budget - len(pinned))
    chosen = set(pinned[:budget]) | set(sorted(rest, key=score, reverse=True)[:room])
    return [candidates[i][0] for i in sorted(chosen)]


def most_similar(
    vector: Vector, pool: Sequence[tuple[Guideline, Vector | None]]
) -> tuple[Guideline | None, float]:
    best: Guideline | None = None
    best_score = -1.0
    for guideline, other in pool:
        if other is None or other.shape != vector.shape:
            continue
        value = float(np.dot(vector, other))
        if value > best_score:
            best, best_score = guideline, value
    return best, best_score
