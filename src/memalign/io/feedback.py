"""Reading feedback and case files (JSONL or CSV) with errors that name file, line and field.

Field names default to ``id, inputs, outputs, expectations, label, feedback, annotator,
verdict, created_at``; ``field_map`` maps those names to a file's own column names. Other
fields are ignored, except near-misses of those names (``lable``), which are refused. A whole
file is read and checked before anything uses it.
"""

from __future__ import annotations

import csv
import difflib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from memalign.errors import InputError, LabelError
from memalign.judge_spec import JudgeSpec, Pairwise
from memalign.prompts.rendering import pairwise_responses
from memalign.records import Feedback

FIELDS = (
    "id",
    "inputs",
    "outputs",
    "expectations",
    "label",
    "feedback",
    "annotator",
    "verdict",
    "created_at",
)


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


# A field larger than this is refused: it is almost always a mistake (a whole log pasted into
# one cell), and it would be copied into every prompt the record is retrieved into.
MAX_FIELD_CHARS = 10_000_000


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) decoded line by line, so a bad byte is reported where it is."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file=str(path)) from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"not valid UTF-8 (byte {exc.start + 1} of the line)",
                    file=str(path),
                    line=number,
                ) from None
            yield number, text.removeprefix("\ufeff") if number == 1 else text


class _RepeatedKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object; a key given twice is refused, not read as its last value."""
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _RepeatedKey(key)
        seen[key] = value
    return seen


def json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) for each non-blank line of a JSONL file."""
    for number, text in numbered_lines(path):
        if not text.strip():
            continue
        try:
            yield number, json.loads(text, object_pairs_hook=_unique_keys)
        except _RepeatedKey as exc:
            raise InputError(
                f"key {exc.key!r} appears twice in one JSON object", file=str(path), line=number
            ) from None
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg}", file=str(path), line=number) from None
        except RecursionError:
            raise InputError(
                "invalid JSON: nested too deeply", file=str(path), line=number
            ) from None


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    numbered = numbered_lines(path)
    current = [0]

    def texts() -> Iterator[str]:
        for number, text in numbered:
            current[0] = number
            yield text

    # The csv module's own cap (131,072) is far below the product's: raise it to one past it,
    # so a cell up to MAX_FIELD_CHARS reads and a larger one is refused by name below. The cap
    # is process-wide: it is put back when the file is read.
    previous = csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS + 1))
    reader = csv.reader(texts(), strict=True)
    header: list[str] | None = None
    try:
        for cells in reader:
            if header is None:
                header = [h.strip() for h in cells]
                # Blank names (a spreadsheet's trailing empty columns) are not read: no clash.
                twice = next((h for i, h in enumerate(header) if h and h in header[:i]), None)
                if twice is not None:
                    raise InputError(
                        "column appears twice in the header", file=str(path), line=1, field=twice
                    )
                continue
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise InputError(
                    f"row has {len(cells)} cells, the header has {len(header)}",
                    file=str(path),
                    line=current[0],
                )
            yield current[0], {k: _cell(v) for k, v in zip(header, cells, strict=True)}
    except _RepeatedKey as exc:  # in a cell holding a JSON object
        raise InputError(
            f"key {exc.key!r} appears twice in one JSON object", file=str(path), line=current[0]
        ) from None
    except csv.Error as exc:
        reason = (
            f"a cell is too large (> {MAX_FIELD_CHARS:,} characters)"
            if "field larger than field limit" in str(exc)
            else f"invalid CSV: {exc}"
        )
        raise InputError(reason, file=str(path), line=current[0]) from None
    finally:
        csv.field_size_limit(previous)


def _raw_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    if path.suffix.lower() == ".csv":
        yield from _csv_rows(path)
        return
    for number, value in json_lines(path):
        if not isinstance(value, dict):
            raise InputError("each line must be a JSON object", file=str(path), line=number)
        yield number, value


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str) else len(json.dumps(value, default=str))


def _cell(value: str | None) -> Any:
    """CSV cells holding JSON objects or arrays (structured inputs/outputs) are decoded."""
    if value is None or value == "":
        return None
    stripped = value.strip()
    if stripped[:1] in "{[":
        try:
            return json.loads(stripped, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError:
            return value
    return value


CASE_FIELDS = ("inputs", "outputs", "expectations")


def _columns(raw: Mapping[str, Any]) -> str:
    names = [str(c) for c in raw][:12]
    return ("columns " + ", ".join(names)) if names else "no columns"


def read_records(
    path: Path,
    spec: JudgeSpec,
    *,
    field_map: Mapping[str, str] | None = None,
    require_label: bool = False,
    require_signal: bool = False,
) -> list[Row]:
    """Every record of the file, checked: ``require_label`` for evaluation, ``require_signal``
    (a label, feedback or both) for alignment."""
    mapping = {name: (field_map or {}).get(name, name) for name in FIELDS}
    known = set(mapping.values())
    rows: list[Row] = []
    seen: dict[str, int] = {}
    for line, raw in _raw_rows(path):

        def fail(message: str, name: str, kind: type[InputError] = InputError) -> InputError:
            return kind(message, file=str(path), line=line, field=mapping.get(name, name))  # noqa: B023

        # First: a mistyped --map would otherwise read as the file's column being the typo.
        for name, column in (field_map or {}).items():
            if column not in raw:
                # An explicit mapping names where a field is: a column that is not there would
                # otherwise store every value of that field as empty.
                raise InputError(
                    f"no column {column!r} (from --map {name}={column}); "
                    f"this line has {_columns(raw)}",
                    file=str(path),
                    line=line,
                    field=column,
                )
        for column in raw:
            if column not in known:
                # A typo of a known field would silently drop that field: say so instead.
                close = difflib.get_close_matches(str(column), sorted(known), n=1, cutoff=0.75)
                if close:
                    raise InputError(
                        f"unknown field (did you mean {close[0]!r}?)",
                        file=str(path),
                        line=line,
                        field=str(column),
                    )
        data = {name: raw.get(column) for name, column in mapping.items()}
        if all(data[name] is None for name in CASE_FIELDS):
            # Nothing to judge: most often the file names its columns otherwise.
            wanted = ", ".join(mapping[name] for name in CASE_FIELDS)
            raise InputError(
                f"no case: none of {wanted} is set; this line has {_columns(raw)} "
                "(map yours with --map inputs=COLUMN --map outputs=COLUMN)",
                file=str(path),
                line=line,
                field=mapping["outputs"],
            )
        for name, value in data.items():
            if value is not None and _size(value) > MAX_FIELD_CHARS:
                raise fail(f"too large ({_size(value):,} > {MAX_FIELD_CHARS:,} characters)", name)
        record_id = data["id"]
        if isinstance(record_id, bool) or not isinstance(record_id, str | int | type(None)):
            raise fail("id must be a string or an integer", "id")
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
        for name in ("annotator", "feedback"):
            if data[name] is not None and not isinstance(data[name], str | int | float):
                raise fail("must be text", name)
            if data[name] is not None:
                data[name] = str(data[name])
        if require_signal and data["label"] is None and not (data["feedback"] or "").strip():
            raise fail("needs a label, feedback or both", "label")
        if isinstance(spec.output, Pairwise):
            try:
                pairwise_responses(data["outputs"])
            except InputError as exc:
                raise fail(exc.reason, "outputs") from None
        try:
            record = Feedback.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise fail(
                first["msg"].removeprefix("Value error, "),
                str(first["loc"][0]) if first["loc"] else "record",
            ) from None
        rows.append(Row(line, record))
    if not rows:
        raise InputError("no records in file", file=str(path))
    return rows
