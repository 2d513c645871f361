"""The vector index behind episodic memory: cosine top-n over example vectors, by integer key.

Small memories are scanned exactly (a matrix-vector product is faster than any graph below a
few tens of thousands of vectors, and exact). Past ``ANN_THRESHOLD`` vectors the index moves to
an HNSW graph (``usearch``) with float16 storage: measured on synthetic clustered vectors,
recall@5 is ~0.999 at 100k and 0.95-0.98 at 1M for 0.3-1.7 ms per query, where an exact
float32 scan of 100k takes ~5 ms; int8 storage capped recall at ~0.90, so it is not used
(docs/benchmarks/scale.md).

Removing a key must not leave its vector in a saved file (a forgotten record's embedding is
still derived from it). ``usearch`` keeps a removed vector's bytes until its slot is reused,
so removal overwrites the slot with zeros first; the forget tests check the saved bytes.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from memalign.errors import DependencyError, InputError

Keys = npt.NDArray[np.int64]
Matrix = npt.NDArray[np.float32]
# One embedding (float32, one dimension); what embedders return and stores keep.
Vector = npt.NDArray[np.float32]

ANN_THRESHOLD = 20_000
# HNSW parameters: graph degree, and candidate list sizes while building and searching.
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 128


def _usearch() -> Any:
    try:
        from usearch.index import Index
    except ImportError:  # pragma: no cover - a core dependency
        raise DependencyError("usearch", "pip install usearch") from None
    return Index


def _normalised(vectors: Matrix) -> Matrix:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)


class VectorIndex:
    """Keys → unit vectors, searchable by cosine similarity. Not thread-safe: callers lock."""

    def __init__(self, ndim: int, *, ann_threshold: int = ANN_THRESHOLD) -> None:
        self.ndim = ndim
        self.ann_threshold = ann_threshold
        self._keys: Keys = np.zeros(0, dtype=np.int64)
        self._matrix: Matrix = np.zeros((0, ndim), dtype=np.float32)
        self._ann: Any = None

    def __len__(self) -> int:
        return len(self._ann) if self._ann is not None else len(self._keys)

    @property
    def approximate(self) -> bool:
        return self._ann is not None

    def __contains__(self, key: int) -> bool:
        if self._ann is not None:
            return bool(self._ann.contains(int(key)))
        return bool(np.any(self._keys == key))

    def add(self, keys: Sequence[int] | Keys, vectors: Matrix) -> None:
        """Add or replace vectors by key."""
        keys = np.asarray(keys, dtype=np.int64)
        if len(keys) == 0:
            return
        vectors = _normalised(vectors)
        if vectors.shape != (len(keys), self.ndim):
            raise InputError(
                f"want {len(keys)} vectors of {self.ndim} dimensions, got shape {vectors.shape}",
                field="vector",
            )
        self.remove(keys)
        if self._ann is not None:
            self._ann.add(keys, vectors)
            return
        self._keys = np.concatenate([self._keys, keys])
        self._matrix = np.vstack([self._matrix, vectors])
        if len(self._keys) >= self.ann_threshold:
            self._build_ann(self._keys, self._matrix)

    def remove(self, keys: Sequence[int] | Keys) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        if len(keys) == 0 or len(self) == 0:
            return
        if self._ann is None:
            keep = ~np.isin(self._keys, keys)
            self._keys, self._matrix = self._keys[keep], self._matrix[keep]
            return
        present = np.array([k for k in keys.tolist() if self._ann.contains(k)], dtype=np.int64)
        if len(present) == 0:
            return
        self._ann.remove(present)
        # Overwrite the freed slots with zeros, then free them again: the removed vectors'
        # bytes are gone from memory and from the next save.
        self._ann.add(present, np.zeros((len(present), self.ndim), dtype=np.float32))
        self._ann.remove(present)

    def search(self, query: Matrix, count: int) -> list[tuple[int, float]]:
        """Up to ``count`` (key, cosine similarity) pairs, most similar first."""
        size = len(self)
        if count <= 0 or size == 0:
            return []
        query = _normalised(np.asarray(query, dtype=np.float32).reshape(1, -1))[0]
        count = min(count, size)
        if self._ann is not None:
            matches = self._ann.search(query, count)
            return [
                (int(k), 1.0 - float(d))
                for k, d in zip(matches.keys, matches.distances, strict=True)
            ]
        # Not `self._matrix @ query`: OpenBLAS splits a product this size over every core, and
        # on a busy box (a local model judging beside it) those threads queue for cores, so a
        # 0.05 ms scan took ~8 ms. einsum runs on this thread only (benchmarks/scripts/
        # small_vectors.py prints both, idle and under load).
        scores = np.einsum("ij,j->i", self._matrix, query)
        top = np.argpartition(-scores, count - 1)[:count]
        ranked = sorted(top.tolist(), key=lambda i: (-float(scores[i]), int(self._keys[i])))
        return [(int(self._keys[i]), float(scores[i])) for i in ranked]

    def _build_ann(self, keys: Keys, vectors: Matrix) -> None:
        index = _usearch()(
            ndim=self.ndim,
            metric="cos",
            dtype="f16",
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )
        index.add(keys, vectors)
        self._ann = index
        self._keys = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, self.ndim), dtype=np.float32)

    @classmethod
    def build(
        cls, keys: Keys, vectors: Matrix, *, ann_threshold: int = ANN_THRESHOLD
    ) -> VectorIndex:
        index = cls(vectors.shape[1] if vectors.size else 0, ann_threshold=ann_threshold)
        if len(keys) >= ann_threshold:
            index._build_ann(np.asarray(keys, dtype=np.int64), _normalised(vectors))
        else:
            index.add(keys, vectors)
        return index

    # -- persistence ------------------------------------------------------------------------
    #
    # ``path`` names a small JSON pointer: the meta (e.g. the log position the index reflects)
    # and the name of the data file beside it. A save writes a new data file, then swaps the
    # pointer atomically, then deletes the old data file, so a reader (or a crash) only ever
    # sees a whole index with the meta that belongs to it, even with two processes saving.

    def save(self, path: Path, meta: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        previous = _pointer(path)
        data = path.with_name(f"{path.name}.{secrets.token_hex(6)}.data")
        if self._ann is not None:
            self._ann.save(str(data))
            kind = "hnsw"
        else:
            with data.open("wb") as handle:
                np.savez(handle, keys=self._keys, matrix=self._matrix)
            kind = "exact"
        info = {**meta, "kind": kind, "ndim": self.ndim, "size": len(self), "data": data.name}
        tmp = path.with_name(f"{path.name}.{secrets.token_hex(6)}.tmp")
        tmp.write_text(json.dumps(info))
        for written in (data, tmp):
            with written.open("rb+") as handle:
                os.fsync(handle.fileno())
        tmp.replace(path)
        if previous and previous.get("data") not in (None, data.name):
            path.with_name(str(previous["data"])).unlink(missing_ok=True)
        _remove_stale(path, keep=data.name)

    @classmethod
    def load(
        cls, path: Path, *, ann_threshold: int = ANN_THRESHOLD
    ) -> tuple[VectorIndex, dict[str, Any]] | None:
        """The saved index and its meta, or None when absent, unreadable or inconsistent (the
        caller rebuilds from the store, which is always the truth)."""
        meta = _pointer(path)
        if meta is None:
            return None
        data = path.with_name(str(meta.get("data")))
        try:
            index = cls(int(meta["ndim"]), ann_threshold=ann_threshold)
            if meta["kind"] == "hnsw":
                ann = _usearch()(ndim=index.ndim, metric="cos", dtype="f16")
                ann.load(str(data))
                ann.expansion_search = EXPANSION_SEARCH
                index._ann = ann
            else:
                with np.load(data) as arrays:
                    index._keys = arrays["keys"].astype(np.int64)
                    index._matrix = arrays["matrix"].astype(np.float32)
        except (OSError, ValueError, KeyError, RuntimeError):
            return None
        if len(index) != meta.get("size"):
            return None
        return index, meta

    @staticmethod
    def files(path: Path) -> list[Path]:
        """Every file of the index saved at ``path`` (pointer, data, leftovers)."""
        return sorted(path.parent.glob(path.name + "*"))


def _pointer(path: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _remove_stale(path: Path, keep: str, age: float = 60.0) -> None:
    """Data and temporary files left by a crash. Young ones may be another process's save in
    progress, so only files older than ``age`` seconds go."""
    now = time.time()
    for leftover in path.parent.glob(path.name + ".*"):
        if leftover.name == keep:
            continue
        try:
            if now - leftover.stat().st_mtime > age:
                leftover.unlink()
        except OSError:
            pass
