"""Where a check looks and whether it fires. Matching is ``str.find`` on lowercased text: linear
in the text and the term, with no pattern language a judged text could make slow."""

from __future__ import annotations

import json

from memalign.records import Case, Check, CheckField


def field_text(case: Case, field: CheckField) -> str:
    """A case field as the text a check searches (structured fields as canonical JSON)."""
    value = getattr(case, field)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def match(check: Check, case: Case) -> tuple[bool, tuple[int, int] | None]:
    """(fires, span): the span is where the term was found in the lowercased field text, or
    None when the check fires because the term is absent."""
    at = field_text(case, check.field).lower().find(check.term)
    found = at >= 0
    span = (at, at + len(check.term)) if found and check.present else None
    return found == check.present, span


def explain(check: Check) -> str:
    """The check in plain words, with the evidence it stands on."""
    where = f"in the {check.field}" if check.present else f"missing from the {check.field}"
    state = "" if check.active else "; not active: the labelled examples do not bear it out"
    return (
        f"{check.label} when '{check.term}' is {where} "
        f"({check.hits} of {check.fires} labelled examples agree{state})"
    )
