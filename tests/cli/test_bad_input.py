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


def test_no_overwrite_names_the_record_where_the_file_has_it(
    cli: Invoke, judge: str, tmp_path: Path
) -> None:
    cli("align", judge, str(write_jsonl(tmp_path / "good.jsonl", FEEDBACK)))
    before = _memory_version(cli, judge)
    changed = [FEEDBACK[1], {**FEEDBACK[0], "feedback": "Another reason."}]
    result = cli("align", judge, str(write_jsonl(tmp_path / "again.jsonl", changed)),
                 "--no-overwrite")  # fmt: skip
    message = " ".join(result.stderr.split())
    assert result.exit_code == 2
    assert "again.jsonl:2, record 'r1', field 'id'" in message
    assert "omit --no-overwrite" in message and "nothing was changed" in message
    assert _memory_version(cli, judge) == before


def test_forget_refuses_an_unknown_id_before_forgetting_anything(
    cli: Invoke, judge: str, tmp_path: Path
) -> None:
    cli("align", judge, str(write_jsonl(tmp_path / "good.jsonl", FEEDBACK)))
    before = _memory_version(cli, judge)
    result = cli("forget", judge, "--id", "r1", "--id", "nope", "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert "not in memory: nope; nothing was forgotten" in error["message"]
    assert error["field"] == "--id"
    assert _memory_version(cli, judge) == before
    # A repeated deletion request: forget what is stored, list the rest, succeed.
    done = cli("forget", judge, "--id", "r1", "--id", "nope", "--missing-ok", "--json")
    report = json.loads(done.stdout)
    assert done.exit_code == 0 and report["records_removed"] == ["r1"]
    assert report["records_not_found"] == ["nope"]


def test_export_names_a_missing_folder_and_import_refuses_a_cut_file(
    cli: Invoke, judge: str, tmp_path: Path
) -> None:
    cli("align", judge, str(write_jsonl(tmp_path / "good.jsonl", FEEDBACK)))
    missing = cli("export", judge, str(tmp_path / "no" / "out.jsonl"))
    message = " ".join(missing.stderr.split())
    assert missing.exit_code == 2 and "field 'file'" in message and "does not exist" in message
    assert ".tmp" not in message
    full = tmp_path / "full.jsonl"
    assert cli("export", judge, str(full)).exit_code == 0
    lines = full.read_text().splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[:-1]))  # the last line lost, as a copy cut short loses it
    result = cli("import", str(cut), "--name", "copy")
    assert result.exit_code == 2
    assert "field 'counts'" in result.stderr and "cut short" in result.stderr
    listed = json.loads(cli("judge", "list", "--json").stdout)["judges"]
    assert "copy" not in [j["name"] for j in listed]


def test_a_mistyped_map_names_the_missing_column(cli: Invoke, judge: str, tmp_path: Path) -> None:
    rows = [{"ticket": "t1", "outputs": "o", "label": "Pass", "feedback": "Fine."}]
    result = cli("align", judge, str(write_jsonl(tmp_path / "m.jsonl", rows)), "--map", "id=tickt")
    message = " ".join(result.stderr.split())
    assert result.exit_code == 2
    assert "no column 'tickt' (from --map id=tickt)" in message and "ticket" in message


def test_a_label_the_judge_refuses_names_implies(cli: Invoke, judge: str) -> None:
    result = cli("guideline", "add", judge, "x", "--check", "y", "--implies", "Maybe")
    assert result.exit_code == 2 and "field '--implies'" in result.stderr
