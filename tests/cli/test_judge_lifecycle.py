"""Judges can be changed and removed from the command line: `judge update` (models, check
proposals, the decision rule; the embedder only while no vector would need re-embedding) and
`judge delete` (a dry run unless --yes; everything goes, and no model is needed)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from .conftest import FEEDBACK, Invoke, write_jsonl


def test_update_changes_models_and_guards_the_embedder(cli: Invoke, tmp_path: Path) -> None:
    cli("judge", "create", "j", "--output", "binary", "--instructions", "x", "--model", "fake")
    other = "openai/text-embedding-3-small"
    assert (
        json.loads(cli("judge", "update", "j", "--embedder", other, "--json").output)["embedder"]
        == other
    )  # no vector stored yet: nothing would need re-embedding
    cli("judge", "update", "j", "--embedder", "hash")
    updated = cli("judge", "update", "j", "--model", "local:0.5b", "--json")
    assert updated.exit_code == 0, updated.output
    assert "local:0.5b" in updated.output

    cli("judge", "update", "j", "--model", "fake")
    cli("align", "j", str(write_jsonl(tmp_path / "f.jsonl", [
        {"id": "a", "outputs": "x", "label": "yes", "feedback": "Fine."},
    ])))  # fmt: skip
    refused = cli("judge", "update", "j", "--embedder", "local")
    assert refused.exit_code == 2 and "stored vector" in refused.stderr
    assert cli("judge", "update", "j").exit_code == 2  # nothing to change


def test_check_proposals_are_switched_on_at_create_and_by_update(cli: Invoke) -> None:
    made = cli("judge", "create", "p", "--output", "binary", "--instructions", "x",
               "--model", "fake", "--propose-checks", "--json")  # fmt: skip
    assert json.loads(made.output)["memory"]["propose_checks"] is True
    off = json.loads(cli("judge", "update", "p", "--no-propose-checks", "--json").output)
    assert off["memory"]["propose_checks"] is False
    # Asking for what already holds changes nothing and is no error (a script may repeat it).
    version = json.loads(cli("memory", "p", "--json").output)["memory_version"]
    again = cli("judge", "update", "p", "--no-propose-checks", "--model", "fake")
    assert again.exit_code == 0 and "already so; nothing changed" in again.stderr
    assert json.loads(cli("memory", "p", "--json").output)["memory_version"] == version


def test_what_reflection_reads_is_set_at_create_and_by_update(cli: Invoke) -> None:
    made = cli("judge", "create", "r", "--output", "binary", "--instructions", "x",
               "--model", "fake", "--json")  # fmt: skip
    assert json.loads(made.output)["memory"]["reflection_cases"] is False
    on = json.loads(cli("judge", "update", "r", "--reflection-cases", "--json").output)
    assert on["memory"]["reflection_cases"] is True
    same = json.loads(cli("judge", "update", "r", "--reflection-cases", "--json").output)
    assert same["memory"]["reflection_cases"] is True  # already so: no new version, no error
    assert same["memory_version"] == on["memory_version"]
    cases = cli("judge", "create", "c", "--output", "binary", "--instructions", "x",
                "--model", "fake", "--reflection-cases", "--json")  # fmt: skip
    assert json.loads(cases.output)["memory"]["reflection_cases"] is True


def test_the_decision_rule_is_pinned_and_handed_back_by_update(cli: Invoke) -> None:
    cli("judge", "create", "d", "--output", "binary", "--instructions", "x", "--model", "fake")
    pinned = json.loads(cli("judge", "update", "d", "--decision", "embedding", "--json").output)
    assert pinned["memory"]["decision"] == "embedding" and pinned["memory_version"] == 1
    shown = json.loads(cli("memory", "d", "--json").output)["decision"]
    assert (shown["rule"], shown["configured"]) == ("embedding", "embedding")
    before = json.loads(cli("judge", "show", "d", "--json").output)["memory_version"]
    same = json.loads(cli("judge", "update", "d", "--decision", "embedding", "--json").output)
    assert same["memory_version"] == before and same["memory"]["decision"] == "embedding"
    wrong = cli("judge", "update", "d", "--decision", "bogus", "--json")
    assert wrong.exit_code == 2 and json.loads(wrong.stdout)["error"]["field"] == "--decision"
    back = json.loads(cli("judge", "update", "d", "--decision", "auto", "--json").output)
    assert back["memory"]["decision"] == "auto"


def test_delete_is_a_dry_run_until_yes_and_leaves_no_trace(
    cli: Invoke, judge: str, tmp_path: Path
) -> None:
    cli("align", judge, str(write_jsonl(tmp_path / "f.jsonl", FEEDBACK)))
    cli("judge", "create", "other", "--output", "binary", "--instructions", "x", "--model", "fake")
    dry = cli("judge", "delete", judge, "--json")
    assert dry.exit_code == 0 and json.loads(dry.stdout)["deleted"] is False
    assert cli("judge", "show", judge).exit_code == 0

    done = cli("judge", "delete", judge, "--yes", "--json")
    assert done.exit_code == 0 and json.loads(done.stdout)["deleted"] is True
    assert cli("judge", "show", judge).exit_code == 2
    names = [j["name"] for j in json.loads(cli("judge", "list", "--json").output)["judges"]]
    assert names == ["other"]
    # Compacted: the deleted feedback's text is not left in the file's free pages.
    store = tmp_path / "cli.db"
    assert b"Replies must open with an apology" not in store.read_bytes()
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 0
