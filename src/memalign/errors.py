"""The one error tree of memalign.

    MemalignError
    ├── SpecError            a judge spec or output type is invalid
    ├── InputError           a record or file is invalid (file, line, field)
    ├── LabelError           a label does not fit the judge's output type (also an InputError)
    ├── RecordConflictError  ids already stored with other content, refused (also an InputError)
    ├── NotFoundError        an unknown judge, record or guideline
    ├── StoreError           the memory store failed or has an unknown schema
    ├── ProviderError        an LLM or embedding call failed (retryable or not)
    ├── ParseError           model output could not be turned into a value
    ├── DependencyError      an optional dependency is missing (with an install hint)
    └── ModelAssetError      local model weights are missing or corrupt

Errors carry their context as attributes so callers (the CLI, a web page) can render them
without parsing messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self


class MemalignError(Exception):
    """Base class of every error memalign raises on purpose."""


class SpecError(MemalignError, ValueError):
    """A judge spec or output type is malformed."""


class InputError(MemalignError, ValueError):
    """Bad user input; names where it was found so the user can fix it."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        record_id: str | None = None,
    ) -> None:
        self.reason = message
        self.file = file
        self.line = line
        self.field = field
        self.record_id = record_id
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file if self.line is None else f"{self.file}:{self.line}")
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.record_id is not None:
            where.append(f"record {self.record_id!r}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where)}: {self.reason}" if where else self.reason

    def located(self, *, file: str | None = None, line: int | None = None) -> Self:
        """A copy of this error with the file/line filled in (records don't know their file)."""
        # Built without calling __init__, so a subclass's own context (its attributes) is kept
        # whatever its constructor takes.
        found = type(self).__new__(type(self))
        found.__dict__.update(self.__dict__)
        found.file = file if file is not None else self.file
        found.line = line if line is not None else self.line
        Exception.__init__(found, found._render())
        return found


class LabelError(InputError):
    """A label (expert's or model's) is outside the judge's output type."""


class RecordConflictError(InputError):
    """Records whose ids are already stored with other content, in a batch that asked not to
    replace them; ``ids`` lists them in batch order. Nothing was changed."""

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = tuple(ids)
        shown = ", ".join(repr(i) for i in self.ids[:10]) + (" …" if len(self.ids) > 10 else "")
        super().__init__(
            f"{len(self.ids)} id(s) already stored with other content: {shown}; nothing was "
            "changed (use new ids, or let them replace the stored records)",
            field="id",
            record_id=self.ids[0] if self.ids else None,
        )


class NotFoundError(MemalignError, KeyError):
    """An unknown judge, record or guideline; ``location`` names the store searched."""

    def __init__(self, kind: str, key: str, *, location: str | None = None) -> None:
        self.kind = kind
        self.key = key
        self.location = location
        super().__init__(str(self))

    def __str__(self) -> str:  # KeyError would repr() the message
        where = f" in store {self.location}" if self.location else ""
        return f"unknown {self.kind} {self.key!r}{where}"


class StoreError(MemalignError):
    def __init__(self, message: str, *, location: str | None = None) -> None:
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class ProviderError(MemalignError):
    """A model call failed. ``retryable`` tells the core whether trying again may help."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.provider = provider
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        prefix = f"{provider}: " if provider else ""
        super().__init__(f"{prefix}{message}")


class ParseError(MemalignError, ValueError):
    def __init__(self, message: str, *, text: str = "") -> None:
        self.text = text
        super().__init__(message)


class DependencyError(MemalignError, ImportError):
    """An optional dependency is missing; ``hint`` says how to install it."""

    def __init__(self, package: str, hint: str) -> None:
        self.package = package
        self.hint = hint
        super().__init__(f"{package} is not installed: {hint}")


class ModelAssetError(MemalignError):
    """Local model weights are missing, incomplete or corrupt."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)
