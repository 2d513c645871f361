"""The SQLite store's reads of episodic memory: examples by key, the newest calibrated ones,
vectors for the index, and the example log the index catches up from."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from memalign.memory import Vector
from memalign.records import Example
from memalign.stores.base import Evidence
from memalign.stores.sqlite.failures import store_failures

# SQLite's default limit on host parameters is 999 in older builds: query in chunks below it.
CHUNK = 500


def vector_from_blob(dim: int, blob: bytes) -> Vector:
    return np.frombuffer(blob, dtype=np.float32, count=dim).copy()


class ExampleReads:
    location: str
    _db: sqlite3.Connection
    _lock: threading.RLock

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError

    def examples(self, judge_id: int) -> tuple[list[Example], Vector]:
        rows = self._rows(
            "SELECT example_json, dim, vector FROM examples WHERE judge_id = ? ORDER BY record_id",
            (judge_id,),
        )
        examples = [Example.model_validate_json(row["example_json"]) for row in rows]
        if not rows:
            return examples, np.zeros((0, 0), dtype=np.float32)
        matrix = np.vstack([vector_from_blob(row["dim"], row["vector"]) for row in rows])
        return examples, matrix

    def example_count(self, judge_id: int, record_ids: Sequence[str] | None = None) -> int:
        if record_ids is None:
            return int(
                self._rows("SELECT COUNT(*) FROM examples WHERE judge_id = ?", (judge_id,))[0][0]
            )
        total = 0
        for start in range(0, len(record_ids), CHUNK):
            chunk = list(record_ids[start : start + CHUNK])
            total += int(
                self._rows(
                    "SELECT COUNT(*) FROM examples WHERE judge_id = ? AND "
                    f"record_id IN ({','.join('?' * len(chunk))})",
                    (judge_id, *chunk),
                )[0][0]
            )
        return total

    def index_path(self, judge_id: int) -> Path | None:
        """Where the judge's vector index is saved: beside the store file."""
        if self.location == ":memory:":
            return None
        return Path(self.location + ".vectors") / f"judge-{judge_id}.index"

    def examples_by_key(self, judge_id: int, keys: Sequence[int]) -> dict[int, Example]:
        out: dict[int, Example] = {}
        for start in range(0, len(keys), CHUNK):
            chunk = [int(k) for k in keys[start : start + CHUNK]]
            rows = self._rows(
                # "+judge_id": look keys up by primary key, not by scanning the judge's index.
                "SELECT example_key, example_json FROM examples WHERE +judge_id = ? AND "
                f"example_key IN ({','.join('?' * len(chunk))})",
                (judge_id, *chunk),
            )
            out.update({row[0]: Example.model_validate_json(row["example_json"]) for row in rows})
        return out

    def recent_examples(
        self, judge_id: int, limit: int, *, carrying: Evidence = "probabilities"
    ) -> tuple[list[Example], Vector]:
        """The ``limit`` newest examples that carry the judge's first-pass probabilities (with
        ``carrying="answer"``, its probabilities or its verdict; ``"any"``: every example),
        oldest first."""
        # Only the newest 4 × limit examples are looked at, so the cost stays bounded when few
        # carry probabilities (a model without them) whatever the memory's size.
        condition = "json_extract(example_json, '$.judge_probs') IS NOT NULL"
        if carrying == "answer":
            condition = f"({condition} OR json_extract(example_json, '$.judge_value') IS NOT NULL)"
        elif carrying == "any":
            condition = "1"
        rows = self._rows(
            "SELECT example_json, dim, vector FROM examples WHERE example_key IN "
            "(SELECT example_key FROM examples WHERE +judge_id = ? "
            "ORDER BY example_key DESC LIMIT ?) "
            f"AND {condition} "
            "ORDER BY example_key DESC LIMIT ?",
            (judge_id, 4 * limit, limit),
        )[::-1]
        examples = [Example.model_validate_json(row["example_json"]) for row in rows]
        if not rows:
            return examples, np.zeros((0, 0), dtype=np.float32)
        return examples, np.vstack([vector_from_blob(row["dim"], row["vector"]) for row in rows])

    def example_vectors(
        self, judge_id: int, keys: Sequence[int] | None = None
    ) -> tuple[int, npt.NDArray[np.int64], Vector]:
        """(log position, keys, vectors): of the given keys that still exist, or of every
        example, read in one transaction so the position matches what was read."""
        with self._lock, store_failures(self.location):
            self._db.execute("BEGIN")
            try:
                seq = self._db.execute(
                    "SELECT COALESCE(MAX(seq), 0) FROM example_log WHERE judge_id = ?",
                    (judge_id,),
                ).fetchone()[0]
                if keys is None:
                    rows = self._db.execute(
                        "SELECT example_key, dim, vector FROM examples WHERE judge_id = ? "
                        "ORDER BY example_key",
                        (judge_id,),
                    ).fetchall()
                else:
                    rows = []
                    for start in range(0, len(keys), CHUNK):
                        chunk = [int(k) for k in keys[start : start + CHUNK]]
                        rows += self._db.execute(
                            "SELECT example_key, dim, vector FROM examples WHERE +judge_id = ? "
                            f"AND example_key IN ({','.join('?' * len(chunk))})",
                            (judge_id, *chunk),
                        ).fetchall()
            finally:
                self._db.execute("COMMIT")
        found = np.array([row[0] for row in rows], dtype=np.int64)
        if not rows:
            return int(seq), found, np.zeros((0, 0), dtype=np.float32)
        dim = rows[0][1]
        matrix = np.frombuffer(b"".join(row[2] for row in rows), dtype=np.float32)
        return int(seq), found, matrix.reshape(len(rows), dim).copy()

    def example_log(self, judge_id: int, after: int) -> list[tuple[int, int, bool]]:
        """(seq, example key, added?) for every example change after log position ``after``."""
        rows = self._rows(
            "SELECT seq, example_key, added FROM example_log WHERE judge_id = ? AND seq > ? "
            "ORDER BY seq",
            (judge_id, after),
        )
        return [(int(r[0]), int(r[1]), bool(r[2])) for r in rows]
