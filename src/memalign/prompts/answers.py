"""Turning model text into structured values: strict JSON → extraction → repair.

The last rung of the ladder, one re-ask with the error, lives with the caller (it needs a model).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from memalign.errors import LabelError, ParseError
from memalign.judge_spec import OutputType
from memalign.records import CheckPart, Predicate

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_VALUE_KEYS = ("value", "label", "score", "verdict", "answer", "preference", "rating", "result")
_RATIONALE_KEYS = ("rationale", "reason", "reasoning", "explanation", "justification")


def _balanced_objects(text: str) -> list[str]:
    """Every top-level ``{...}`` span, scanning with awareness of JSON strings."""
    spans: list[str] = []
    depth = 0
    start = -1
    in_string = False
    quote = ""
    escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                in_string = False
            continue
        if ch in "\"'" and depth > 0:
            in_string, quote = True, ch
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append(text[start : i + 1])
    if depth > 0 and start >= 0:
        # A truncated object (the model hit its token limit): close it for the repair rung.
        spans.append(text[start:] + ('"' if in_string and quote == '"' else "") + "}" * depth)
    return spans


def _repair(candidate: str) -> str:
    fixed = candidate.strip()
    fixed = fixed.replace("\u201c", '"').replace("\u201d", '"').replace("\u2019", "'")
    fixed = re.sub(r",\s*([}\]])", r"\1", fixed)  # trailing commas
    fixed = re.sub(r"\bTrue\b", "true", fixed)
    fixed = re.sub(r"\bFalse\b", "false", fixed)
    fixed = re.sub(r"\bNone\b", "null", fixed)
    if '"' not in fixed:
        fixed = fixed.replace("'", '"')
    # unquoted keys: {value: 3} -> {"value": 3}
    fixed = re.sub(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:", r'\1"\2":', fixed)
    return fixed


def _loads_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def parse_json_object(text: str) -> dict[str, Any]:
    """The first JSON object found in ``text``; raises ParseError when there is none."""
    stripped = text.strip()
    found = _loads_object(stripped)
    if found is not None:
        return found
    candidates = [m.group(1) for m in _FENCE.finditer(text)]
    candidates += _balanced_objects(text)
    for candidate in candidates:
        found = _loads_object(candidate.strip())
        if found is not None:
            return found
    for candidate in candidates:
        found = _loads_object(_repair(candidate))
        if found is not None:
            return found
    raise ParseError("no JSON object found in model output", text=text)


def _conflicting(text: str, output: OutputType, value: Any) -> bool:
    """Whether another JSON object in the text carries a different value: a model (or text it
    was shown) that says two things has said nothing we can use."""
    if _loads_object(text.strip()) is not None:
        return False  # the whole text is one object
    for candidate in _balanced_objects(text):
        data = _loads_object(candidate.strip()) or _loads_object(_repair(candidate))
        raw = _pick(data, _VALUE_KEYS) if data is not None else None
        if raw is None:
            continue
        try:
            if output.coerce(raw) != value:
                return True
        except LabelError:
            return True
    return False


def _pick(data: dict[str, Any], keys: tuple[str, ...]) -> Any:
    lowered = {str(k).lower(): v for k, v in data.items()}
    for key in keys:
        if key in lowered:
            return lowered[key]
    return None


def parse_verdict(text: str, output: OutputType) -> tuple[str | int | float, str]:
    """Read (value, rationale) for ``output`` from model text; ParseError when impossible."""
    try:
        data = parse_json_object(text)
    except ParseError:
        data = None
    if data is not None:
        raw = _pick(data, _VALUE_KEYS)
        rationale = _pick(data, _RATIONALE_KEYS)
        if raw is None:
            raise ParseError("JSON output has no 'value' field", text=text)
        try:
            value = output.coerce(raw)
        except LabelError as exc:
            raise ParseError(f"invalid value: {exc.reason}", text=text) from None
        if _conflicting(text, output, value):
            raise ParseError("model output holds conflicting verdicts", text=text)
        return value, str(rationale or "").strip()
    # Plain-text answers: "value: Pass" or a bare label.
    match = re.search(r"(?im)^\s*(?:value|label|score|verdict|answer)\s*[:=]\s*(.+?)\s*$", text)
    bare = match.group(1) if match else text.strip().splitlines()[0] if text.strip() else ""
    try:
        return output.coerce(bare.strip().strip("*").strip()), ""
    except LabelError:
        raise ParseError("could not read a value from model output", text=text) from None


def complete_items(text: str, key: str) -> list[Any]:
    """The elements of the JSON array under ``key`` that were written in full, in order.

    For an answer cut off by the token limit (small models repeat themselves until they hit
    it): the elements before the cut are as good as in a closed array.
    """
    start = re.search(rf'"{re.escape(key)}"\s*:\s*\[', text)
    if start is None:
        return []
    decoder = json.JSONDecoder()
    items: list[Any] = []
    index = start.end()
    while True:
        while index < len(text) and text[index] in " \t\r\n,":
            index += 1
        if index >= len(text) or text[index] == "]":
            return items
        try:
            item, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            return items
        items.append(item)


# How the reflection model spells where a proposed check looks (see ``distill_check.txt``).
CHECK_PLACES: dict[str, CheckPart] = {
    "outputs": "all",
    "first line of outputs": "first_line",
    "last line of outputs": "last_line",
}


@dataclass(frozen=True)
class Proposal:
    """A guideline the reflection model proposed: its text, the items it cites, and the check
    it proposed with it, if any (a predicate only: which label it implies, and whether the
    rule is broken by the pattern's presence or absence, are for validation to establish)."""

    text: str
    sources: list[str]
    check: Predicate | None = None


def proposed_check(spelled: object) -> Predicate | None:
    """``{"where": ..., "pattern": ..., "broken_when": "found" | "missing"}`` as a predicate on
    the outputs; None when absent, empty, somewhere the format does not offer, or not a
    pattern RE2 accepts."""
    if not isinstance(spelled, dict):
        return None
    pattern = spelled.get("pattern")
    if not isinstance(pattern, str) or not pattern.strip():
        return None
    part = CHECK_PLACES.get(str(spelled.get("where", "outputs")).strip().lower())
    if part is None:  # a place the format does not offer: not a check we can run as meant
        return None
    present = str(spelled.get("broken_when", "found")).strip().lower() != "missing"
    try:
        return Predicate(term=pattern.strip(), pattern=True, part=part, present=present)
    except ValidationError:
        return None


def parse_guidelines(text: str) -> list[Proposal]:
    """Read ``{"guidelines": [{"text": ..., "sources": [...], "check": {...}?}]}``; of a
    truncated answer, the guidelines written in full. A proposed check that cannot be read is
    dropped, never its guideline."""
    try:
        items = parse_json_object(text).get("guidelines")
    except ParseError:
        items = complete_items(text, "guidelines") or None
    if not isinstance(items, list):
        raise ParseError("expected a 'guidelines' list", text=text)
    result: list[Proposal] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        body = item.get("text") or item.get("guideline")
        sources = item.get("sources") or item.get("source_ids") or []
        if isinstance(sources, str):
            sources = [sources]
        if isinstance(body, str) and body.strip() and isinstance(sources, list):
            result.append(
                Proposal(
                    " ".join(body.split()),
                    [str(s).strip() for s in sources],
                    proposed_check(item.get("check")),
                )
            )
    return result
