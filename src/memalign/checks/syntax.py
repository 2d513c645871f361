"""The one-line spelling of a condition, as the CLI takes it: ``FIELD[.KEY]=TERM`` (the term
is there) or ``FIELD[.KEY]!=TERM`` (it is not), e.g. ``inputs.audience_region=UK``."""

from __future__ import annotations

from typing import get_args

from memalign.records import CheckField, Place, Predicate


def parse_condition(text: str) -> Predicate:
    """``inputs.audience_region=UK`` → the predicate; ValueError saying what is wrong."""
    where, equals, term = text.partition("=")
    present = not where.endswith("!")
    where = where.removesuffix("!").strip()
    if not equals or not term.strip() or not where:
        raise ValueError(f"expected FIELD[.KEY]=TERM or FIELD[.KEY]!=TERM, got {text!r}")
    place = parse_place(where)
    return Predicate(term=term.strip(), present=present, field=place.field, key=place.key)


def parse_place(text: str) -> Place:
    """``inputs.source_text`` (or a bare field) → the place; ValueError saying what is wrong."""
    field, _, key = text.strip().partition(".")
    fields = get_args(CheckField)
    if field not in fields:
        raise ValueError(f"unknown field {field!r}: one of {', '.join(fields)}")
    return Place(field=field, key=key or None)


def spell_condition(condition: Predicate) -> str:
    """The one-line spelling :func:`parse_condition` reads back."""
    where = condition.field if condition.key is None else f"{condition.field}.{condition.key}"
    return f"{where}{'=' if condition.present else '!='}{condition.term}"
