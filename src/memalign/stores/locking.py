"""The store's writer lock: one read-modify-commit at a time, across threads and processes.

A commit is atomic, but an operation that reads memory, calls models on what it read, and then
commits (alignment consolidating new guidelines against the stored ones) is not: two of them
interleaved each consolidate against memory without the other's guidelines and store the same
rule twice. Holding this lock from the read to the commit serialises them. It is an advisory
``flock`` on a file beside the store, so it also holds between processes (two ``memalign align``
runs, or the review server and the CLI), and it is re-entrant within a thread so an operation
that takes it can call another that does.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: threads in this process only
    fcntl = None  # type: ignore[assignment]


class WriterLock:
    def __init__(self, path: str | None) -> None:
        """``path`` is the lock file (None for an in-memory store: one process only)."""
        self.path = path
        self._local = threading.local()
        # Threads of this process queue here first; the file lock is then taken once per
        # holder, so a waiting thread never spins on the file.
        self._threads = threading.Lock()

    @contextmanager
    def __call__(self) -> Iterator[None]:
        depth = getattr(self._local, "depth", 0)
        if depth:
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth = depth
            return
        with self._threads:
            handle = None
            if self.path is not None and fcntl is not None:
                try:
                    handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                except OSError:
                    # A folder that cannot take the lock file cannot take the store's writes
                    # either: the write itself fails and says why.
                    handle = None
                else:
                    fcntl.flock(handle, fcntl.LOCK_EX)
            self._local.depth = 1
            try:
                yield
            finally:
                self._local.depth = 0
                if handle is not None:
                    fcntl.flock(handle, fcntl.LOCK_UN)
                    os.close(handle)
