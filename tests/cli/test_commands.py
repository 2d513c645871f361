from __future__ import annotations

import json
from pathlib import Path

from .conftest import FEEDBACK, Invoke, write_jsonl


def _json(output: str) -> dict:  # type: ignore[type-arg]
    return json.loads(output.strip().splitlines()[-1])


def test_judge_create_list_show(cli: Invoke, judge: str, tmp_path: Path) -> None:
    listed = _json(cli("judge", "list", "--json").output)
    assert [j["name"] for j in listed["judges"]] == ["support"]
    shown = _json(cli("judge", "show", judge, "--json").output)
    assert shown["output"] == "labels:Pass,Fail" and shown["embedder"] == "hash"
    instructions = tmp_path / "instructions.md"
    instructions.write_text("Rate {{ outputs }}.")
    made = cli(
        "judge",
        "create",
        "rater",
        "--output",
        "scale:1-5",
        "--instructions-file",
        str(instructions),
        "--model",
        "fake",
        "--json",
    )
    assert made.exit_code == 0 and _json(made.output)["output"] == "scale:1-5"
    for spec in ("binary", "float", "pairwise"):
        assert (
            cli(
                "judge",
                "create",
                f"j-{spec}",
                "--output",
                spec,
                "--instructions",
                "x",
                "--model",
                "fake",
            ).exit_code
            == 0
        )
    assert "rater" in cli("judge", "list").output
    blend = cli(
        "judge",
        "create",
        "blended",
        "--output",
        "binary",
        "--instructions",
        "x",
        "--model",
        "fake",
        "--decision",
        "blend",
        "--json",
    )
    assert _json(blend.output)["memory"]["decision"] == "blend"
    assert (
        cli(
            "judge",
            "create",
            "bad",
            "--output",
            "binary",
            "--instructions",
            "x",
            "--decision",
            "majority",
        ).exit_code
        == 2
    )


def test_align_reports_and_is_incremental(cli: Invoke, judge: str, tmp_path: Path) -> None:
    file = write_jsonl(tmp_path / "feedback.jsonl", FEEDBACK)
    first = _json(cli("align", judge, str(file), "--json").output)
    assert first["records_added"] == 3 and first["guidelines_added"] == 2
    assert first["usage"]["llm_calls"] > 0
    again = _json(cli("align", judge, str(file), "--json").output)
    assert again["records_unchanged"] == 3 and again["usage"]["llm_calls"] == 0
    table = cli("align", judge, str(file))
    assert table.exit_code == 0 and "unchanged" in table.output


def test_align_shows_the_guidelines_it_dropped(  # type: ignore[no-untyped-def]
    cli: Invoke, judge: str, tmp_path: Path, monkeypatch
) -> None:
    from memalign.testing import FakeLLM

    answer = json.dumps({"guidelines": [{"text": "Made-up rule.", "sources": ["nobody"]}]})
    monkeypatch.setattr(FakeLLM, "_reflect", staticmethod(lambda prompt, single: answer))
    file = write_jsonl(tmp_path / "feedback.jsonl", FEEDBACK)
    result = cli("align", judge, str(file))
    assert result.exit_code == 0, result.output
    assert "1 proposed, +0 added" in result.output
    assert "dropped (uncited): Made-up rule." in result.output


def test_align_from_csv_with_a_field_map(cli: Invoke, judge: str, tmp_path: Path) -> None:
    file = tmp_path / "feedback.csv"
    file.write_text(
        "ticket,inputs,outputs,label,feedback\n"
        't1,"{""q"": 1}",Refund soon.,Fail,Open with an apology.\n'
        't2,hello,"Sorry, ticket #4.",Pass,\n'
    )
    result = cli("align", judge, str(file), "--map", "id=ticket", "--json")
    assert result.exit_code == 0, result.output
    assert _json(result.output)["records_added"] == 2
    memory = _json(cli("memory", judge, "--examples", "--json").output)
    assert {e["record_id"] for e in memory["examples"]} == {"t1", "t2"}


