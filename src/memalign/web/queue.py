"""The review queue: cases waiting for an expert, per judge, with the judge's latest verdict on
each, and the submissions not yet aligned.

It lives in a file beside the store (``<store>.review.db``), not in the store: the store holds
memory and its schema belongs to ``memalign.stores``. Whether a case was reviewed is never
kept here; it is read from the store's records (matched by case content), so forgetting a
record or an annotator in the store is reflected in the queue at once.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from memalign.errors import StoreError
from memalign.records import Case, Feedback, Value, Verdict, canonical_json, utcnow
from memalign.stores.sqlite import immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    judge TEXT NOT NULL,
    case_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    case_json TEXT NOT NULL,
    case_hash TEXT NOT NULL,
    verdict_json TEXT,
    -- The value before the last re-judging changed it: the flag "this verdict flipped".
    flipped_from TEXT,
    PRIMARY KEY (judge, case_id)
);
CREATE TABLE IF NOT EXISTS pending (
    job_id TEXT PRIMARY KEY,
    judge TEXT NOT NULL,
    case_id TEXT NOT NULL,
    record_json TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    -- The judge's store id when submitted: a judge deleted and created again under the same
    -- name is another judge, and must not learn from (or count) the old one's reviews.
    judge_id INTEGER
);
"""


def case_hash(case: Case) -> str:
    return hashlib.sha256(canonical_json(case.model_dump(mode="json")).encode()).hexdigest()


def sidecar_path(store_location: str) -> str:
    return ":memory:" if store_location == ":memory:" else store_location + ".review.db"


@dataclass(frozen=True)
class QueuedCase:
    case_id: str
    position: int
    case: Case
    hash: str
    verdict: Verdict | None
    # The verdict's value before re-judging under newer memory changed it.
    flipped_from: Value | None


@dataclass(frozen=True)
class Pending:
    job_id: str
    judge: str
    case_id: str
    record: Feedback
    judge_id: int | None = None


class ReviewQueue:
    def __init__(self, location: str) -> None:
        self.location = location
        try:
            self._db = sqlite3.connect(
                location, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            # Pending submissions hold feedback text until aligned: zero it when dropped.
            self._db.execute("PRAGMA secure_delete = ON")
            if location != ":memory:":
                self._db.execute("PRAGMA journal_mode = WAL")
            self._db.executescript(SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(pending)")}
            if "judge_id" not in columns:  # a queue file from before the column
                self._db.execute("ALTER TABLE pending ADD COLUMN judge_id INTEGER")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the review queue: {exc}", location=location) from None
        self._lock = threading.RLock()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self._db, self._lock)

    # -- cases ----------------------------------------------------------------------------

    def add_cases(self, judge: str, cases: Sequence[tuple[str, Case]]) -> list[str]:
        """Add (or refresh) cases; returns the ids whose verdict is unknown. A case whose
        content changed loses its old verdict."""
        unjudged: list[str] = []
        with self._transaction() as db:
            (last,) = db.execute(
                "SELECT COALESCE(MAX(position), 0) FROM cases WHERE judge = ?", (judge,)
            ).fetchone()
            for offset, (case_id, case) in enumerate(cases, start=1):
                digest = case_hash(case)
                row = db.execute(
                    "SELECT case_hash, verdict_json FROM cases WHERE judge = ? AND case_id = ?",
                    (judge, case_id),
                ).fetchone()
                if row is not None and row[0] == digest:
                    if row[1] is None:
                        unjudged.append(case_id)
                    continue
                db.execute(
                    "INSERT OR REPLACE INTO cases VALUES (?, ?, ?, ?, ?, NULL, NULL)",
                    (judge, case_id, last + offset, case.model_dump_json(), digest),
                )
                unjudged.append(case_id)
        return unjudged

    def cases(self, judge: str, ids: Sequence[str] | None = None) -> list[QueuedCase]:
        with self._lock:
            rows = self._db.execute(
                "SELECT case_id, position, case_json, case_hash, verdict_json, flipped_from "
                "FROM cases WHERE judge = ? ORDER BY position",
                (judge,),
            ).fetchall()
        wanted = None if ids is None else set(ids)
        return [
            QueuedCase(
                case_id=row[0],
                position=row[1],
                case=Case.model_validate_json(row[2]),
                hash=row[3],
                verdict=Verdict.model_validate_json(row[4]) if row[4] else None,
                flipped_from=json.loads(row[5]) if row[5] is not None else None,
            )
            for row in rows
            if wanted is None or row[0] in wanted
        ]

    def get(self, judge: str, case_id: str) -> QueuedCase | None:
        found = self.cases(judge, [case_id])
        return found[0] if found else None

    def set_verdict(self, judge: str, case_id: str, verdict: Verdict) -> bool:
        """Store the latest verdict; returns whether its value flipped from a known one."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT verdict_json FROM cases WHERE judge = ? AND case_id = ?", (judge, case_id)
            ).fetchone()
            if row is None:
                return False
            old = Verdict.model_validate_json(row[0]) if row[0] else None
            flipped = old is not None and old.ok and verdict.ok and old.value != verdict.value
            db.execute(
                "UPDATE cases SET verdict_json = ?, flipped_from = CASE WHEN ? THEN ? "
                "ELSE flipped_from END WHERE judge = ? AND case_id = ?",
                (
                    verdict.model_dump_json(),
                    flipped,
                    json.dumps(old.value if old else None),
                    judge,
                    case_id,
                ),
            )
        return flipped

    # -- submissions not yet aligned ------------------------------------------------------

    def add_pending(
        self,
        job_id: str,
        judge: str,
        case_id: str,
        record: Feedback,
        judge_id: int | None = None,
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO pending (job_id, judge, case_id, record_json, submitted_at, "
                "judge_id) VALUES (?, ?, ?, ?, ?, ?)",
                (job_id, judge, case_id, record.model_dump_json(), utcnow().isoformat(), judge_id),
            )

    def pending(self) -> list[Pending]:
        with self._lock:
            rows = self._db.execute(
                "SELECT job_id, judge, case_id, record_json, judge_id FROM pending "
                "ORDER BY submitted_at"
            ).fetchall()
        return [Pending(r[0], r[1], r[2], Feedback.model_validate_json(r[3]), r[4]) for r in rows]

    def get_pending(self, job_id: str) -> Pending | None:
        return next((p for p in self.pending() if p.job_id == job_id), None)

    def drop_pending(self, job_id: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM pending WHERE job_id = ?", (job_id,))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_queue(store_location: str, *, read_only: bool = False) -> ReviewQueue:
    """The queue beside the store; in memory for a store on read-only media, where no file can
    be made beside it (nothing can be learned there, so nothing needs to outlive the server)."""
    path = ":memory:" if read_only else sidecar_path(store_location)
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return ReviewQueue(path)
