"""An MLflow experiment's expert assessments → a memalign judge (``memalign mlflow import``),
and verdicts back onto its traces (``memalign run --to-mlflow``).

Importing is incremental because aligning is: a record whose content did not change since the
last import costs nothing, an edited assessment replaces its record (and what was derived from
it), and a trace whose assessments were all deleted is forgotten with the full cascade.
"""

from __future__ import annotations

from collections.abc import Iterable

import mlflow
from mlflow.exceptions import MlflowException
from pydantic import BaseModel, Field

from memalign.errors import NotFoundError, StoreError
from memalign.integrations.mlflow.traces import records_from_traces, retracted
from memalign.integrations.mlflow.values import ValueMap
from memalign.integrations.mlflow.verdicts import VerdictsLogged, log_verdicts
from memalign.judge import Judge
from memalign.records import AlignmentReport, Verdict


class ImportReport(BaseModel):
    judge: str
    experiment_id: str
    traces: int
    traces_with_feedback: int
    records: int
    forgotten: list[str] = Field(default_factory=list)
    alignment: AlignmentReport | None = None


def use_tracking_uri(tracking_uri: str | None) -> None:
    """Point MLflow at a tracking server or store (default: ``MLFLOW_TRACKING_URI``)."""
    if tracking_uri:
        try:
            mlflow.set_tracking_uri(tracking_uri)
        except MlflowException as exc:
            raise _unreadable("cannot use this tracking URI", exc, tracking_uri) from None


def _unreadable(what: str, exc: MlflowException, uri: str | None = None) -> StoreError:
    # The CLI shows anything but a MemalignError as an internal error, which a bad tracking URI
    # or an unreachable server is not.
    return StoreError(f"{what}: {exc.message}", location=uri or _tracking_uri())


def _tracking_uri() -> str:
    try:
        return str(mlflow.get_tracking_uri())
    except MlflowException:
        return "MLflow tracking"


def experiment_id(experiment: str) -> str:
    """The id of an experiment given by name or id."""
    try:
        found = mlflow.get_experiment_by_name(experiment)
    except MlflowException as exc:
        raise _unreadable(f"cannot look up MLflow experiment {experiment!r}", exc) from None
    if found is not None:
        return str(found.experiment_id)
    try:
        return str(mlflow.get_experiment(experiment).experiment_id)
    except MlflowException:
        raise NotFoundError("MLflow experiment", experiment, location=_tracking_uri()) from None


def import_experiment(
    judge: Judge,
    experiment: str,
    *,
    assessment_name: str | None = None,
    max_traces: int | None = None,
    detect_disagreements: bool | None = None,
) -> ImportReport:
    """Align ``judge`` on the HUMAN assessments named like it (or ``assessment_name``) found on
    the traces of ``experiment``."""
    exp_id = experiment_id(experiment)
    try:
        traces = mlflow.search_traces(
            locations=[exp_id], max_results=max_traces, return_type="list"
        )
    except MlflowException as exc:
        raise _unreadable(f"cannot read the traces of experiment {experiment!r}", exc) from None
    values = ValueMap(judge.spec.output)
    records, unlabelled = records_from_traces(traces, assessment_name or judge.name, values)
    stale = retracted(judge.store.record_hashes(judge.judge_id), traces, records)
    if stale:
        judge.forget(stale)
    report = judge.align(records, detect_disagreements=detect_disagreements) if records else None
    return ImportReport(
        judge=judge.name,
        experiment_id=exp_id,
        traces=len(traces),
        traces_with_feedback=len(traces) - len(unlabelled),
        records=len(records),
        forgotten=stale,
        alignment=report,
    )


def log_run_verdicts(
    judge: Judge, verdicts: Iterable[tuple[str, Verdict]], model: str
) -> VerdictsLogged:
    """Log good verdicts on the traces their record ids name as LLM-judge assessments.

    Values are logged as the judge's labels (``"yes"``/``"no"``, not ``bool``): a judge made or
    imported in memalign does not know what value type an MLflow judge of the same name has."""
    good = [(record_id, v) for record_id, v in verdicts if v.ok]
    return log_verdicts(judge.name, good, ValueMap(judge.spec.output), model)