def test_run_writes_verdicts_and_resumes(cli: Invoke, judge: str, tmp_path: Path) -> None:
    cases = write_jsonl(
        tmp_path / "cases.jsonl",
        [{"id": f"c{i}", "inputs": "q", "outputs": f"reply {i}"} for i in range(4)],
    )
    out = tmp_path / "verdicts.jsonl"
    result = cli("run", judge, str(cases), "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["c0", "c1", "c2", "c3"]
    assert {
        "value",
        "rationale",
        "guideline_ids",
        "example_ids",
        "memory_version",
        "usage",
        "error",
    } <= set(lines[0])
    out.write_text("\n".join(json.dumps(x) for x in lines[:2]) + "\n")
    resumed = _json(cli("run", judge, str(cases), "--out", str(out), "--resume", "--json").output)
    assert resumed["judged"] == 2 and resumed["skipped"] == 2
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["c0", "c1", "c2", "c3"]


def test_run_exits_nonzero_when_records_error(cli: Invoke, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from memalign.testing import FakeLLM

    monkeypatch.setattr(FakeLLM, "_judge", staticmethod(lambda request: "no verdict here"))
    cli("judge", "create", "broken", "--output", "binary", "--instructions", "x", "--model", "fake")
    cases = write_jsonl(tmp_path / "cases.jsonl", [{"id": "c", "inputs": "q", "outputs": "a"}])
    result = cli("run", "broken", str(cases), "--json")
    assert result.exit_code == 1
    assert _json(result.stdout)["errors"] == 1


def test_eval_reports_agreement(cli: Invoke, judge: str, tmp_path: Path) -> None:
    file = write_jsonl(tmp_path / "feedback.jsonl", FEEDBACK)
    cli("align", judge, str(file))
    report = _json(cli("eval", judge, str(file), "--json").output)
    assert report["n"] == 3 and report["errors"] == 0
    assert report["accuracy"] == 1.0  # the fake copies the most similar example: itself
    assert report["confusion"]["classes"] == ["Pass", "Fail"]
    assert "kappa" in report
    assert "accuracy" in cli("eval", judge, str(file)).output


def test_memory_and_guideline_commands(cli: Invoke, judge: str, tmp_path: Path) -> None:
    cli("align", judge, str(write_jsonl(tmp_path / "f.jsonl", FEEDBACK)))
    added = _json(cli("guideline", "add", judge, "Never name a competitor.", "--json").output)
    gid = added["id"]
    assert added["origin"] == "manual"
    assert _json(cli("guideline", "pin", judge, gid, "--json").output)["pinned"] is True
    edited = _json(cli("guideline", "edit", judge, gid, "No competitor names.", "--json").output)
    assert edited["text"] == "No competitor names."
    assert _json(cli("guideline", "retire", judge, gid, "--json").output)["status"] == "retired"
    assert _json(cli("guideline", "approve", judge, gid, "--json").output)["status"] == "active"
    memory = _json(cli("memory", judge, "--history", "--json").output)
    assert len(memory["guidelines"]) == 3
    assert [h["operation"] for h in memory["history"]][:2] == ["align", "guideline.add"]
    assert "No competitor names." in cli("memory", judge).output
    assert cli("guideline", "pin", judge, "g-missing").exit_code == 2
    again = cli("guideline", "pin", judge, gid)  # already pinned: said, and no new version
    assert again.exit_code == 0 and "unchanged (already so):" in again.output
    later = _json(cli("memory", judge, "--history", "--json").output)["history"]
    assert len(later) == len(memory["history"])


def test_forget_variants(cli: Invoke, judge: str, tmp_path: Path) -> None:
    cli("align", judge, str(write_jsonl(tmp_path / "f.jsonl", FEEDBACK)))
    dry = _json(cli("forget", judge, "--annotator", "ann", "--dry-run", "--json").output)
    assert dry["dry_run"] and dry["records_removed"] == ["r1", "r3"]
    done = _json(cli("forget", judge, "--id", "r1", "--json").output)
    assert done["records_removed"] == ["r1"] and len(done["guidelines_removed"]) == 1
    assert _json(cli("forget", judge, "--before", "2999-01-01", "--json").output)[
        "records_removed"
    ] == ["r2", "r3"]
    assert cli("forget", judge).exit_code == 2
    assert cli("forget", judge, "--before", "yesterday").exit_code == 2


def test_export_and_import(cli: Invoke, judge: str, tmp_path: Path) -> None:
    cli("align", judge, str(write_jsonl(tmp_path / "f.jsonl", FEEDBACK)))
    exported = tmp_path / "support.jsonl"
    assert _json(cli("export", judge, str(exported), "--json").output)["lines"] == 1 + 3 + 2 + 3
    imported = _json(cli("import", str(exported), "--name", "copy", "--json").output)
    assert imported == {"judge": "copy", "memory_version": 1}
    original = _json(cli("memory", judge, "--json").output)["guidelines"]
    copy = _json(cli("memory", "copy", "--json").output)["guidelines"]
    assert original == copy


def test_demo_runs_on_the_fakes(cli: Invoke) -> None:
    result = cli("demo", "--model", "fake", "--json", store_arg=False)
    assert result.exit_code == 0, result.output
    data = _json(result.output)
    assert data["unaligned"]["metrics"]["n"] == 40 and data["aligned"]["metrics"]["n"] == 40
    assert data["alignment"]["records_added"] == 20
    assert data["alignment"]["guidelines_added"] > 0
    assert "SYNTHETIC" in data["data"]


def test_run_resumes_after_a_line_cut_off_by_a_crash(
    cli: Invoke, judge: str, tmp_path: Path
) -> None:
    cases = write_jsonl(
        tmp_path / "cases.jsonl",
        [{"id": f"c{i}", "inputs": "q", "outputs": f"reply {i}"} for i in range(3)],
    )
    out = tmp_path / "verdicts.jsonl"
    assert cli("run", judge, str(cases), "--out", str(out)).exit_code == 0
    lines = out.read_text().splitlines()
    out.write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])  # what a crash leaves
    resumed = _json(cli("run", judge, str(cases), "--out", str(out), "--resume", "--json").output)
    assert resumed["judged"] == 2 and resumed["skipped"] == 1
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["c0", "c1", "c2"]


