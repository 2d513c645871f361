"""Asking for a verdict: the answer's JSON schema, how to read it, and the ladder that turns
model text into a value — label probabilities when the provider has them, else strict JSON →
extraction → repair (:func:`memalign.prompts.answers.parse_verdict`), else one re-ask that shows
the model its answer and the error."""

from __future__ import annotations

from typing import Any

from memalign import prompts
from memalign.accounting import Meter
from memalign.errors import ParseError
from memalign.judge_spec import FloatScore, Labels, OutputType, Pairwise, Scale
from memalign.judging.decision import normalise, value_from_probs
from memalign.prompts.answers import parse_verdict
from memalign.providers import Completion, CompletionRequest, Message, ModelClient

Answer = tuple[str | int | float, str, dict[str, float] | None]


def answer_format(output: OutputType) -> str:
    if isinstance(output, Labels | Pairwise):
        return " | ".join(f'"{c}"' for c in output.choices)
    return output.describe()


def verdict_schema(output: OutputType, *, rationale: bool = True) -> dict[str, Any]:
    """The verdict's JSON schema; without ``rationale`` a constrained model writes the value at
    once (scoring passes, where the rationale would only cost tokens)."""
    value: dict[str, Any]
    if isinstance(output, Scale):
        # Enums, not minimum/maximum: some grammar converters ignore numeric bounds.
        value = {"type": "integer", "enum": list(range(output.low, output.high + 1))}
    elif isinstance(output, FloatScore):
        value = {"type": "number"}
    else:
        value = {"type": "string", "enum": list(output.choices)}
    if not rationale:
        return {
            "type": "object",
            "properties": {"value": value},
            "required": ["value"],
            "additionalProperties": False,
        }
    return {
        "type": "object",
        "properties": {"rationale": {"type": "string", "maxLength": 400}, "value": value},
        "required": ["rationale", "value"],
        "additionalProperties": False,
    }


def ask_verdict(
    llm: ModelClient,
    output: OutputType,
    messages: tuple[Message, ...],
    meter: Meter,
    *,
    rationale: bool = True,
) -> Answer:
    """(value, rationale, label probabilities or None); ParseError when even the re-ask
    gives nothing readable."""
    request = CompletionRequest(
        messages=messages,
        schema=verdict_schema(output, rationale=rationale),
        choices=output.choices or None,
        purpose="judge",
        rationale=rationale,
        max_tokens=400 if rationale else 40,
    )
    completion = llm.complete(request, meter)
    if completion.choice_probs and output.choices:
        probs = normalise(completion.choice_probs, output.choices)
        try:
            _, why = parse_verdict(completion.text, output)
        except ParseError:
            why = completion.text.strip()[:400]
        return value_from_probs(output, probs), why, probs
    try:
        value, why = parse_verdict(completion.text, output)
        return value, why, None
    except ParseError as first:
        retry = _reask(llm, output, request, completion, first, meter)
        value, why = parse_verdict(retry.text, output)
        return value, why, None


def _reask(
    llm: ModelClient,
    output: OutputType,
    request: CompletionRequest,
    bad: Completion,
    error: ParseError,
    meter: Meter,
) -> Completion:
    """The last rung of the ladder: show the model its answer and the error, once."""
    correction = prompts.template("judge_reask").substitute(
        error=str(error), answer=answer_format(output)
    )
    messages = (
        *request.messages,
        Message("assistant", bad.text[:2000]),
        Message("user", correction.strip()),
    )
    return llm.complete(
        CompletionRequest(
            messages=messages,
            schema=request.schema,
            max_tokens=request.max_tokens,
            purpose="judge",
            metadata={"reask": True},
        ),
        meter,
    )
