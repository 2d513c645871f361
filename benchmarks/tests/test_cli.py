"""``memalign-bench``: its three commands end to end on the fake model, with the product CLI's
conventions (``--json``, exit code 2 with one line on bad input)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from judge_server import serve
from memalign_bench.cli import app
from test_curves import DATA, needs_data

Invoke = Callable[..., Result]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("MEMALIGN_CONFIG", str(tmp_path / "no-config.toml"))
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return invoke


def _json(output: str) -> Any:
    return json.loads(output)


@needs_data
def test_curves_runs_a_small_curve_and_refuses_unknown_dataset(cli: Invoke, tmp_path: Path) -> None:

    args = [
        "curves",
        "code_review_python",
        "--data",
        str(DATA),
        "--out",
        str(tmp_path / "b"),
        "--model",
        "fake",
        "--seeds",
        "0",
        "--shards",
        "0,2",
        "--test-limit",
        "4",
    ]
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    assert set(_json(result.output)["steps"]) == {"0:0", "0:2"}
    assert (tmp_path / "b" / "code_review_python__fake__signal-both__memory-both.png").exists()
    unknown = cli("curves", "nope", "--data", str(DATA), "--out", str(tmp_path))
    assert unknown.exit_code == 2 and "unknown dataset" in unknown.stderr


@needs_data
def test_baselines_command_writes_results_report_and_plot(cli: Invoke, tmp_path: Path) -> None:

    out = tmp_path / "baselines"
    with serve() as server:
        args = ["baselines", "code_review_python", "--data", str(DATA), "--out", str(out)]
        result = cli(
            *args,
            *("--model", f"{server.url}/v1#fake", "--methods", "memalign"),
            *("--shards", "0,2", "--test-limit", "3", "--json"),
        )
        assert result.exit_code == 0, result.output
        assert set(_json(result.output)["steps"]) == {"memalign:0", "memalign:2"}
        name = "code_review_python__baselines__fake__seed0"
        assert (out / f"{name}.png").exists()
        assert "| 2 | memalign | done |" in (out / f"{name}.md").read_text()
        bad = cli(*args, "--methods", "memalign,copro")
        assert bad.exit_code == 2 and "copro" in bad.stderr
        local_only = cli(*args, "--model", "openai/gpt-4.1-mini")
        assert local_only.exit_code == 2 and "URL#model" in local_only.stderr


@needs_data
def test_ablations_command_lines_up_curve_runs(cli: Invoke, tmp_path: Path) -> None:

    out = tmp_path / "b"
    base = ["curves", "code_review_python", "--data", str(DATA), "--out", str(out), "--model"]
    small = ["--seeds", "0", "--shards", "0,2", "--test-limit", "4"]
    for extra in ([], ["--memory", "episodic"]):
        assert cli(*base, "fake", *small, *extra).exit_code == 0
    result = cli(
        "ablations",
        "code_review_python",
        "--out",
        str(out),
        "--model",
        "fake",
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = _json(result.output)
    assert summary["memory"]["episodic"].endswith("memory-episodic")
    assert summary["memory"]["semantic"] == "not run"
    assert (out / "code_review_python__ablations.png").exists()
    missing = cli(
        "ablations",
        "code_review_python",
        "--out",
        str(out),
        "--model",
        "other",
    )
    assert missing.exit_code == 2 and "--model" in missing.stderr