def test_run_without_out_streams_json_lines(cli: Invoke, judge: str, tmp_path: Path) -> None:
    cases = write_jsonl(
        tmp_path / "cases.jsonl", [{"id": f"c{i}", "outputs": f"reply {i}"} for i in range(3)]
    )
    result = cli("run", judge, str(cases))
    assert result.exit_code == 0
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["c0", "c1", "c2"]
    assert "judged 3" in result.stderr  # the summary stays off the data stream


def test_run_json_leaves_stderr_empty_when_not_a_terminal(
    cli: Invoke, judge: str, tmp_path: Path
) -> None:
    cases = write_jsonl(tmp_path / "cases.jsonl", [{"id": "c0", "outputs": "reply"}])
    result = cli("run", judge, str(cases), "--out", str(tmp_path / "v.jsonl"), "--json")
    assert result.exit_code == 0 and _json(result.stdout)["judged"] == 1
    assert result.stderr == ""  # no progress bar's leftovers for a script to read


def test_align_names_what_it_replaced_and_can_refuse(
    cli: Invoke, judge: str, tmp_path: Path
) -> None:
    cli("align", judge, str(write_jsonl(tmp_path / "f.jsonl", FEEDBACK)))
    changed = [{**FEEDBACK[0], "feedback": "A different reason."}]
    again = write_jsonl(tmp_path / "again.jsonl", changed)
    refused = cli("align", judge, str(again), "--no-overwrite")
    assert refused.exit_code == 2 and "'r1'" in refused.stderr
    replaced = cli("align", judge, str(again))
    assert replaced.exit_code == 0 and "r1" in replaced.output and "replaced" in replaced.output
    assert _json(cli("align", judge, str(write_jsonl(tmp_path / "b.jsonl", [
        {**FEEDBACK[1], "label": "Fail"}
    ])), "--json").output)["records_replaced"] == ["r2"]  # fmt: skip


