"""The SQLite memory store (stdlib ``sqlite3``).

Durability: WAL journal, ``synchronous=FULL``, foreign keys on, a busy timeout, and
``secure_delete`` so freed pages are zeroed. Each ``commit`` is one ``BEGIN IMMEDIATE``
transaction. ``compact`` checkpoints the WAL and VACUUMs, so forgotten text leaves the file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path

import numpy as np

from memalign.errors import NotFoundError, SpecError, StoreError
from memalign.judge_spec import JudgeSpec
from memalign.memory import Vector
from memalign.records import Guideline, Verdict, utcnow
from memalign.stores.base import DEFAULT_TENANT, ChangeSet, JudgeRow
from memalign.stores.locking import WriterLock
from memalign.stores.sqlite.examples import ExampleReads
from memalign.stores.sqlite.failures import store_failures
from memalign.stores.sqlite.migrations import MIGRATIONS
from memalign.stores.sqlite.reads import MemoryReads, iso_utc
from memalign.stores.sqlite.transaction import immediate


def _now() -> str:
    return utcnow().isoformat()


def _blob(vector: Vector) -> tuple[int, bytes]:
    flat = np.asarray(vector, dtype=np.float32).ravel()
    return int(flat.shape[0]), flat.tobytes()


def _writable(path: Path) -> bool:
    # access() reports EROFS for read-only mounts even to root, whom permissions don't stop.
    return os.access(path.parent, os.W_OK) and os.access(path, os.W_OK)


def _statements(script: str) -> Iterator[str]:
    """Split a script into statements; a trigger body's semicolons do not end its statement."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                yield pending
            pending = ""


