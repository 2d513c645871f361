"""Every bad input: one clear line naming file, line and field; exit 2; nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import FEEDBACK, Invoke, write_jsonl


def _memory_version(cli: Invoke, judge: str) -> int:
    return int(json.loads(cli("judge", "show", judge, "--json").output)["memory_version"])


GOOD_LINE = '{"id": "a", "outputs": "o", "label": "Pass", "feedback": "x"}\n'


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            GOOD_LINE + '{"id": "b", "outputs": "o", "label": ',
            "bad.jsonl:2",
        ),
        ('{"inputs": "q", "label": "Pass"}\n', "bad.jsonl:1, field 'id'"),
        (
            '{"id": "a", "outputs": "o", "label": "Pass"}\n'
            '{"id": "a", "outputs": "o", "label": "Fail"}\n',
            "bad.jsonl:2, field 'id': duplicate id 'a' (first on line 1)",
        ),
        (
            '{"id": "a", "outputs": "o", "label": "Pass"}\n'
            '{"id": "b", "outputs": "o", "label": "Maybe"}\n',
            "bad.jsonl:2, field 'label'",
        ),
        ("[1, 2]\n", "bad.jsonl:1: each line must be a JSON object"),
        (
            '{"id": "a", "question": "q", "response": "r", "label": "Pass"}\n',
            "bad.jsonl:1, field 'outputs': no case",
        ),
    ],
)
def test_bad_feedback_files(
    cli: Invoke, judge: str, tmp_path: Path, content: str, expected: str
) -> None:
    cli("align", judge, str(write_jsonl(tmp_path / "good.jsonl", FEEDBACK)))
    before = _memory_version(cli, judge)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content)
    result = cli("align", judge, str(bad))
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert expected in message and message.startswith("error:")
    assert len(result.stderr.strip().splitlines()) <= 2
    assert _memory_version(cli, judge) == before


def test_unknown_judge_and_unreadable_file(cli: Invoke, judge: str, tmp_path: Path) -> None:
    result = cli("align", "nobody", str(write_jsonl(tmp_path / "f.jsonl", FEEDBACK)))
    assert result.exit_code == 2 and "unknown judge 'nobody'" in result.stderr
    missing = cli("align", judge, str(tmp_path / "missing.jsonl"))
    assert missing.exit_code == 2 and "missing.jsonl: cannot read file" in missing.stderr
    assert cli("run", judge, str(tmp_path / "missing.jsonl")).exit_code == 2
    assert cli("eval", "nobody", str(tmp_path / "f.jsonl")).exit_code == 2


def test_bad_specs_and_options(cli: Invoke, judge: str, tmp_path: Path) -> None:
    assert (
        cli(
            "judge",
            "create",
            "x",
            "--output",
            "scale:5-1",
            "--instructions",
            "i",
            "--model",
            "fake",
        ).exit_code
        == 2
    )
    assert (
        cli(
            "judge", "create", judge, "--output", "binary", "--instructions", "i", "--model", "fake"
        ).exit_code
        == 2
    )  # exists
    assert cli("judge", "create", "y", "--output", "binary").exit_code == 2
    feedback = write_jsonl(tmp_path / "f.jsonl", FEEDBACK)
    assert cli("align", judge, str(feedback), "--map", "nonsense").exit_code == 2
    assert cli("run", judge, str(feedback), "--resume").exit_code == 2


def test_eval_needs_labels_and_pairwise_needs_two_responses(cli: Invoke, tmp_path: Path) -> None:
    cli("judge", "create", "pw", "--output", "pairwise", "--instructions", "x", "--model", "fake")
    bad = write_jsonl(tmp_path / "pw.jsonl", [{"id": "p", "outputs": "only one", "label": "A"}])
    result = cli("align", "pw", str(bad))
    assert result.exit_code == 2 and "field 'outputs'" in result.stderr
    good = write_jsonl(
        tmp_path / "ok.jsonl",
        [{"id": "p", "outputs": {"A": "x", "B": "y"}, "label": "b", "feedback": "B is exact."}],
    )
    assert cli("align", "pw", str(good)).exit_code == 0
    unlabelled = write_jsonl(tmp_path / "u.jsonl", [{"id": "p", "outputs": {"A": "x", "B": "y"}}])
    result = cli("eval", "pw", str(unlabelled))
    assert result.exit_code == 2 and "missing label" in result.stderr
