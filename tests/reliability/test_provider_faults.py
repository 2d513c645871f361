"""A batch run against a provider that fails mid-run: transient faults are retried, records that
still fail are named, and ``--resume`` judges exactly those."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memalign.cli import app

from .fault_server import FaultServer

KINDS = ["ok", "flaky-429", "flaky-500", "flaky-503", "flaky-timeout", "flaky-reset", "dead"]


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("MEMALIGN_TIMEOUT", "0.5")
    monkeypatch.setenv("MEMALIGN_CONFIG", str(tmp_path / "none.toml"))
    store = tmp_path / "m.db"
    code, _, err = _cli(
        "judge",
        "create",
        "policy",
        "--output",
        "labels:Pass,Fail",
        "--instructions",
        "Is it fine?",
        "--embedder",
        "hash",
        "--store",
        str(store),
    )
    assert code == 0, err
    rows = [
        {"id": f"rec{i:02d}", "inputs": "question", "outputs": f"answer {KINDS[i % 7]}-{i}"}
        for i in range(21)
    ]
    data = tmp_path / "cases.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return store, data


def test_faults_are_retried_and_failures_named_then_resumed(
    fault_server: FaultServer, setup: tuple[Path, Path], tmp_path: Path
) -> None:
    store, data = setup
    out = tmp_path / "verdicts.jsonl"
    model = f"{fault_server.url}#fault"
    run = ["run", "policy", str(data), "--model", model, "--store", str(store), "--out", str(out)]
    code, stdout, _ = _cli(*run, "--concurrency", "4", "--json")
    summary = json.loads(stdout)
    dead = sorted(f"rec{i:02d}" for i in range(21) if KINDS[i % 7] == "dead")
    assert code == 1 and summary["errors"] == 3
    assert summary["failed_ids"] == dead  # exactly the records that kept failing
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 21
    assert sorted(x["id"] for x in lines if x["error"]) == dead
    assert all(x["value"] == "Pass" for x in lines if not x["error"])  # flaky ones recovered
    for kind in ("flaky-429", "flaky-500", "flaky-503", "flaky-timeout", "flaky-reset"):
        assert all(
            fault_server.attempts[f"{kind}-{i}"] == 2 for i in range(21) if KINDS[i % 7] == kind
        )

    fault_server.healed = True
    before = sum(fault_server.attempts.values())
    code, stdout, _ = _cli(*run, "--resume", "--json")
    summary = json.loads(stdout)
    assert code == 0 and summary["judged"] == 3 and summary["skipped"] == 18
    assert sum(fault_server.attempts.values()) - before == 3  # only the failed ones were asked
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert sorted(x["id"] for x in lines) == sorted(f"rec{i:02d}" for i in range(21))
    assert not any(x["error"] for x in lines)
