"""RE2 patterns for judged text. Judged text is untrusted: a backtracking engine (Python's
``re``) can be made to run for minutes by a crafted input, RE2 runs in time linear in the text
and refuses the constructs that need backtracking (back-references, look-around). Patterns are
compiled case-insensitively, with a memory cap, and cached."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

MAX_PATTERN_CHARS = 200
# RE2's own default is 8 MiB; a check's pattern needs far less, and a cap keeps a user's
# pathological pattern from growing a huge automaton.
MAX_MEMORY_BYTES = 1 << 20


@functools.lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> Any:
    """The compiled RE2 pattern (case-insensitive); ValueError naming what RE2 refused."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(f"a pattern is at most {MAX_PATTERN_CHARS} characters")
    import re2  # a core dependency; imported here so records load without compiling anything

    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = MAX_MEMORY_BYTES
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(f"not a valid RE2 pattern: {reason}") from None


def search(pattern: str, text: str) -> tuple[int, int] | None:
    """The span of the first match of ``pattern`` in ``text``, or None."""
    found = compile_pattern(pattern).search(text)
    return None if found is None else (found.start(), found.end())


def find_all(pattern: str, text: str) -> list[tuple[int, int]]:
    """The spans of every non-overlapping match of ``pattern`` in ``text``, left to right."""
    return [found.span() for found in compile_pattern(pattern).finditer(text)]


# RE2's special characters; escaping only these keeps a pattern of literals readable.
_SPECIAL = re.compile(r"[\\.^$|?*+()\[\]{}]")
# One alternative: escaped characters and any other character but "|".
_ALTERNATIVE = re.compile(r"(?:\\.|[^|\\])+")
_ESCAPED = re.compile(r"\\(.)")
_WHOLE = re.compile(r"\^\\s\*(.+)\\s\*\$")


def escape(literal: str) -> str:
    """``literal`` as an RE2 pattern that matches it and nothing else."""
    return _SPECIAL.sub(r"\\\g<0>", literal)


def literals(pattern: str) -> list[str]:
    """The literals ``pattern`` is an alternation of, as :func:`any_of` writes one (sorted,
    escaped); none for any other pattern."""
    found = [_ESCAPED.sub(r"\g<1>", part) for part in _ALTERNATIVE.findall(pattern)]
    return found if found and any_of(found) == pattern else []


def any_of(literals: Sequence[str]) -> str:
    """A pattern matching any of ``literals``: their escapes, sorted, joined by "|"."""
    return "|".join(escape(literal) for literal in sorted(literals))


def whole(literal: str) -> str:
    """A pattern matching a text that is ``literal`` and nothing else (blank space aside)."""
    return rf"^\s*{escape(literal)}\s*$"


def whole_literal(pattern: str) -> str | None:
    """The literal a :func:`whole` pattern matches; None for any other pattern."""
    found = _WHOLE.fullmatch(pattern)
    if found is None:
        return None
    inner = literals(found.group(1))
    return inner[0] if len(inner) == 1 else None
