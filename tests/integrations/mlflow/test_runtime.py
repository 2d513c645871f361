"""An aligned judge inside MLflow: ``evaluate``, ``register`` and reloading in a fresh process,
and the whole loop through a real ``mlflow server`` on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import CASES, Tracking

mlflow = pytest.importorskip("mlflow")

from memalign.integrations.mlflow import MemalignJudge, MemalignOptimizer  # noqa: E402

RELOAD = """
import json, sys
import mlflow
from mlflow.genai.scorers import get_scorer
from memalign.integrations.mlflow import MemalignJudge

experiment_id, trace_id = sys.argv[1], sys.argv[2]
scorer = get_scorer(name="support_reply", experiment_id=experiment_id)
feedback = scorer(inputs={"question": "Where is my parcel?"}, outputs="Sorry! Ticket #1 ships.")
judge = MemalignJudge.from_scorer(scorer)
judge.unalign([mlflow.get_trace(trace_id)])
print(json.dumps({
    "type": type(scorer).__name__,
    "value": feedback.value,
    "metadata": feedback.metadata,
    "forgotten": judge.last_forget.records_removed,
}))
"""


def _aligned(tracking: Tracking, make_mlflow_judge: Any) -> tuple[MemalignJudge, list[str]]:
    ids = tracking.labelled()
    optimizer = MemalignOptimizer(tracking.root / "memory.db", model="fake")
    judge = make_mlflow_judge().align([tracking.get(i) for i in ids], optimizer=optimizer)
    assert isinstance(judge, MemalignJudge)
    return judge, ids


def test_evaluate_scores_with_memalign(tracking: Tracking, make_mlflow_judge: Any) -> None:
    judge, ids = _aligned(tracking, make_mlflow_judge)
    data = [{"inputs": {"question": q}, "outputs": reply} for q, reply, _, _ in CASES[:2]]
    result = mlflow.genai.evaluate(data=data, scorers=[judge])
    logged = [
        a
        for trace in mlflow.search_traces(run_id=result.run_id, return_type="list")
        for a in trace.info.assessments
        if a.name == "support_reply"
    ]
    assert len(logged) == 2
    for assessment in logged:
        assert assessment.error is None and isinstance(assessment.feedback.value, bool)
        examples = assessment.metadata["memalign.example_ids"].split(",")
        assert set(examples) <= set(ids)


@pytest.mark.slow
def test_register_and_reload_in_a_fresh_process(
    tracking: Tracking, make_mlflow_judge: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MLflow's rule for any custom scorer code outside Databricks (see scorer.py).
    monkeypatch.setenv("MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS", "true")
    judge, ids = _aligned(tracking, make_mlflow_judge)
    judge.register(experiment_id=tracking.experiment_id)
    out = subprocess.run(
        [sys.executable, "-c", RELOAD, tracking.experiment_id, ids[0]],
        capture_output=True,
        text=True,
        env={**os.environ, "MLFLOW_TRACKING_URI": tracking.uri},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    reloaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert isinstance(reloaded["value"], bool)
    assert set(reloaded["metadata"]["memalign.example_ids"].split(",")) <= set(ids)
    assert reloaded["forgotten"] == [ids[0]]
    # The other process's forget is this process's memory too: one store.
    assert ids[0] not in {e.record_id for e in judge.memalign.examples()}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS": "true"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--default-artifact-root",
            str(tmp_path / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start: {process.stderr}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_through_an_mlflow_server(
    server: str, tmp_path: Path, make_mlflow_judge: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMALIGN_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    mlflow.set_tracking_uri(server)
    experiment = mlflow.set_experiment("support-server")
    tracking = Tracking(server, str(experiment.experiment_id), tmp_path)
    judge, ids = _aligned(tracking, make_mlflow_judge)
    assert judge.last_report is not None and judge.last_report.records_added == len(ids)
    feedback = judge(trace=tracking.get(ids[1]))
    assert ids[1] in feedback.metadata["memalign.example_ids"].split(",")
    registered = judge.register(experiment_id=tracking.experiment_id)
    from mlflow.genai.scorers import get_scorer

    reloaded = get_scorer(name=registered.name, experiment_id=tracking.experiment_id)
    again = MemalignJudge.from_scorer(reloaded)
    assert again.binding == judge.binding
    again.unalign([tracking.get(ids[0])])
    assert again.last_forget is not None and again.last_forget.records_removed == [ids[0]]