def test_checks_from_the_command_line(cli: Invoke, judge: str, tmp_path: Path) -> None:
    rule = "A bare except: hides every error."
    rows = [
        {"id": f"f{i}", "outputs": f"try:\n    run({i})\nexcept: pass", "label": "Fail",
         "feedback": rule}
        for i in range(10)
    ] + [
        {"id": f"p{i}", "outputs": f"with open(p{i}) as f: read(f)", "label": "Pass",
         "feedback": "Clean."}
        for i in range(10)
    ]  # fmt: skip
    aligned = cli("align", judge, str(write_jsonl(tmp_path / "f.jsonl", rows)))
    assert aligned.exit_code == 0 and "check [" in aligned.output
    # The mined check judged the batch at alignment too, with no model call.
    assert "20 judged by checks (no model call)" in " ".join(aligned.output.split())
    assert "│20│20│0│0│0│" in "".join(aligned.output.split())  # records read, added, …
    added = _json(cli("guideline", "add", judge, "Never print in library code.", "--check",
                      "print(", "--implies", "fail", "--json").output)  # fmt: skip
    assert added["check"]["label"] == "Fail" and added["check"]["active"] is False
    memory = _json(cli("memory", judge, "--json").output)
    mined = [g for g in memory["guidelines"] if g["origin"] == "check"]
    assert mined and all(g["check"]["active"] for g in mined)
    # The table wraps cells: compare without its borders and whitespace.
    shown = "".join(cli("memory", judge).output.replace("│", "").split())
    assert "checknotactive" in shown and "labelledexamplesagree" in shown
    # Why it waits: print( is in none of the 20 records.
    assert "notactive:itfireson0labelledrecord(s);itneeds3ormore" in shown
    # Adding it says the check's own state, not only the guideline's.
    said = " ".join(cli("guideline", "add", judge, "No pprint.", "--check", "pprint",
                        "--implies", "fail").output.split())  # fmt: skip
    assert "(guideline active)" in said and "check: Fail when 'pprint' is in" in said
    assert "not active: it fires on 0" in said
    cases = write_jsonl(tmp_path / "c.jsonl", [{"id": "c", "outputs": "try: x()\nexcept: y()"}])
    verdict = json.loads(cli("run", judge, str(cases)).stdout.splitlines()[0])
    assert verdict["decision"] == "checks" and verdict["checks"][0]["span"] is not None
    assert cli("guideline", "add", judge, "x", "--check", "y").exit_code == 2  # no --implies
    # What the checks saved is counted: the mined pair ('except' present → Fail, missing →
    # Pass) decides every case here, so the model is never called.
    labelled = write_jsonl(tmp_path / "l.jsonl", [
        {"id": "a", "outputs": "try: a()\nexcept: pass", "label": "Fail"},
        {"id": "b", "outputs": "try: b()\nexcept: pass", "label": "Fail"},
        {"id": "m", "outputs": "x = compute()", "label": "Pass"},
    ])  # fmt: skip
    usage = _json(cli("eval", judge, str(labelled), "--json").stdout)["usage"]
    assert usage["decided_by_checks"] == 3 and usage["judge_calls_saved"] == 3
    assert usage["share_decided_by_checks"] == 1.0 and usage["llm_calls"] == 0
    ran = cli("run", judge, str(labelled), "--out", str(tmp_path / "v.jsonl"))
    said = " ".join(ran.stderr.split())
    assert "0 model calls" in said and "3 verdicts (100%) decided by checks" in said


