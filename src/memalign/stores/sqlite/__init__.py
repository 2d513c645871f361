"""The SQLite store: one file per store, WAL mode, every change one transaction."""

from memalign.stores.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