class SQLiteStore(MemoryReads, ExampleReads):
    def __init__(self, path: Path | str, *, create: bool = True) -> None:
        """``create=False``: only open an existing store (read-only commands must not leave
        an empty database behind a mistyped path)."""
        self.location = str(path)
        if isinstance(path, Path):
            if path.is_dir():
                raise StoreError("is a directory, not a store file", location=self.location)
            if not create and not path.exists():
                raise StoreError("no store here (check --store)", location=self.location)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the store's folder: {exc.strerror}", location=self.location
                ) from None
        self.read_only = False
        try:
            self._db = self._connect()
        except sqlite3.Error as exc:
            if not isinstance(path, Path) or (path.exists() and _writable(path)):
                raise StoreError(f"cannot open store: {exc}", location=self.location) from None
            if create and not _writable(path):
                raise StoreError(
                    f"cannot write a store here ({exc}): read-only media or no permission",
                    location=self.location,
                ) from None
            self._db = self._connect_read_only(path)
        else:
            # With another process's shared-memory file present, SQLite opens read-only media
            # itself (WAL included); writes would then fail deep inside a transaction.
            self.read_only = isinstance(path, Path) and not _writable(path)
        self._lock = threading.RLock()
        # A read-only store takes no writes, so no lock file is made beside it.
        self._writer = WriterLock(
            None
            if self.location == ":memory:" or self.read_only
            else self.location + ".writer.lock"
        )
        self._migrate()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.location, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA busy_timeout = 30000")
        db.execute("PRAGMA secure_delete = ON")
        if self.location != ":memory:":
            db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        return db

    def _connect_read_only(self, path: Path) -> sqlite3.Connection:
        """A store on read-only media (a mounted snapshot, a CD, a locked-down share). WAL
        mode needs a shared-memory file beside the database even to read, which read-only
        media cannot hold; ``immutable=1`` reads the file alone. A non-empty write-ahead log
        would then be ignored, silently hiding its commits, so that case is refused."""
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise StoreError(
                "store is on read-only media with unmerged writes in its -wal file; open it "
                "once where it can be written",
                location=self.location,
            )
        try:
            db = sqlite3.connect(
                f"{path.resolve().as_uri()}?immutable=1",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store: {exc}", location=self.location) from None
        self.read_only = True
        return db

    # -- plumbing -------------------------------------------------------------------------

    def _refuse_if_read_only(self) -> None:
        if self.read_only:
            raise StoreError(
                "store is on read-only media: it can be read, not changed",
                location=self.location,
            )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._refuse_if_read_only()
        with store_failures(self.location), immediate(self._db, self._lock) as db:
            yield db

    def writer(self) -> AbstractContextManager[None]:
        """Held from an operation's first read of memory to its commit (see ``locking``)."""
        return self._writer()

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        with self._lock, store_failures(self.location):
            cursor = self._db.execute(sql, params)
            cursor.row_factory = sqlite3.Row
            return list(cursor.fetchall())

    def _migrate(self) -> None:
        if self.read_only:
            applied = {row[0] for row in self._db.execute("SELECT name FROM schema_migrations")}
            if applied != {name for name, _ in MIGRATIONS}:
                raise StoreError(
                    "store is on read-only media and its schema is not this version's; open "
                    "it once where it can be written (or with a matching memalign)",
                    location=self.location,
                )
            return
        with self._transaction() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            applied = {row[0] for row in db.execute("SELECT name FROM schema_migrations")}
            known = {name for name, _ in MIGRATIONS}
            if applied - known:
                raise StoreError(
                    f"store has newer schema migrations {sorted(applied - known)}; "
                    "upgrade memalign",
                    location=self.location,
                )
            for name, sql in MIGRATIONS:
                if name in applied:
                    continue
                for statement in _statements(sql):
                    db.execute(statement)
                db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (name, _now()))

    def applied_migrations(self) -> list[str]:
        return [row[0] for row in self._rows("SELECT name FROM schema_migrations ORDER BY name")]

    # -- judges ---------------------------------------------------------------------------

    def _judge_row(self, row: sqlite3.Row) -> JudgeRow:
        try:
            spec = JudgeSpec.from_dict(json.loads(row["spec_json"]))
        except (TypeError, KeyError, ValueError) as exc:
            # A spec written by another version (an unknown field, a missing one): say which
            # judge and what, instead of failing somewhere deeper.
            raise StoreError(
                f"judge {row['name']!r} has a spec this version of memalign cannot read "
                f"({type(exc).__name__}: {exc}); upgrade memalign or re-import the judge",
                location=self.location,
            ) from None
        return JudgeRow(
            judge_id=row["judge_id"],
            tenant=row["tenant"],
            spec=spec,
            version=row["memory_version"],
            created_at=datetime.fromisoformat(row["created_at"]),
        )

    def create_judge(self, spec: JudgeSpec, *, tenant: str = DEFAULT_TENANT) -> JudgeRow:
        with self._transaction() as db:
            exists = db.execute(
                "SELECT 1 FROM judges WHERE tenant = ? AND name = ?", (tenant, spec.name)
            ).fetchone()
            if exists:
                raise SpecError(f"judge {spec.name!r} already exists in {self.location}")
            db.execute(
                "INSERT INTO judges (tenant, name, spec_json, memory_version, created_at) "
                "VALUES (?, ?, ?, 0, ?)",
                (tenant, spec.name, json.dumps(spec.to_dict()), _now()),
            )
        return self.get_judge(spec.name, tenant=tenant)

    def get_judge(self, name: str, *, tenant: str = DEFAULT_TENANT) -> JudgeRow:
        rows = self._rows("SELECT * FROM judges WHERE tenant = ? AND name = ?", (tenant, name))
        if not rows:
            raise NotFoundError("judge", name, location=self.location)
        return self._judge_row(rows[0])

    def list_judges(self, *, tenant: str = DEFAULT_TENANT) -> list[JudgeRow]:
        rows = self._rows("SELECT * FROM judges WHERE tenant = ? ORDER BY name", (tenant,))
        return [self._judge_row(row) for row in rows]

    def delete_judge(self, name: str, *, tenant: str = DEFAULT_TENANT) -> None:
        judge = self.get_judge(name, tenant=tenant)
        with self._transaction() as db:
            db.execute("DELETE FROM judges WHERE judge_id = ?", (judge.judge_id,))
            db.execute("DELETE FROM example_log WHERE judge_id = ?", (judge.judge_id,))
        path = self.index_path(judge.judge_id)
        if path is not None:
            for leftover in path.parent.glob(path.name + "*"):
                leftover.unlink(missing_ok=True)
        # The judge's records, examples and vectors must leave the files too.
        self.compact()

    # -- verdict cache --------------------------------------------------------------------

    def cached_verdict(self, judge_id: int, version: int, case_hash: str) -> Verdict | None:
        rows = self._rows(
            "SELECT verdict_json FROM verdict_cache WHERE judge_id = ? AND memory_version = ? "
            "AND case_hash = ?",
            (judge_id, version, case_hash),
        )
        return Verdict.model_validate_json(rows[0]["verdict_json"]) if rows else None

    def cache_verdict(self, judge_id: int, version: int, case_hash: str, v: Verdict) -> None:
        if self.read_only:
            return  # a cache: judging a read-only store just recomputes
        with self._transaction() as db:
            current = db.execute(
                "SELECT memory_version FROM judges WHERE judge_id = ?", (judge_id,)
            ).fetchone()
            # A verdict computed under an older version must not be cached after a commit.
            if current is None or current[0] != version:
                return
            db.execute(
                "INSERT OR REPLACE INTO verdict_cache VALUES (?, ?, ?, ?)",
                (judge_id, version, case_hash, v.model_dump_json()),
            )

    # -- writes ---------------------------------------------------------------------------

    def commit(self, judge_id: int, changes: ChangeSet) -> int:
        with self._transaction() as db:
            row = db.execute(
                "SELECT memory_version FROM judges WHERE judge_id = ?", (judge_id,)
            ).fetchone()
            if row is None:
                raise NotFoundError("judge", str(judge_id))
            version = int(row[0]) + 1
            db.executemany(
                "DELETE FROM records WHERE judge_id = ? AND record_id = ?",
                [(judge_id, rid) for rid in changes.delete_records],
            )
            db.executemany(
                "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        judge_id,
                        rec.id,
                        rec.content_hash(),
                        rec.model_dump_json(),
                        rec.annotator,
                        iso_utc(rec.created_at or utcnow()),
                    )
                    for rec in changes.upsert_records
                ],
            )
            db.executemany(
                "DELETE FROM guidelines WHERE judge_id = ? AND guideline_id = ?",
                [(judge_id, gid) for gid in changes.delete_guidelines],
            )
            for guideline, vector in changes.upsert_guidelines:
                dim, blob = _blob(vector) if vector is not None else (None, None)
                db.execute(
                    "INSERT INTO guidelines VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (judge_id, guideline_id) DO UPDATE SET "
                    "guideline_json = excluded.guideline_json, dim = excluded.dim, "
                    "vector = excluded.vector",
                    (judge_id, guideline.id, guideline.model_dump_json(), dim, blob),
                )
                db.execute(
                    "DELETE FROM guideline_sources WHERE judge_id = ? AND guideline_id = ?",
                    (judge_id, guideline.id),
                )
                db.executemany(
                    "INSERT OR IGNORE INTO guideline_sources VALUES (?, ?, ?)",
                    [(judge_id, guideline.id, source) for source in guideline.sources],
                )
            for example, vector in changes.upsert_examples:
                dim, blob = _blob(vector)
                # An upsert, not REPLACE: the example keeps its key, and the log sees a new
                # vector only when the vector really changed.
                db.execute(
                    "INSERT INTO examples (judge_id, record_id, example_json, dim, vector) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (judge_id, record_id) DO UPDATE SET "
                    "example_json = excluded.example_json, dim = excluded.dim, "
                    "vector = excluded.vector",
                    (judge_id, example.record_id, example.model_dump_json(), dim, blob),
                )
            self._check_sources(db, judge_id)
            db.execute("DELETE FROM verdict_cache WHERE judge_id = ?", (judge_id,))
            if changes.spec is not None:
                db.execute(
                    "UPDATE judges SET spec_json = ? WHERE judge_id = ?",
                    (json.dumps(changes.spec.to_dict()), judge_id),
                )
            db.execute(
                "UPDATE judges SET memory_version = ? WHERE judge_id = ?", (version, judge_id)
            )
            db.execute(
                "INSERT INTO memory_versions VALUES (?, ?, ?, ?, ?)",
                (judge_id, version, changes.operation, _now(), json.dumps(changes.summary)),
            )
        return version

    @staticmethod
    def _check_sources(db: sqlite3.Connection, judge_id: int) -> None:
        """A distilled or mined guideline must rest on stored feedback; refuse a change that
        breaks it."""
        for (raw,) in db.execute(
            "SELECT guideline_json FROM guidelines g WHERE judge_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM guideline_sources s WHERE s.judge_id = g.judge_id "
            "AND s.guideline_id = g.guideline_id)",
            (judge_id,),
        ):
            guideline = Guideline.model_validate_json(raw)
            if guideline.origin in ("distilled", "check"):
                raise StoreError(
                    f"{guideline.origin} guideline {guideline.id} has no stored source"
                )

    def compact(self, *, vacuum: bool = True) -> None:
        """Make deleted content unrecoverable from the files: ``secure_delete`` has zeroed it in
        the pages, the checkpoint copies those pages home and truncates the WAL that still held
        the old ones. VACUUM also returns the free pages to the file system; it rewrites the
        whole file, so a forget at scale skips it."""
        if self.location == ":memory:":
            return
        self._refuse_if_read_only()
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            if vacuum:
                self._db.execute("VACUUM")
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._db.close()
