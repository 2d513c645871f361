from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from memalign.cli import app

Invoke = Callable[..., Result]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("MEMALIGN_CONFIG", str(tmp_path / "no-config.toml"))
    store = str(tmp_path / "cli.db")
    runner = CliRunner()

    def invoke(*args: str, store_arg: bool = True) -> Result:
        argv = [*args, "--store", store] if store_arg else list(args)
        return runner.invoke(app, argv)

    return invoke


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


FEEDBACK = [
    {
        "id": "r1",
        "inputs": "charged twice",
        "outputs": "Refund in 5 days.",
        "label": "fail",
        "feedback": "Replies must open with an apology.",
        "annotator": "ann",
    },
    {
        "id": "r2",
        "inputs": "late parcel",
        "outputs": "Sorry! Ticket #44 ships today.",
        "label": "Pass",
        "feedback": "Quote the ticket number.",
        "annotator": "bob",
    },
    {
        "id": "r3",
        "inputs": "voucher",
        "outputs": "Unlike CompetitorCo we accept them.",
        "label": "Fail",
        "annotator": "ann",
        "extra_column": "ignored",
    },
]


@pytest.fixture
def judge(cli: Invoke) -> str:
    result = cli(
        "judge",
        "create",
        "support",
        "--output",
        "labels:Pass,Fail",
        "--instructions",
        "Is {{ outputs }} a good reply to {{ inputs }}?",
        "--model",
        "fake",
    )
    assert result.exit_code == 0, result.output
    return "support"
