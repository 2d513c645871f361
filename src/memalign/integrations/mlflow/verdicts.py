"""memalign verdicts → MLflow ``Feedback`` (what a scorer returns, and what is logged on traces).

A verdict names the memory it used. MLflow assessment metadata holds strings only, so the ids
travel as comma-separated lists under ``memalign.*`` keys, and the rationale ends with one line
naming them, so a reader of the MLflow UI sees which guidelines and examples the judge applied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mlflow.entities import AssessmentError, AssessmentSource, AssessmentSourceType, Feedback
from mlflow.exceptions import MlflowException

from memalign.integrations.mlflow.traces import trace_of
from memalign.integrations.mlflow.values import ValueMap
from memalign.records import Verdict

ERROR_CODE = "MEMALIGN_VERDICT_ERROR"


def source_for(model: str) -> AssessmentSource:
    return AssessmentSource(
        source_type=AssessmentSourceType.LLM_JUDGE, source_id=f"memalign:{model}"
    )


def check_ids(verdict: Verdict) -> list[str]:
    """Guideline ids of the validated checks that fired (verdicts from memalign releases
    without checks have none)."""
    hits = getattr(verdict, "checks", None) or []
    return list(dict.fromkeys(str(hit.guideline_id) for hit in hits))


def memory_line(verdict: Verdict) -> str:
    guidelines = ", ".join(verdict.guideline_ids) or "none"
    examples = ", ".join(verdict.example_ids) or "none"
    checks = check_ids(verdict)
    fired = f"; checks fired {', '.join(checks)}" if checks else ""
    return (
        f"[memalign memory v{verdict.memory_version}: guidelines {guidelines}; "
        f"examples {examples}{fired}]"
    )


def metadata_for(verdict: Verdict) -> dict[str, str]:
    data = {
        "memalign.memory_version": str(verdict.memory_version),
        "memalign.guideline_ids": ",".join(verdict.guideline_ids),
        "memalign.example_ids": ",".join(verdict.example_ids),
    }
    if checks := check_ids(verdict):
        data["memalign.check_ids"] = ",".join(checks)
    if verdict.decision:
        data["memalign.decision"] = verdict.decision
    if verdict.probabilities:
        data["memalign.probabilities"] = ",".join(
            f"{label}={p:.4f}" for label, p in verdict.probabilities.items()
        )
    return data


def to_feedback(name: str, verdict: Verdict, values: ValueMap, model: str) -> Feedback:
    """An MLflow ``Feedback``: the value in MLflow's type, or an error (never a default value)."""
    source = source_for(model)
    if not verdict.ok:
        return Feedback(
            name=name,
            error=AssessmentError(error_code=ERROR_CODE, error_message=verdict.error),
            source=source,
            metadata=metadata_for(verdict),
        )
    rationale = verdict.rationale.strip()
    return Feedback(
        name=name,
        value=values.to_mlflow(verdict.value),
        rationale=f"{rationale}\n\n{memory_line(verdict)}" if rationale else memory_line(verdict),
        source=source,
        metadata=metadata_for(verdict),
    )


@dataclass
class VerdictsLogged:
    logged: int = 0
    # Record ids whose verdict MLflow refused (no such trace, server unreachable…), each with
    # MLflow's reason.
    failed: dict[str, str] = field(default_factory=dict)


def log_verdicts(
    name: str, verdicts: Iterable[tuple[str, Verdict]], values: ValueMap, model: str
) -> VerdictsLogged:
    """Log each ``(record_id, verdict)`` on the trace the record came from as an LLM-judge
    assessment. A verdict MLflow refuses is named in the result, not raised: the others are
    logged all the same, and the caller reports what failed."""
    import mlflow

    result = VerdictsLogged()
    for record_id, verdict in verdicts:
        try:
            mlflow.log_assessment(
                trace_id=trace_of(record_id), assessment=to_feedback(name, verdict, values, model)
            )
        except MlflowException as exc:
            result.failed[record_id] = exc.message
        else:
            result.logged += 1
    return result
