"""Where memory lives: the ``MemoryStore`` protocol and ``open_store(url)``.

A store holds many judges (optionally per tenant), each with its records, guidelines, examples,
verdict cache and version history. Every change goes through ``commit(ChangeSet)``: one
transaction, one new memory version.
"""

from __future__ import annotations

from pathlib import Path

from memalign.errors import InputError
from memalign.stores.base import DEFAULT_TENANT, ChangeSet, Evidence, JudgeRow, MemoryStore

__all__ = [
    "DEFAULT_TENANT",
    "ChangeSet",
    "Evidence",
    "JudgeRow",
    "MemoryStore",
    "default_store_path",
    "open_store",
]


def default_store_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("memalign", appauthor=False)) / "memalign.db"


def open_store(url: str | Path | None = None, *, create: bool = True) -> MemoryStore:
    """Open a store from a path, ``sqlite:///path``, ``:memory:``, or the per-user default.
    ``create=False`` refuses a path where no store exists yet."""
    from memalign.stores.sqlite import SQLiteStore

    if url is None:
        return SQLiteStore(default_store_path(), create=create)
    text = str(url)
    if text.startswith("sqlite://"):
        # SQLAlchemy style: sqlite:///relative.db, sqlite:////absolute.db, sqlite:// = memory.
        text = text[len("sqlite:///") :] if text.startswith("sqlite:///") else ""
        text = text or ":memory:"
    elif "://" in text:
        scheme = text.split("://", 1)[0]
        raise InputError(
            f"unsupported store URL scheme {scheme!r}: use a path or sqlite:///path",
            field="store",
        )
    return SQLiteStore(text if text == ":memory:" else Path(text), create=create)
