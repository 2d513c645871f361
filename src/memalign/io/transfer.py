"""Export a judge's whole memory to JSONL and import it into another store.

Vectors travel as float32 values written as JSON floats (exact round trip), so an imported
judge retrieves exactly what the original did without re-embedding anything.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from memalign.errors import InputError, SpecError
from memalign.io.feedback import json_lines
from memalign.judge_spec import JudgeSpec
from memalign.memory import Vector
from memalign.records import Example, Feedback, Guideline
from memalign.stores import DEFAULT_TENANT, ChangeSet, JudgeRow, MemoryStore

FORMAT = "memalign.memory/1"
# The header counts these lines (files written before the counts were added have none).
_COUNTED = ("record", "guideline", "example")
_ABSENT = object()  # a header without counts, as written before them; a null is malformed


def _floats(vector: Vector) -> list[float]:
    return [float(x) for x in np.asarray(vector, dtype=np.float32).ravel()]


def export_judge(store: MemoryStore, name: str, path: Path, *, tenant: str = DEFAULT_TENANT) -> int:
    """Write the judge to ``path``; returns the number of lines written."""
    if not path.parent.is_dir():
        raise InputError(
            f"folder {str(path.parent)!r} does not exist", file=str(path), field="file"
        )
    if path.is_dir():
        raise InputError(
            "is a directory; the export is written to a file", file=str(path), field="file"
        )
    row = store.get_judge(name, tenant=tenant)
    header: dict[str, Any] = {
        "type": "judge",
        "format": FORMAT,
        "memory_version": row.version,
        "spec": row.spec.to_dict(),
    }
    lines: list[dict[str, Any]] = [header]
    lines += [
        {"type": "record", "record": r.model_dump(mode="json")}
        for r in store.get_records(row.judge_id)
    ]
    for guideline, vector in store.guidelines(row.judge_id):
        lines.append(
            {
                "type": "guideline",
                "guideline": guideline.model_dump(mode="json"),
                "vector": None if vector is None else _floats(vector),
            }
        )
    examples, matrix = store.examples(row.judge_id)
    for example, vector in zip(examples, matrix, strict=True):
        lines.append(
            {
                "type": "example",
                "example": example.model_dump(mode="json"),
                "vector": _floats(vector),
            }
        )
    # What the file holds, so an import can tell a file cut short from a small memory.
    held = Counter(line["type"] for line in lines)
    header["counts"] = {kind: held[kind] for kind in _COUNTED}
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return len(lines)


# The keys each kind of line may have: anything else means the file is not what it claims.
_KEYS = {
    "judge": {"type", "format", "memory_version", "spec", "counts"},
    "record": {"type", "record"},
    "guideline": {"type", "guideline", "vector"},
    "example": {"type", "example", "vector"},
}


def _vector(data: Any) -> Vector | None:
    if data is None:
        return None
    if (
        not isinstance(data, list)
        or not data
        or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in data)
    ):
        raise InputError("must be a non-empty list of numbers", field="vector")
    vector = np.asarray(data, dtype=np.float32)
    if not np.all(np.isfinite(vector)):
        raise InputError("must hold finite numbers only", field="vector")
    return vector


def _first(lines: dict[tuple[str, str], int], kind: str, key: str, number: int, field: str) -> None:
    if (kind, key) in lines:
        raise InputError(
            f"duplicate {kind} {key!r} (first on line {lines[kind, key]})", field=field
        )
    lines[kind, key] = number


def _held(changes: ChangeSet) -> dict[str, int]:
    """How many lines of each counted kind the file held."""
    return {
        "record": len(changes.upsert_records),
        "guideline": len(changes.upsert_guidelines),
        "example": len(changes.upsert_examples),
    }


def _check_complete(counts: Any, found: dict[str, int], file: str) -> None:
    """A file that holds fewer (or more) lines than its header counts was cut short or
    edited: refused, where it would otherwise import as a judge missing part of its memory."""
    if counts is _ABSENT:
        return
    if (
        not isinstance(counts, dict)
        or set(counts) != set(_COUNTED)
        or any(isinstance(n, bool) or not isinstance(n, int) for n in counts.values())
    ):
        raise InputError(
            f"counts must give a whole number for each of {', '.join(_COUNTED)}",
            file=file,
            line=1,
            field="counts",
        )
    for kind in _COUNTED:
        if counts[kind] != found[kind]:
            raise InputError(
                f"the header counts {counts[kind]} {kind} line(s), the file holds {found[kind]}: "
                "it was cut short or edited; export the judge again",
                file=file,
                line=1,
                field="counts",
            )


def _check_consistent(changes: ChangeSet, lines: dict[tuple[str, str], int], file: str) -> None:
    """What a store would refuse, or would accept and then break on, refused here, before
    anything is written: every example and citation names a record in the file, and every
    vector has the same dimension (one embedder made them all)."""
    records = {r.id for r in changes.upsert_records}
    for example, _ in changes.upsert_examples:
        if example.record_id not in records:
            raise InputError(
                f"example of record {example.record_id!r}, which is not in the file",
                file=file,
                line=lines["example", example.record_id],
                field="example.record_id",
            )
    for guideline, _ in changes.upsert_guidelines:
        unknown = [s for s in guideline.sources if s not in records]
        if unknown:
            raise InputError(
                f"guideline cites {unknown[0]!r}, which is not a record in the file",
                file=file,
                line=lines["guideline", guideline.id],
                field="guideline.sources",
            )
    vectors = [("example", e.record_id, v) for e, v in changes.upsert_examples] + [
        ("guideline", g.id, v) for g, v in changes.upsert_guidelines if v is not None
    ]
    if vectors:
        dims = Counter(v.shape[0] for _, _, v in vectors)
        usual = dims.most_common(1)[0][0]
        for kind, key, vector in vectors:
            if vector.shape[0] != usual:
                raise InputError(
                    f"vector has {vector.shape[0]} dimensions where the others have {usual}",
                    file=file,
                    line=lines[kind, key],
                    field="vector",
                )


def import_judge(
    store: MemoryStore,
    path: Path,
    *,
    name: str | None = None,
    tenant: str = DEFAULT_TENANT,
) -> JudgeRow:
    """Create a judge from an export. The file is read and checked in full before anything is
    written, and the memory lands in one transaction."""
    spec: JudgeSpec | None = None
    counts: Any = _ABSENT
    changes = ChangeSet(operation="import")
    lines: dict[tuple[str, str], int] = {}  # (kind, id) → line, for located consistency errors
    for number, line in json_lines(path):
        try:
            kind = line.get("type") if isinstance(line, dict) else None
            unknown = sorted(set(line) - _KEYS[kind]) if kind in _KEYS else []
            if unknown:
                raise InputError(f"unknown field in a {kind} line", field=unknown[0])
            if number == 1 or spec is None:
                if kind != "judge" or line.get("format") != FORMAT:
                    raise InputError(f"first line must be a {FORMAT} judge header", field="type")
                spec = JudgeSpec.from_dict(line["spec"])
                counts = line.get("counts", _ABSENT)
            elif kind == "record":
                record = Feedback.model_validate(line["record"])
                _first(lines, "record", record.id, number, "record.id")
                changes.upsert_records.append(record)
            elif kind == "guideline":
                guideline = Guideline.model_validate(line["guideline"])
                _first(lines, "guideline", guideline.id, number, "guideline.id")
                changes.upsert_guidelines.append((guideline, _vector(line.get("vector"))))
            elif kind == "example":
                example = Example.model_validate(line["example"])
                _first(lines, "example", example.record_id, number, "example.record_id")
                changes.upsert_examples.append((example, _vector(line["vector"])))  # type: ignore[arg-type]
            else:
                raise InputError(f"unknown line type {kind!r}", field="type")
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise InputError(first["msg"], file=str(path), line=number, field=field) from None
        except (KeyError, TypeError, SpecError) as exc:
            raise InputError(f"malformed line: {exc}", file=str(path), line=number) from None
        except InputError as exc:
            raise exc.located(file=str(path), line=number) from None
    if spec is None:
        raise InputError("empty export file", file=str(path))
    found = _held(changes)
    _check_complete(counts, found, str(path))
    _check_consistent(changes, lines, str(path))
    if name is not None:
        spec = JudgeSpec.from_dict({**spec.to_dict(), "name": name})
    changes.summary = {f"{kind}s": n for kind, n in found.items()}
    row = store.create_judge(spec, tenant=tenant)
    try:
        store.commit(row.judge_id, changes)
    except Exception:
        store.delete_judge(spec.name, tenant=tenant)
        raise
    return store.get_judge(spec.name, tenant=tenant)
