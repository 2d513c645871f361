"""MLflow traces with expert assessments → memalign feedback records.

An expert label is a trace assessment whose source type is HUMAN and whose name matches the
judge (ignoring case and surrounding spaces, as MLflow does). Each annotator (the assessment's
``source_id``) counts once, with their newest valid assessment: an expert who changed their mind
is read as their last word, and two experts who disagree stay two records, since both views are
evidence (MLflow's own optimizer keeps only the majority label of a trace).

Record ids are trace ids, so every verdict, guideline source and deletion names the trace it came
from. On a trace labelled by several annotators, the one who labelled it first keeps the bare
trace id and every other gets ``<trace_id>@<annotator>``: an id must not change when a second
expert joins, or re-aligning would forget the first expert's record (and the guidelines resting on
it) only to learn it again under a new name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from mlflow.entities import Assessment, AssessmentSourceType, Trace
from mlflow.genai.utils.trace_utils import (
    extract_expectations_from_trace,
    extract_inputs_from_trace,
    extract_outputs_from_trace,
)

from memalign.errors import InputError, LabelError
from memalign.integrations.mlflow.values import ValueMap
from memalign.records import Feedback

SEPARATOR = "@"


def _same_name(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def expert_assessments(trace: Trace, judge_name: str) -> tuple[list[Assessment], str | None]:
    """The newest valid HUMAN feedback per annotator on ``trace`` for ``judge_name``, and the
    annotator who labelled the trace first (by creation time, then source id), whose record
    keeps the bare trace id."""
    newest: dict[str, Assessment] = {}
    # Each annotator's first assessment, overridden ones included: an expert who edits or
    # withdraws a label keeps the bare id, so the others' ids never change under them.
    first: dict[str, int] = {}
    for assessment in trace.info.assessments or []:
        if (
            assessment.feedback is None
            or assessment.source.source_type != AssessmentSourceType.HUMAN
            or not _same_name(assessment.name, judge_name)
            # Says nothing, so it neither counts nor claims the bare id.
            or _is_empty(assessment)
        ):
            continue
        who = assessment.source.source_id or ""
        created = assessment.create_time_ms or 0
        first[who] = min(first.get(who, created), created)
        # An overridden assessment (valid=False) is history, not the expert's view.
        if assessment.valid is False or assessment.feedback.error is not None:
            continue
        seen = newest.get(who)
        if seen is None or _time(assessment) >= _time(seen):
            newest[who] = assessment
    owner = min(first, key=lambda who: (first[who], who)) if first else None
    return [newest[who] for who in sorted(newest)], owner


def _is_empty(assessment: Assessment) -> bool:
    value = assessment.feedback.value if assessment.feedback is not None else None
    return value is None and not (assessment.rationale or "").strip()


def _time(assessment: Assessment) -> int:
    return assessment.last_update_time_ms or assessment.create_time_ms or 0


def record_id(trace_id: str, annotator: str, first: bool) -> str:
    """The bare trace id for the trace's first annotator, ``trace@annotator`` for the others."""
    if SEPARATOR in trace_id:
        # trace_of() could not find the trace again, so deletions would miss its records.
        raise InputError(
            f"trace id {trace_id!r} contains {SEPARATOR!r}, which memalign uses to name the "
            "annotator in a record id",
            record_id=trace_id,
        )
    return trace_id if first else f"{trace_id}{SEPARATOR}{annotator}"


def trace_of(record_id: str) -> str:
    """The trace a record came from (trace ids never contain the separator; annotators may)."""
    return record_id.partition(SEPARATOR)[0]


def _case(trace: Trace) -> dict[str, Any]:
    # HUMAN only, as MLflow's judges (and so MemalignJudge) read them when scoring: training on
    # expectations a judge never sees when scoring would teach it to rely on them.
    expectations = extract_expectations_from_trace(trace, source_type=AssessmentSourceType.HUMAN)
    return {
        "inputs": extract_inputs_from_trace(trace),
        "outputs": extract_outputs_from_trace(trace),
        "expectations": expectations or None,
    }


def records_from_trace(trace: Trace, judge_name: str, values: ValueMap) -> list[Feedback]:
    """The feedback records ``trace`` holds for ``judge_name`` (none when no expert labelled it).
    Raises :class:`LabelError` naming the record when an expert's value does not fit."""
    assessments, owner = expert_assessments(trace, judge_name)
    if not assessments:
        return []
    case = _case(trace)
    trace_id = trace.info.trace_id
    records = []
    for assessment in assessments:
        annotator = assessment.source.source_id or ""
        rid = record_id(trace_id, annotator, annotator == owner)
        raw = assessment.feedback.value if assessment.feedback is not None else None
        # A rationale without a value is feedback without a label, which memalign keeps.
        label = None
        if raw is not None:
            try:
                label = values.to_memalign(raw)
            except LabelError as exc:
                raise LabelError(exc.reason, field="value", record_id=rid) from None
        created = assessment.create_time_ms
        records.append(
            Feedback(
                id=rid,
                label=label,
                feedback=assessment.rationale,
                annotator=annotator or None,
                created_at=datetime.fromtimestamp(created / 1000, UTC) if created else None,
                **case,
            )
        )
    return records


def records_from_traces(
    traces: Iterable[Trace], judge_name: str, values: ValueMap
) -> tuple[list[Feedback], list[str]]:
    """Records of every trace, and the ids of the traces that hold none."""
    records: list[Feedback] = []
    unlabelled: list[str] = []
    for trace in traces:
        found = records_from_trace(trace, judge_name, values)
        records.extend(found)
        if not found:
            unlabelled.append(trace.info.trace_id)
    return records, unlabelled


def stored_ids_of(stored: Iterable[str], trace_ids: Sequence[str]) -> list[str]:
    """The stored record ids that came from these traces."""
    wanted = set(trace_ids)
    return sorted(rid for rid in stored if trace_of(rid) in wanted)


def retracted(
    stored: Iterable[str], traces: Iterable[Trace], records: Iterable[Feedback]
) -> list[str]:
    """Stored ids these traces gave before but give no more: the experts deleted (or handed to
    other annotators) those assessments, so the records must be forgotten."""
    produced = {r.id for r in records}
    trace_ids = [t.info.trace_id for t in traces]
    return [rid for rid in stored_ids_of(stored, trace_ids) if rid not in produced]
