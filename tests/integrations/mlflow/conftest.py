"""A real MLflow tracking store (SQLite in a temporary folder), traces made with its tracing
API and expert labels logged with its assessment API. No mocks: what MLflow stores is read back
through MLflow."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Before MLflow reads them: no telemetry, and traces written as they end (the async queue costs
# ~2 s per flush on a small machine).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
# MLflow imports LiteLLM, which otherwise fetches a price list from GitHub (no network here).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
mlflow = pytest.importorskip("mlflow")

from mlflow.entities import AssessmentSource, AssessmentSourceType, Trace  # noqa: E402

INSTRUCTIONS = "Does the reply in {{ outputs }} follow our support policy for {{ inputs }}?"

# (question, reply, expert value, rationale): what the experts said about each reply.
CASES = [
    ("I was charged twice", "Refund in 5 days.", False, "Replies must open with an apology."),
    ("Where is my parcel?", "Sorry! Ticket #4411 ships today.", True, "Quote the ticket number."),
    ("Can I pay with a voucher?", "Unlike CompetitorCo we do.", False, "Never name competitors."),
    ("My order is late", "Sorry for the delay, ticket #51 ships now.", True, None),
]


@dataclass
class Tracking:
    uri: str
    experiment_id: str
    root: Path

    def trace(self, question: str, reply: Any) -> str:
        """Run a tiny traced app; the trace's inputs are the question, its outputs the reply."""

        @mlflow.trace(name="support_app")
        def support_app(question: str) -> Any:
            return reply

        support_app(question)
        mlflow.flush_trace_async_logging()
        trace_id = mlflow.get_last_active_trace_id()
        assert trace_id is not None
        return str(trace_id)

    def label(
        self,
        trace_id: str,
        value: Any,
        rationale: str | None = None,
        *,
        name: str = "support_reply",
        annotator: str = "ann",
    ) -> str:
        assessment = mlflow.log_feedback(
            trace_id=trace_id,
            name=name,
            value=value,
            rationale=rationale,
            source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id=annotator),
        )
        return str(assessment.assessment_id)

    def get(self, trace_id: str) -> Trace:
        trace = mlflow.get_trace(trace_id)
        assert trace is not None
        return trace

    def labelled(self) -> list[str]:
        ids = []
        for question, reply, value, why in CASES:
            trace_id = self.trace(question, reply)
            self.label(trace_id, value, why)
            ids.append(trace_id)
        return ids


@pytest.fixture(scope="session")
def _template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated MLflow database (creating one costs ~1 s), copied per test."""
    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    mlflow.MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def tracking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _template_db: Path
) -> Iterator[Tracking]:
    monkeypatch.setenv("MEMALIGN_CONFIG", str(tmp_path / "no-config.toml"))
    shutil.copy(_template_db, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    # MLflow writes artifacts (trace payloads) under ./mlruns by default: keep them in tmp_path.
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(uri)
    experiment_id = mlflow.create_experiment("support", artifact_location=str(tmp_path / "art"))
    mlflow.set_experiment(experiment_id=experiment_id)
    yield Tracking(uri, str(experiment_id), tmp_path)


@pytest.fixture
def make_mlflow_judge() -> Any:
    from mlflow.genai.judges import make_judge

    def make(feedback_value_type: Any = bool, instructions: str = INSTRUCTIONS) -> Any:
        return make_judge(
            name="support_reply",
            instructions=instructions,
            feedback_value_type=feedback_value_type,
            model="openai:/gpt-4o-mini",  # never called: memalign scores with its own model
        )

    return make
