"""Episodic memory: a judge's examples, retrieved top-k by cosine similarity.

The vectors live in a ``VectorIndex`` that follows the store's example log: opening a judge
loads the index saved beside the store (or builds it once from the stored vectors) and then
applies only the changes logged since, so neither an align nor a forget rebuilds it, and
nothing is re-embedded. The store stays the truth: a missing, unreadable or newer-than-store
index file is rebuilt from it. Examples themselves are read from the store by key, only for
the hits, so a judge with a million examples does not load them to judge one case.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from memalign.memory.vector_index import ANN_THRESHOLD, Vector, VectorIndex
from memalign.records import Example

# Added to the similarity of examples the judge got wrong, so that near-ties favour the cases
# where memory has the most to teach. Small on purpose: similarity still dominates.
DISAGREEMENT_BONUS = 0.05
# Candidates fetched beyond k, so the bonus and exclusions can reorder near-ties.
OVERFETCH = 10


class ExampleSource(Protocol):
    """What episodic memory reads from a store (every ``MemoryStore`` is one): memory sits
    below the stores, so it names only the calls it makes."""

    def example_vectors(
        self, judge_id: int, keys: Sequence[int] | None = None
    ) -> tuple[int, npt.NDArray[np.int64], Vector]: ...
    def example_log(self, judge_id: int, after: int) -> list[tuple[int, int, bool]]: ...
    def examples_by_key(self, judge_id: int, keys: Sequence[int]) -> dict[int, Example]: ...


class EpisodicIndex:
    """One judge's example vectors, kept in step with the store. Thread-safe."""

    def __init__(
        self,
        store: ExampleSource,
        judge_id: int,
        path: Path | None = None,
        *,
        ann_threshold: int = ANN_THRESHOLD,
    ) -> None:
        self.store = store
        self.judge_id = judge_id
        self.path = path
        self.ann_threshold = ann_threshold
        self.seq = 0
        self._index: VectorIndex | None = None
        self._unsaved = 0
        self._lock = threading.RLock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._index) if self._index is not None else 0

    def sync(self) -> None:
        """Load or build the index if needed, then apply the example changes logged since."""
        with self._lock:
            if self._index is None:
                self._open()
            removed = self._catch_up()
            if self.path is not None and (removed or self._unsaved >= max(1000, len(self) // 20)):
                self.save()

    def scrub(self) -> None:
        """After a forget: make sure no saved index file still holds a removed vector."""
        with self._lock:
            if self._index is not None or (self.path is not None and self.path.exists()):
                self.sync()

    def save(self) -> None:
        with self._lock:
            if self.path is None or self._index is None:
                return
            self._index.save(self.path, {"judge_id": self.judge_id, "seq": self.seq})
            self._unsaved = 0

    def _open(self) -> None:
        head, _, _ = self.store.example_vectors(self.judge_id, [])
        loaded = (
            VectorIndex.load(self.path, ann_threshold=self.ann_threshold) if self.path else None
        )
        if loaded is not None:
            index, meta = loaded
            # A file from another judge, or newer than the store (e.g. a restored backup),
            # cannot be caught up: rebuild from the store.
            if meta.get("judge_id") == self.judge_id and int(meta.get("seq", -1)) <= head:
                self._index, self.seq = index, int(meta["seq"])
                return
        self.seq, keys, matrix = self.store.example_vectors(self.judge_id)
        self._index = VectorIndex.build(keys, matrix, ann_threshold=self.ann_threshold)
        self._unsaved = len(keys)

    def _catch_up(self) -> bool:
        assert self._index is not None
        entries = self.store.example_log(self.judge_id, self.seq)
        if not entries:
            return False
        latest: dict[int, bool] = {}
        for _, key, added in entries:
            latest[key] = added
        gone = [key for key, added in latest.items() if not added]
        _, keys, matrix = self.store.example_vectors(
            self.judge_id, [key for key, added in latest.items() if added]
        )
        if self._index.ndim == 0 and matrix.size:
            self._index = VectorIndex(matrix.shape[1], ann_threshold=self.ann_threshold)
        self._index.remove(gone)
        if len(keys):
            self._index.add(keys, matrix)
        self.seq = entries[-1][0]
        self._unsaved += len(entries)
        return bool(gone)

    def retrieve(
        self,
        query: Vector,
        k: int,
        *,
        prefer_disagreements: bool = True,
        exclude: Collection[str] = (),
    ) -> list[tuple[Example, float]]:
        """The k examples most similar to ``query``, best first (ties by record id)."""
        with self._lock:
            index = self._index
            if k <= 0 or index is None or len(index) == 0 or query.shape[0] != index.ndim:
                return []
            hits = index.search(np.asarray(query, dtype=np.float32), k + len(exclude) + OVERFETCH)
        examples = self.store.examples_by_key(self.judge_id, [key for key, _ in hits])
        scored = []
        for key, score in hits:
            example = examples.get(key)
            if example is None or example.record_id in exclude:
                continue  # removed since the search, or left out by the caller
            bonus = DISAGREEMENT_BONUS if prefer_disagreements and example.agree is False else 0.0
            scored.append((example, score + bonus))
        scored.sort(key=lambda hit: (-hit[1], hit[0].record_id))
        return scored[:k]
