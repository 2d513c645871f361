"""Where a check looks and whether it fires. A literal term is found with ``str.find`` on
lowercased text, a pattern with RE2 (``memalign.patterns``): both linear in the text, with no
pattern language a judged text could make slow."""

from __future__ import annotations

import json
from typing import Any

from memalign.patterns import find_all, search, whole_literal
from memalign.records import Case, Check, CheckField, Clause, Place, Predicate

Span = tuple[int, int]


def field_text(case: Case, field: CheckField) -> str:
    """A case field as the text a check searches (structured fields as canonical JSON)."""
    return _as_text(getattr(case, field))


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _scope(case: Case, where: Predicate) -> tuple[str, int | None]:
    """The text ``where`` searches and its offset in :func:`field_text` (None for a named
    entry: its text is not a slice of the field's JSON)."""
    if where.key is None:
        text, offset = field_text(case, where.field), 0
    else:
        value = getattr(case, where.field)
        entry = value.get(where.key) if isinstance(value, dict) else None
        text, offset = _as_text(entry), None
    if where.part == "all":
        return text, offset
    lines = [(at, line) for at, line in _lines(text) if line.strip()]
    if not lines:
        return "", offset
    at, line = lines[0] if where.part == "first_line" else lines[-1]
    return line, None if offset is None else offset + at


def _lines(text: str) -> list[tuple[int, str]]:
    out, at = [], 0
    for line in text.splitlines(keepends=True):
        out.append((at, line.rstrip("\r\n")))
        at += len(line)
    return out


def _find(where: Predicate, text: str, case: Case) -> Span | None:
    lowered = text.lower()
    if where.within is not None:
        return _uncopied(where, lowered, _place_text(case, where.within).lower())
    if where.pattern:
        return search(where.term, lowered)
    at = lowered.find(where.term)
    return None if at < 0 else (at, at + len(where.term))


def _matches(where: Predicate, text: str) -> list[Span]:
    if where.pattern:
        return find_all(where.term, text)
    spans, at = [], text.find(where.term)
    while at >= 0:
        spans.append((at, at + len(where.term)))
        at = text.find(where.term, at + len(where.term))
    return spans


def _uncopied(where: Predicate, text: str, source: str) -> Span | None:
    """The first match in ``text`` that is not also a match in ``source``."""
    copied = {source[start:end] for start, end in _matches(where, source)}
    return next(((s, e) for s, e in _matches(where, text) if text[s:e] not in copied), None)


def _place_text(case: Case, place: Place) -> str:
    value = getattr(case, place.field)
    if place.key is None:
        return _as_text(value)
    return _as_text(value.get(place.key) if isinstance(value, dict) else None)


def scoped_text(case: Case, where: Predicate) -> str:
    """The text ``where`` looks in: its field (or named entry), whole or one line of it."""
    return _scope(case, where)[0]


def holds(where: Predicate, case: Case) -> bool:
    """Whether the predicate holds on ``case``: its term found (or, absent, not found)."""
    text, _ = _scope(case, where)
    return (_find(where, text, case) is not None) == where.present


def match(check: Check, case: Case) -> tuple[bool, Span | None]:
    """(fires, span): a check fires when its condition holds (if it has one) and its predicate
    holds, or where one of its alternative clauses does. The span is where the term was found,
    in the lowercased text of the whole field (:func:`field_text`); None when it fired because
    the term is absent, or when it looks in a named entry of the field."""
    fired = fired_clause(check, case)
    return (False, None) if fired is None else (True, fired[1])


def fired_clause(check: Check, case: Case) -> tuple[int, Span | None] | None:
    """Which clause of ``check`` fires on ``case`` first (0: its own, 1…: its alternatives),
    and the span as :func:`match` gives it; None when none does."""
    for index, clause in enumerate(clauses(check)):
        fires, span = _clause(clause, clause.when, case)
        if fires:
            return index, span
    return None


def clauses(check: Check) -> list[Check | Clause]:
    """The check's own clause, then its alternatives."""
    return [check, *check.alternatives]


def clause_fires(clause: Check | Clause, case: Case) -> bool:
    """Whether one clause of a check fires on ``case``: its condition and its predicate hold."""
    return _clause(clause, clause.when, case)[0]


def _clause(where: Predicate, when: Predicate | None, case: Case) -> tuple[bool, Span | None]:
    if when is not None and not holds(when, case):
        return False, None
    text, offset = _scope(case, where)
    found = _find(where, text, case)
    fires = (found is not None) == where.present
    if not fires or found is None or offset is None:
        return fires, None
    return True, (offset + found[0], offset + found[1])


def describe(where: Predicate) -> str:
    """Where and what, in plain words: "'re:' is in the first line of the outputs"."""
    what = f"pattern /{where.term}/" if where.pattern else f"'{where.term}'"
    place = f"the {where.field}" if where.key is None else f"{where.field}.{where.key}"
    value = whole_literal(where.term) if where.pattern and where.part == "all" else None
    if value is not None and where.within is None:
        return f"{place} is {'' if where.present else 'not '}'{value}'"
    if where.part != "all":
        place = f"the {where.part.replace('_', ' ')} of {place}"
    if where.within is not None:
        source = f"the {where.within.field}"
        if where.within.key is not None:
            source = f"{where.within.field}.{where.within.key}"
        if where.present:
            return f"a match of {what} in {place} is not copied from {source}"
        return f"every match of {what} in {place} is copied from {source}"
    return f"{what} is {'in' if where.present else 'missing from'} {place}"


def explain(check: Check) -> str:
    """The check in plain words, with the evidence it stands on."""
    said = "; or ".join(
        describe(clause) + ("" if clause.when is None else f", where {describe(clause.when)}")
        for clause in clauses(check)
    )
    state = "" if check.active else "; not active: the labelled examples do not bear it out"
    return (
        f"{check.label} when {said} ({check.hits} of {check.fires} labelled examples agree{state})"
    )
