"""How cases, guidelines and examples are written into prompts and embedding keys."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from typing import Any

from memalign.errors import InputError
from memalign.judge_spec import CASE_FIELDS, JudgeSpec, Pairwise
from memalign.records import Case, Example, Guideline

_PAIR_KEYS = (
    ("A", "B"),
    ("a", "b"),
    ("response_a", "response_b"),
    ("response a", "response b"),
    ("response 1", "response 2"),
    ("response_1", "response_2"),
    ("1", "2"),
)


def estimate_tokens(text: str) -> int:
    """A provider-free estimate (≈4 characters per token) for budgeting prompts."""
    return max(1, len(text) // 4)


def field_text(value: Any, limit: int | None = None) -> str:
    """A case field as prompt text: strings as they are, anything else as JSON."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if limit is not None and len(text) > limit:
        return text[:limit] + " …[truncated]"
    return text


def pairwise_responses(outputs: Any) -> tuple[Any, Any]:
    """The two responses of a pairwise case, from a mapping or a two-item list."""
    if isinstance(outputs, dict):
        for key_a, key_b in _PAIR_KEYS:
            if key_a in outputs and key_b in outputs:
                return outputs[key_a], outputs[key_b]
    if isinstance(outputs, list | tuple) and len(outputs) == 2:
        return outputs[0], outputs[1]
    raise InputError(
        'a pairwise case needs two responses: {"A": ..., "B": ...} or a two-item list',
        field="outputs",
    )


def case_fields(case: Case, spec: JudgeSpec) -> list[tuple[str, Any]]:
    wanted = spec.placeholders or CASE_FIELDS
    fields: list[tuple[str, Any]] = []
    for name in CASE_FIELDS:
        value = getattr(case, name)
        if name not in wanted or value is None:
            continue
        if name == "outputs" and isinstance(spec.output, Pairwise):
            first, second = pairwise_responses(value)
            fields += [("response_a", first), ("response_b", second)]
        else:
            fields.append((name, value))
    return fields


def new_boundary(*texts: str) -> str:
    """A tag name no one can guess (64 random bits), to delimit untrusted data in one prompt:
    text being judged cannot close it early and pass as instructions. Checked against the
    data it will delimit, in case the impossible happens."""
    while True:
        boundary = f"data-{secrets.token_hex(8)}"
        if not any(boundary in text for text in texts):
            return boundary


def render_case(
    case: Case, spec: JudgeSpec, *, limit: int | None = None, boundary: str = "case"
) -> str:
    parts = [
        f"<{name}>\n{field_text(value, limit)}\n</{name}>"
        for name, value in case_fields(case, spec)
    ]
    return f"<{boundary}>\n" + "\n".join(parts) + f"\n</{boundary}>"


def example_key(case: Case, spec: JudgeSpec) -> str:
    """The text embedded for similarity search (``MemoryConfig.example_key``)."""
    key = spec.memory.example_key
    parts = []
    for name, value in case_fields(case, spec):
        is_output = name in ("outputs", "response_a", "response_b")
        if (key == "inputs" and is_output) or (key == "outputs" and not is_output):
            continue
        if name == "expectations":
            continue
        parts.append(f"{name}: {field_text(value, 4000)}")
    return "\n".join(parts) or render_case(case, spec, limit=4000)


def render_guidelines(guidelines: Sequence[Guideline]) -> str:
    return "\n".join(f"[{g.id}] {g.text}" for g in guidelines)


def render_examples(
    examples: Sequence[Example], limit: int | None = None, boundary: str = "case"
) -> str:
    blocks = []
    for number, example in enumerate(examples, start=1):
        lines = [
            f"Example {number} [{example.record_id}]:",
            f"<{boundary}>\n{field_text(example.case_text, limit)}\n</{boundary}>",
        ]
        if example.label is not None:
            lines.append(f"Expert label: {example.label}")
        if example.feedback:
            lines.append(f"Expert feedback: {example.feedback}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
