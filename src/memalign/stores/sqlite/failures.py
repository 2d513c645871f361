"""SQLite's own errors, as the store's: a corrupt file, a full disk, a lock held past the busy
timeout or a write to read-only media reach callers as ``StoreError`` naming the store, never
as a bare ``sqlite3`` exception from deep inside a query."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from memalign.errors import StoreError


@contextmanager
def store_failures(location: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(f"store failed: {exc}", location=location) from exc
