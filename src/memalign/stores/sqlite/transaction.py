"""One write transaction on a SQLite connection shared by threads: ``BEGIN IMMEDIATE`` takes
the write lock up front (no deadlock upgrading a read), everything in the block commits or
nothing does. Used by the memory store and by the review page's queue file."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def immediate(db: sqlite3.Connection, lock: threading.RLock) -> Iterator[sqlite3.Connection]:
    with lock:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        else:
            db.execute("COMMIT")
