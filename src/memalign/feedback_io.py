"""Reading feedback and case files (JSONL or CSV) with errors that name file, line and field.

Field names default to ``id, inputs, outputs, expectations, label, feedback, annotator,
verdict``; ``field_map`` maps those names to a file's own column names. Other fields are
ignored. A whole file is read and checked before anything uses it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from memalign.errors import InputError, LabelError
from memalign.judge_spec import JudgeSpec, Pairwise
from memalign.records import Feedback
from memalign.rendering import pairwise_responses

FIELDS = ("id", "inputs", "outputs", "expectations", "label", "feedback", "annotator", "verdict")


@dataclass(frozen=True)
class Row:
    line: int
    record: Feedback


def parse_field_map(pairs: list[str]) -> dict[str, str]:
    """``["id=ticket", "outputs=response"]`` → ``{"id": "ticket", "outputs": "response"}``."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        ours, sep, theirs = pair.partition("=")
        if not sep or ours.strip() not in FIELDS or not theirs.strip():
            raise InputError(f"bad field mapping {pair!r}; use NAME=COLUMN with NAME in {FIELDS}")
        mapping[ours.strip()] = theirs.strip()
    return mapping


def _raw_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file=str(path)) from None
    with handle:
        if path.suffix.lower() == ".csv":
            reader = csv.DictReader(handle)
            for row in reader:
                yield reader.line_num, {k: _cell(v) for k, v in row.items() if k is not None}
            return
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(f"invalid JSON: {exc.msg}", file=str(path), line=number) from None
            if not isinstance(value, dict):
                raise InputError("each line must be a JSON object", file=str(path), line=number)
            yield number, value


def _cell(value: str | None) -> Any:
    """CSV cells holding JSON objects or arrays (structured inputs/outputs) are decoded."""
    if value is None or value == "":
        return None
    stripped = value.strip()
    if stripped[:1] in "{[":
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return value
    return value


def read_records(
    path: Path,
    spec: JudgeSpec,
    *,
    field_map: Mapping[str, str] | None = None,
    require_label: bool = False,
) -> list[Row]:
    mapping = {name: (field_map or {}).get(name, name) for name in FIELDS}
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for line, raw in _raw_rows(path):

        def fail(message: str, name: str, kind: type[InputError] = InputError) -> InputError:
            return kind(message, file=str(path), line=line, field=mapping.get(name, name))  # noqa: B023

        data = {name: raw.get(column) for name, column in mapping.items()}
        record_id = data["id"]
        if record_id is None or str(record_id).strip() == "":
            raise fail("missing id", "id")
        record_id = str(record_id).strip()
        if record_id in seen:
            raise fail(f"duplicate id {record_id!r} (first on line {seen[record_id]})", "id")
        seen[record_id] = line
        data["id"] = record_id
        for name in ("label", "verdict"):
            if data[name] is None:
                continue
            try:
                data[name] = spec.output.coerce(data[name])
            except LabelError as exc:
                raise fail(exc.reason, name, LabelError) from None
        if require_label and data["label"] is None:
            raise fail("missing label", "label")
        if isinstance(spec.output, Pairwise):
            try:
                pairwise_responses(data["outputs"])
            except InputError as exc:
                raise fail(exc.reason, "outputs") from None
        if data["annotator"] is not None:
            data["annotator"] = str(data["annotator"])
        if data["feedback"] is not None:
            data["feedback"] = str(data["feedback"])
        try:
            record = Feedback.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise fail(first["msg"], str(first["loc"][0]) if first["loc"] else "record") from None
        rows.append(Row(line, record))
    if not rows:
        raise InputError("no records in file", file=str(path))
    return rows