def test_a_check_with_a_place_a_pattern_and_a_condition(cli: Invoke, judge: str) -> None:
    added = _json(cli("guideline", "add", judge, "UK emails carry the UK disclaimer.",
                      "--check", "capital at risk", "--absent", "--implies", "fail",
                      "--part", "last_line", "--when", "inputs.region=UK",
                      "--json").output)  # fmt: skip
    check = added["check"]
    assert (check["part"], check["present"], check["term"]) == (
        "last_line",
        False,
        "capital at risk",
    )
    assert check["when"] == {
        "term": "uk", "present": True, "field": "inputs", "key": "region", "part": "all",
        "pattern": False, "within": None,
    }  # fmt: skip
    pattern = _json(cli("guideline", "add", judge, "No fake reply subjects.", "--check",
                        r"^subject:\s*(re|fwd?):", "--pattern", "--part", "first_line",
                        "--implies", "fail", "--json").output)["check"]  # fmt: skip
    assert pattern["pattern"] is True and pattern["term"] == r"^subject:\s*(re|fwd?):"
    copied = _json(cli("guideline", "add", judge, "Figures are copied exactly.", "--check",
                       r"\d+(?:[.,]\d+)*%?", "--pattern", "--within", "inputs.source_text",
                       "--implies", "fail", "--json").output)["check"]  # fmt: skip
    assert copied["within"] == {"field": "inputs", "key": "source_text"}
    before = cli("memory", judge, "--json").output
    for bad, field in [
        (["--check", "(re", "--pattern", "--implies", "fail"], "--check"),  # RE2 refuses it
        (["--check", r"(a)\1", "--pattern", "--implies", "fail"], "--check"),  # back-reference
        (["--check", "x", "--implies", "fail", "--when", "region=UK"], "--when"),
        (["--check", "x", "--implies", "fail", "--when", "inputs.region"], "--when"),
        (["--part", "first_line"], "--check"),  # a place with no check
        (["--check", "x", "--implies", "fail", "--within", "source.text"], "--within"),
    ]:
        refused = cli("guideline", "add", judge, "x", *bad, "--json")
        assert refused.exit_code == 2, bad
        error = json.loads(refused.stdout)["error"]
        assert error["field"] == field and "Traceback" not in refused.stderr, bad
    assert cli("memory", judge, "--json").output == before  # nothing half-written


def test_a_guidelines_check_is_set_replaced_and_removed(cli: Invoke, judge: str) -> None:
    rule = _json(cli("guideline", "add", judge, "No debug prints.", "--json").output)
    assert rule["check"] is None
    set_ = _json(cli("guideline", "check", judge, rule["id"], "--check", "print(",
                     "--implies", "fail", "--json").output)  # fmt: skip
    assert set_["check"]["term"] == "print(" and set_["text"] == "No debug prints."
    replaced = _json(cli("guideline", "check", judge, rule["id"], "--check", "pprint",
                         "--implies", "fail", "--part", "last_line", "--json").output)  # fmt: skip
    assert (replaced["check"]["term"], replaced["check"]["part"]) == ("pprint", "last_line")
    removed = _json(cli("guideline", "check", judge, rule["id"], "--remove", "--json").output)
    assert removed["check"] is None and removed["text"] == "No debug prints."
    both = cli("guideline", "check", judge, rule["id"], "--remove", "--check", "x",
               "--implies", "fail")  # fmt: skip
    assert both.exit_code == 2 and "--remove" in both.stderr
    assert cli("guideline", "check", judge, rule["id"]).exit_code == 2  # neither
    missing = cli("guideline", "check", judge, "g-nope", "--remove")
    assert missing.exit_code == 2 and "g-nope" in missing.stderr


def test_memory_shows_the_decision_rule_and_what_auto_chose(
    cli: Invoke, judge: str, tmp_path: Path
) -> None:
    cli("align", judge, str(write_jsonl(tmp_path / "f.jsonl", FEEDBACK)))
    few = _json(cli("memory", judge, "--json").output)["decision"]
    assert few == {"rule": "auto", "configured": "auto", "scores": {}, "support": 0,
                   "fitted_on": "all", "by_scope": {}, "explanation": None}  # fmt: skip
    assert "until memory holds enough to choose" in cli("memory", judge).output
    more = [
        {"id": f"m{i}", "outputs": f"reply {i} {'sorry' if i % 2 else 'whatever'}",
         "label": "Pass" if i % 2 else "Fail"}
        for i in range(30)
    ]  # fmt: skip
    assert cli("align", judge, str(write_jsonl(tmp_path / "m.jsonl", more))).exit_code == 0
    chosen = _json(cli("memory", judge, "--json").output)["decision"]
    assert chosen["rule"] in ("llm", "embedding", "combined") and chosen["support"] >= 25
    assert "llm" in chosen["scores"] and chosen["explanation"].startswith("auto chose")
    assert f"auto chose {chosen['rule']}" in cli("memory", judge).output
