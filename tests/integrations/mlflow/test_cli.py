"""``memalign mlflow import`` and ``memalign run --to-mlflow`` against a real MLflow store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from memalign.cli import app

from .conftest import CASES, INSTRUCTIONS, Tracking

mlflow = pytest.importorskip("mlflow")

Invoke = Callable[..., Result]


@pytest.fixture
def cli(tracking: Tracking) -> Invoke:
    store = str(tracking.root / "cli.db")
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, [*args, "--store", store])

    result = invoke(
        "judge",
        "create",
        "support_reply",
        "--output",
        "binary",
        "--instructions",
        INSTRUCTIONS,
        "--model",
        "fake",
    )
    assert result.exit_code == 0, result.output
    return invoke


def _import(cli: Invoke, tracking: Tracking) -> dict[str, Any]:
    result = cli(
        "mlflow",
        "import",
        "support_reply",
        "--experiment",
        "support",
        "--tracking-uri",
        tracking.uri,
        "--json",
    )
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_import_is_incremental(cli: Invoke, tracking: Tracking) -> None:
    ids = tracking.labelled()
    tracking.trace("unlabelled question", "reply")
    first = _import(cli, tracking)
    assert (first["traces"], first["traces_with_feedback"], first["records"]) == (5, 4, 4)
    assert first["alignment"]["records_added"] == 4

    again = _import(cli, tracking)
    assert again["alignment"]["records_unchanged"] == 4
    assert again["alignment"]["records_added"] == 0
    assert again["alignment"]["usage"]["llm_calls"] == 0

    # An expert deletes their assessment: the next import forgets that record and its traces.
    for assessment in tracking.get(ids[2]).info.assessments:
        mlflow.delete_assessment(trace_id=ids[2], assessment_id=assessment.assessment_id)
    third = _import(cli, tracking)
    assert third["forgotten"] == [ids[2]]
    memory = json.loads(cli("memory", "support_reply", "--json").stdout)
    assert CASES[2][3] not in json.dumps(memory)


def test_unknown_experiment_is_a_usage_error(cli: Invoke, tracking: Tracking) -> None:
    result = cli(
        "mlflow", "import", "support_reply", "--experiment", "nope", "--tracking-uri", tracking.uri
    )
    assert result.exit_code == 2
    assert "nope" in result.stderr


def test_run_to_mlflow_logs_verdicts_on_the_traces(
    cli: Invoke, tracking: Tracking, tmp_path: Path
) -> None:
    ids = tracking.labelled()
    _import(cli, tracking)
    new = tracking.trace("Is my refund done?", "Sorry! Ticket #7: refunded today.")
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        json.dumps({"id": new, "inputs": {"question": "Is my refund done?"}, "outputs": "ok"})
        + "\n"
    )
    result = cli("run", "support_reply", str(cases), "--to-mlflow", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["logged_to_mlflow"] == 1
    logged = [
        a
        for a in tracking.get(new).info.assessments
        if a.source.source_type == "LLM_JUDGE" and a.name == "support_reply"
    ]
    assert len(logged) == 1
    assessment = logged[0]
    assert assessment.feedback.value in ("yes", "no")
    example_ids = assessment.metadata["memalign.example_ids"].split(",")
    assert example_ids and set(example_ids) <= set(ids)
    # The judge's own verdicts are never read back as expert labels.
    again = _import(cli, tracking)
    assert again["records"] == 4


@pytest.mark.parametrize("bad", ["nosuchscheme://nowhere", "http://127.0.0.1:9"])
def test_an_unusable_tracking_uri_is_a_store_error_naming_it(
    cli: Invoke, tracking: Tracking, monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    # Port 9 (discard) has no server; MLflow would otherwise retry for minutes.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    result = cli(
        "mlflow", "import", "support_reply", "--experiment", "support", "--tracking-uri", bad
    )
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.stderr
    assert bad in result.stderr


def test_run_to_mlflow_reports_ids_mlflow_refuses(
    cli: Invoke, tracking: Tracking, tmp_path: Path
) -> None:
    tracking.labelled()
    _import(cli, tracking)
    new = tracking.trace("Is my refund done?", "Sorry! Ticket #7: refunded today.")
    cases = tmp_path / "cases.jsonl"
    rows = [
        {"id": "not-a-trace", "inputs": {"question": "Where?"}, "outputs": "ok"},
        # A second annotator's record id names its trace before the separator.
        {"id": f"{new}@bob@example.com", "inputs": {"question": "Done?"}, "outputs": "ok"},
    ]
    cases.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = cli("run", "support_reply", str(cases), "--to-mlflow", "--json")
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output
    summary = json.loads(result.stdout)
    assert summary["logged_to_mlflow"] == 1
    assert summary["mlflow_failed_ids"] == ["not-a-trace"]
    assert "not-a-trace" in result.stderr
    logged = [a for a in tracking.get(new).info.assessments if a.source.source_type == "LLM_JUDGE"]
    assert len(logged) == 1
