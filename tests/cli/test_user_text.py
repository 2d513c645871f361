"""User text (feedback, guidelines, instructions, labels, judged text) is printed as written:
never read as rich markup or emoji codes, never lost, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Invoke, write_jsonl

MARKUP = "Do not close tags like [/b] early; keep [placeholder] and :smile: as typed."


def test_markup_in_guidelines_feedback_and_instructions_prints_verbatim(
    cli: Invoke, tmp_path: Path
) -> None:
    created = cli(
        "judge", "create", "tags", "--output", "labels:[ok],[/bad]",
        "--instructions", "Check {{ outputs }} [/red] [bold]carefully[/bold].", "--model", "fake",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "[ok]" in created.output and "[/bad]" in created.output

    feedback = [
        {"id": "m1", "outputs": "<b>hi</b>", "label": "[/bad]", "feedback": MARKUP},
        {"id": "m2", "outputs": "[link](x)", "label": "[ok]", "feedback": "Fine [/i]."},
    ]
    aligned = cli("align", "tags", str(write_jsonl(tmp_path / "f.jsonl", feedback)))
    assert aligned.exit_code == 0, aligned.output
    added = cli("guideline", "add", "tags", MARKUP)
    assert added.exit_code == 0 and MARKUP in " ".join(added.output.split())

    memory = cli("memory", "tags")
    assert memory.exit_code == 0, memory.output
    shown = "".join(memory.output.split())
    assert "[placeholder]" in shown and "[/b]" in shown and ":smile:" in shown

    show = cli("judge", "show", "tags")
    assert show.exit_code == 0 and "[/red]" in show.output and "[bold]" in show.output
    listed = cli("judge", "list")
    assert listed.exit_code == 0 and "[/bad]" in listed.output

    cases = write_jsonl(tmp_path / "c.jsonl", [{"id": "c", "outputs": "[/b] :smile:"}])
    run = cli("run", "tags", str(cases))
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout.splitlines()[0])["value"] in ("[ok]", "[/bad]")


def test_redteam_cases_are_judged_learned_and_printed_as_text(cli: Invoke, judge: str) -> None:
    fixtures = Path(__file__).parents[1] / "fixtures" / "redteam.jsonl"
    rows = [json.loads(line) for line in fixtures.read_text().splitlines() if line.strip()]
    run = cli("run", judge, str(fixtures))
    assert run.exit_code == 0, run.output
    assert [json.loads(line)["id"] for line in run.stdout.splitlines()] == [r["id"] for r in rows]
    aligned = cli("align", judge, str(fixtures))
    assert aligned.exit_code == 0, aligned.output
    memory = cli("memory", judge)
    assert memory.exit_code == 0 and "Traceback" not in memory.output
