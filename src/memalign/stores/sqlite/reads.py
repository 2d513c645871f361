"""The SQLite store's reads of the records, guidelines and version history (episodic
memory's reads are in ``examples``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from memalign.memory import Vector
from memalign.records import Feedback, Guideline, MemoryVersion
from memalign.stores.sqlite.examples import CHUNK, vector_from_blob


def iso_utc(value: datetime) -> str:
    """How the store writes a time: ISO 8601 in UTC (a naive time is taken as UTC), so times
    compare as text."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


class MemoryReads:
    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError

    def record_hashes(self, judge_id: int, ids: Sequence[str] | None = None) -> dict[str, str]:
        if ids is None:
            rows = self._rows(
                "SELECT record_id, content_hash FROM records WHERE judge_id = ?", (judge_id,)
            )
        else:
            rows = []
            for start in range(0, len(ids), CHUNK):
                chunk = list(ids[start : start + CHUNK])
                rows += self._rows(
                    "SELECT record_id, content_hash FROM records WHERE judge_id = ? AND "
                    f"record_id IN ({','.join('?' * len(chunk))})",
                    (judge_id, *chunk),
                )
        return {row["record_id"]: row["content_hash"] for row in rows}

    def get_records(self, judge_id: int, ids: Sequence[str] | None = None) -> list[Feedback]:
        if ids is None:
            rows = self._rows(
                "SELECT record_id, payload_json, created_at FROM records WHERE judge_id = ?",
                (judge_id,),
            )
        else:
            # Looked up by key in chunks: a few records of a large judge cost a few reads.
            wanted = list(dict.fromkeys(ids))
            rows = []
            for start in range(0, len(wanted), CHUNK):
                chunk = wanted[start : start + CHUNK]
                rows += self._rows(
                    "SELECT record_id, payload_json, created_at FROM records WHERE judge_id = ? "
                    f"AND record_id IN ({','.join('?' * len(chunk))})",
                    (judge_id, *chunk),
                )
        rows.sort(key=lambda row: (row["created_at"], row["record_id"]))
        return [Feedback.model_validate_json(row["payload_json"]) for row in rows]

    def find_record_ids(
        self,
        judge_id: int,
        *,
        annotator: str | None = None,
        before: datetime | None = None,
        after: datetime | None = None,
    ) -> list[str]:
        sql = "SELECT record_id FROM records WHERE judge_id = ?"
        params: list[object] = [judge_id]
        if annotator is not None:
            sql += " AND annotator = ?"
            params.append(annotator)
        if before is not None:
            sql += " AND created_at < ?"
            params.append(iso_utc(before))
        if after is not None:
            sql += " AND created_at >= ?"
            params.append(iso_utc(after))
        return [row["record_id"] for row in self._rows(sql + " ORDER BY record_id", params)]

    def guidelines(self, judge_id: int) -> list[tuple[Guideline, Vector | None]]:
        rows = self._rows(
            "SELECT guideline_json, dim, vector FROM guidelines WHERE judge_id = ?", (judge_id,)
        )
        out = []
        for row in rows:
            guideline = Guideline.model_validate_json(row["guideline_json"])
            vector = (
                vector_from_blob(row["dim"], row["vector"]) if row["vector"] is not None else None
            )
            out.append((guideline, vector))
        out.sort(key=lambda item: (item[0].created_at, item[0].id))
        return out

    def history(self, judge_id: int) -> list[MemoryVersion]:
        rows = self._rows(
            "SELECT * FROM memory_versions WHERE judge_id = ? ORDER BY version", (judge_id,)
        )
        return [
            MemoryVersion(
                version=row["version"],
                operation=row["operation"],
                created_at=datetime.fromisoformat(row["created_at"]),
                summary=json.loads(row["summary_json"]),
            )
            for row in rows
        ]
