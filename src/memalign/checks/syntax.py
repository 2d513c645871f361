"""The one-line spelling of a condition, as the CLI takes it: ``FIELD[.KEY]=TERM`` (the term
is there), ``FIELD[.KEY]==VALUE`` (the whole text is the value) or ``FIELD[.KEY]!=TERM`` (the
term is not there), e.g. ``inputs.audience_region==UK``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

from pydantic import ValidationError

from memalign.errors import InputError
from memalign.patterns import whole, whole_literal
from memalign.records import Check, CheckField, Place, Predicate


def parse_condition(text: str) -> Predicate:
    """``inputs.audience_region=UK`` → the predicate; ValueError saying what is wrong."""
    where, equals, term = text.partition("=")
    exact = term.startswith("=")  # FIELD.KEY==VALUE: the whole text is the value
    term = term.removeprefix("=")
    present = not where.endswith("!")
    where = where.removesuffix("!").strip()
    if not equals or not term.strip() or not where:
        raise ValueError(
            f"expected FIELD[.KEY]=TERM, FIELD[.KEY]==VALUE or FIELD[.KEY]!=TERM, got {text!r}"
        )
    place = parse_place(where)
    if exact:
        return Predicate(
            term=whole(term.strip()), pattern=True, present=present, field=place.field,
            key=place.key,
        )  # fmt: skip
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
    value = whole_literal(condition.term) if condition.pattern else None
    if value is not None and condition.present:
        return f"{where}=={value}"
    return f"{where}{'=' if condition.present else '!='}{condition.term}"


def spelled_check(
    values: Mapping[str, Any], *, when: str | None, within: str | None, option: str = ""
) -> Check:
    """The check ``values`` spell (``Check`` fields) with its condition and source written as
    one line each (:func:`parse_condition`, :func:`parse_place`). InputError naming the field
    that is wrong, as ``option`` + its name (the CLI's ``--when``, a form's ``when``)."""
    condition = None if not when else _parsed(parse_condition, when, f"{option}when")
    place = None if not within else _parsed(parse_place, within, f"{option}within")
    try:
        return Check.model_validate({**values, "when": condition, "within": place})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] and option == "" else f"{option}check"
        raise InputError(_reason(exc), field=field) from None


def _parsed(parse: Any, text: str, field: str) -> Any:
    try:
        return parse(text)
    except ValueError as exc:
        raise InputError(_reason(exc), field=field) from None


def _reason(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        return str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
    return str(exc)
