"""A memalign judge spec as a DSPy program, with the metric and optimisers it is tuned by.

The program is one ``dspy.Predict`` over the same case fields memalign renders, asked for the
same typed value (a label, a score or A/B/tie) without a rationale, as memalign's scored
verdicts are read without one: the baselines get the cheapest program that answers the task.
Expert feedback reaches the optimisers that can read it (GEPA's metric feedback), so both
sides learn from the same signal.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from memalign.errors import DependencyError
from memalign.judge_spec import FloatScore, JudgeSpec, OutputType, Scale, Value
from memalign.prompts.rendering import case_fields, field_text
from memalign.records import Feedback

Method = Literal["mipro", "gepa", "simba"]
METHODS: tuple[Method, ...] = ("mipro", "gepa", "simba")
OUTPUT_FIELD = "verdict"


def load_dspy() -> Any:
    # LiteLLM fetches a price map from the network at import unless told to use its own copy.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import dspy
    except ImportError:
        raise DependencyError("dspy", "pip install 'memalign-bench[baselines]'") from None
    # No response may come from a cache: every call is a real call, counted by the meter.
    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)
    return dspy


def _value_type(output: OutputType) -> Any:
    if isinstance(output, Scale):
        return int
    if isinstance(output, FloatScore):
        return float
    literal: Any = Literal  # the choices are only known at run time
    return literal[output.choices]


def signature(spec: JudgeSpec, fields: list[str]) -> Any:
    dspy = load_dspy()
    columns: dict[str, Any] = {name: (str, dspy.InputField()) for name in fields}
    columns[OUTPUT_FIELD] = (
        _value_type(spec.output),
        dspy.OutputField(desc=spec.output.describe()),
    )
    return dspy.make_signature(columns, spec.rendered_instructions(), spec.name)


def case_inputs(record: Feedback, spec: JudgeSpec) -> dict[str, str]:
    return {name: field_text(value) for name, value in case_fields(record.case, spec)}


def examples(records: list[Feedback], spec: JudgeSpec) -> list[Any]:
    dspy = load_dspy()
    out = []
    for record in records:
        inputs = case_inputs(record, spec)
        example = dspy.Example(
            **inputs, **{OUTPUT_FIELD: record.label}, expert_feedback=record.feedback or ""
        )
        out.append(example.with_inputs(*inputs))
    return out


def program(spec: JudgeSpec, fields: list[str]) -> Any:
    return load_dspy().Predict(signature(spec, fields))


def predicted(spec: JudgeSpec, prediction: Any) -> Value | None:
    """The program's answer as the spec's value type; None when it gave no valid value."""
    try:
        return spec.output.coerce(getattr(prediction, OUTPUT_FIELD))
    except Exception:  # a missing field, a wrong type, a value outside the labels
        return None


_VERDICT_TEXT = re.compile('"' + OUTPUT_FIELD + r'"\s*:\s*"?\s*([^"#,}\n]+)')


def lenient(spec: JudgeSpec, raw: str) -> Value | None:
    """The first word of the verdict field in an answer DSPy's adapter rejected.

    Small models often copy the adapter's format note into the value
    (``"pass        # note: ..."``); memalign's own parser reads such an answer, so the
    baselines' test answers are read with the same leniency. Only the test split is read this
    way; the optimisers see DSPy's own parsing.
    """
    found = _VERDICT_TEXT.search(raw)
    if not found:
        return None
    words = found.group(1).split()
    try:
        return spec.output.coerce(words[0]) if words else None
    except Exception:
        return None


def agreement(output: OutputType, got: Value | None, want: Value | None) -> float:
    """Per-item credit the optimisers maximise: exact match, or closeness on a numeric scale."""
    if got is None or want is None:
        return 0.0
    if isinstance(output, Scale | FloatScore):
        low = output.low if output.low is not None else 0.0
        high = output.high if output.high is not None else 1.0
        span = float(high - low) or 1.0
        return max(0.0, 1.0 - abs(float(got) - float(want)) / span)
    return 1.0 if got == want else 0.0


def metric(spec: JudgeSpec) -> Callable[..., Any]:
    """DSPy's metric contract; GEPA also receives the expert's words as feedback."""
    dspy = load_dspy()

    def score(
        gold: Any, pred: Any, trace: Any = None, pred_name: Any = None, pred_trace: Any = None
    ) -> Any:
        got = predicted(spec, pred)
        credit = agreement(spec.output, got, getattr(gold, OUTPUT_FIELD))
        if pred_name is None and pred_trace is None:
            return credit
        words = f"The expert's answer is {getattr(gold, OUTPUT_FIELD)!s}; the judge said {got!s}."
        if gold.expert_feedback:
            words += f" The expert explained: {gold.expert_feedback}"
        return dspy.Prediction(score=credit, feedback=words)

    return score


@dataclass(frozen=True)
class OptimiserSettings:
    """How each optimiser is run, recorded with the results."""

    method: Method
    threads: int
    seed: int = 0

    def describe(self, train_size: int) -> dict[str, Any]:
        if self.method == "mipro":
            valset = max(1, int(train_size * 0.8))
            return {"auto": "light", "minibatch_size": min(35, valset), "valset": valset}
        if self.method == "gepa":
            return {"auto": "light", "reflection_lm": "the same model", "valset": "trainset"}
        return {"bsize": min(32, train_size), "note": "SIMBA has no auto; bsize=min(32, n)"}


def compile_program(
    settings: OptimiserSettings,
    spec: JudgeSpec,
    student: Any,
    trainset: list[Any],
    reflection_lm: Any,
) -> Any:
    """Optimise ``student`` on ``trainset`` from scratch (DSPy has no incremental mode)."""
    dspy = load_dspy()
    threads = settings.threads
    if settings.method == "mipro":
        # MIPROv2 holds out 80% of the trainset as its valset; its minibatch may not exceed it.
        valset = max(1, int(len(trainset) * 0.8))
        optimiser = dspy.MIPROv2(
            metric=metric(spec), auto="light", num_threads=threads, seed=settings.seed
        )
        return optimiser.compile(
            student, trainset=trainset, minibatch_size=min(35, valset), provide_traceback=True
        )
    if settings.method == "gepa":
        optimiser = dspy.GEPA(
            metric=metric(spec),
            auto="light",
            reflection_lm=reflection_lm,
            num_threads=threads,
            seed=settings.seed,
        )
        return optimiser.compile(student, trainset=trainset, valset=trainset)
    optimiser = dspy.SIMBA(metric=metric(spec), bsize=min(32, len(trainset)), num_threads=threads)
    return optimiser.compile(student, trainset=trainset, seed=settings.seed)
