"""Export a judge's whole memory to JSONL and import it into another store.

Vectors travel as float32 values written as JSON floats (exact round trip), so an imported
judge retrieves exactly what the original did without re-embedding anything.
"""

from __future__ import annotations

import json
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


def _floats(vector: Vector) -> list[float]:
    return [float(x) for x in np.asarray(vector, dtype=np.float32).ravel()]


def export_judge(store: MemoryStore, name: str, path: Path, *, tenant: str = DEFAULT_TENANT) -> int:
    """Write the judge to ``path``; returns the number of lines written."""
    row = store.get_judge(name, tenant=tenant)
    lines: list[dict[str, Any]] = [
        {
            "type": "judge",
            "format": FORMAT,
            "memory_version": row.version,
            "spec": row.spec.to_dict(),
        }
    ]
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
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return len(lines)


# The keys each kind of line may have: anything else means the file is not what it claims.
_KEYS = {
    "judge": {"type", "format", "memory_version", "spec"},
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
    return np.asarray(data, dtype=np.float32)


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
    changes = ChangeSet(operation="import")
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
            elif kind == "record":
                changes.upsert_records.append(Feedback.model_validate(line["record"]))
            elif kind == "guideline":
                changes.upsert_guidelines.append(
                    (Guideline.model_validate(line["guideline"]), _vector(line.get("vector")))
                )
            elif kind == "example":
                changes.upsert_examples.append(
                    (Example.model_validate(line["example"]), _vector(line["vector"]))  # type: ignore[arg-type]
                )
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
    if name is not None:
        spec = JudgeSpec.from_dict({**spec.to_dict(), "name": name})
    changes.summary = {
        "records": len(changes.upsert_records),
        "guidelines": len(changes.upsert_guidelines),
        "examples": len(changes.upsert_examples),
    }
    row = store.create_judge(spec, tenant=tenant)
    try:
        store.commit(row.judge_id, changes)
    except Exception:
        store.delete_judge(spec.name, tenant=tenant)
        raise
    return store.get_judge(spec.name, tenant=tenant)
