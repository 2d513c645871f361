"""The SQLite store: one file per store, WAL mode, every change one transaction."""

from memalign.stores.sqlite.store import SQLiteStore
from memalign.stores.sqlite.transaction import immediate

__all__ = ["SQLiteStore", "immediate"]
