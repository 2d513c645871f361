"""Property: whatever bad file or command line a user gives, memalign exits 2 with one readable
line (a JSON object on stdout under ``--json``), never a traceback, and the store's files stay
byte for byte as they were. Hypothesis generates the inputs: feedback files in which valid
lines (with arbitrary text, markup and all) surround at least one line that is certainly wrong,
mutated exports, and command lines with a wrong option or value."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from memalign.cli import app

from .conftest import FEEDBACK, write_jsonl

LABELS = ("Pass", "Fail")
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
ids = st.text("abcdefghij0123456789-_", min_size=1, max_size=8)


@st.composite
def valid_line(draw: st.DrawFn) -> dict[str, Any]:
    line: dict[str, Any] = {"id": draw(ids), "outputs": draw(text.filter(str.strip))}
    if draw(st.booleans()):
        line["inputs"] = draw(text)
    line["label"] = draw(st.sampled_from(LABELS))
    if draw(st.booleans()):
        line["feedback"] = draw(text)
    return line


def _json_fails(raw: str) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return True
    return False


@st.composite
def wrong_record(draw: st.DrawFn, earlier: list[dict[str, Any]]) -> dict[str, Any] | bytes:
    """One line (a record, or raw bytes where only JSON Lines can go wrong) that no reading of
    the file can accept."""
    base = draw(valid_line())
    kind = draw(
        st.sampled_from(
            ["label", "no id", "no case", "dup", "not json", "not an object", "not utf-8"]
        )
    )
    if kind == "label":
        # Not blank: an empty CSV cell is a missing label, and feedback alone is valid.
        base["label"] = draw(
            text.filter(lambda s: s.strip() != "" and s.strip().lower() not in ("pass", "fail"))
        )
    elif kind == "no id":
        del base["id"]
    elif kind == "no case":
        del base["outputs"]
        base.pop("inputs", None)
        base[draw(st.sampled_from(["question", "response", "answer"]))] = draw(text)
    elif kind == "dup":
        base["id"] = draw(st.sampled_from(earlier))["id"] if earlier else base["id"]
        if not earlier:
            base["label"] = "Maybe"
    elif kind == "not json":
        return draw(text.filter(lambda s: s.strip() != "" and _json_fails(s))).encode() + b"\n"
    elif kind == "not an object":
        return json.dumps(draw(st.lists(st.integers(), max_size=3))).encode() + b"\n"
    else:
        return b'{"id": "x", "outputs": "caf\xe9", "label": "Pass"}\n'
    return base


@st.composite
def bad_feedback(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any] | bytes]:
    """Valid records with one wrong line somewhere among them."""
    records = draw(st.lists(valid_line(), max_size=6, unique_by=lambda r: r["id"]))
    at = draw(st.integers(min_value=0, max_value=len(records)))
    return [*records[:at], {}, *records[at:]], draw(wrong_record(records[:at]))


def _as_jsonl(records: list[dict[str, Any]], wrong: dict[str, Any] | bytes) -> bytes:
    return b"".join(
        (wrong if isinstance(wrong, bytes) else json.dumps(wrong).encode() + b"\n")
        if not r
        else json.dumps(r).encode() + b"\n"
        for r in records
    )


def _as_csv(records: list[dict[str, Any]], wrong: dict[str, Any]) -> bytes:
    rows = [r or wrong for r in records]
    columns = sorted({key for row in rows for key in row})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


BAD_OPTIONS = st.sampled_from(
    [
        ["--concurrency", "0"],
        ["--concurrency", "many"],
        ["--colour"],
        ["--map", "nonsense"],
        ["--map", "label=no_such_column"],
        ["--model", "no-such-model"],
        ["--out"],
    ]
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("property")
    runner = CliRunner()
    store = root / "store" / "memalign.db"
    for argv in (
        ["judge", "create", "support", "--output", "labels:Pass,Fail", "--instructions",
         "Is {{ outputs }} a good reply?", "--model", "fake"],
        ["align", "support", str(write_jsonl(root / "f.jsonl", FEEDBACK))],
        ["export", "support", str(root / "export.jsonl")],
    ):  # fmt: skip
        result = runner.invoke(app, [*argv, "--store", str(store)])
        assert result.exit_code == 0, result.output
    return root


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _check_refused(world: Path, argv: list[str], as_json: bool) -> None:
    folder = world / "store"
    before = _files(folder)
    args = [*argv, "--store", str(folder / "memalign.db"), *(["--json"] if as_json else [])]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (args, result.output, result.exception)
    assert "Traceback" not in result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    if as_json:
        assert json.loads(result.stdout)["error"]["message"]
    assert _files(folder) == before


# Derandomised: CI sees the same 60 examples each run (a new failure shows up in a change that
# causes it, not at random in someone else's); run with --hypothesis-seed=random to explore.
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(
    feedback=bad_feedback(),
    command=st.sampled_from(["align", "run", "eval"]),
    as_csv=st.booleans(),
    as_json=st.booleans(),
)
def test_a_bad_feedback_file_is_refused_whole(
    world: Path,
    feedback: tuple[list[dict[str, Any]], dict[str, Any] | bytes],
    command: str,
    as_csv: bool,
    as_json: bool,
) -> None:
    records, wrong = feedback
    if as_csv and not isinstance(wrong, bytes):
        path = world / "bad.csv"
        path.write_bytes(_as_csv(records, wrong))
    else:
        path = world / "bad.jsonl"
        path.write_bytes(_as_jsonl(records, wrong))
    argv = [command, "support", str(path)]
    if command == "run":
        argv += ["--out", str(world / "verdicts.jsonl")]
        if isinstance(wrong, dict) and wrong.get("id") and wrong.get("outputs"):
            # run judges cases: a wrong label or a reused id is not its business. It must
            # still never crash, and never touch memory beyond its verdict cache.
            result = CliRunner().invoke(
                app, [*argv, "--store", str(world / "store" / "memalign.db")]
            )
            assert result.exit_code in (0, 2), (result.output, result.exception)
            return
    _check_refused(world, argv, as_json)


@SETTINGS
@given(
    command=st.sampled_from([["run", "support"], ["eval", "support"], ["align", "support"]]),
    bad=BAD_OPTIONS,
    as_json=st.booleans(),
)
def test_a_bad_command_line_is_refused(
    world: Path, command: list[str], bad: list[str], as_json: bool
) -> None:
    _check_refused(world, [*command, str(world / "f.jsonl"), *bad], as_json)


@SETTINGS
@given(
    line=st.integers(min_value=0, max_value=20),
    mutation=st.sampled_from(
        ["drop", "duplicate", "garbage", "vector", "type", "cite", "truncate"]
    ),
    as_json=st.booleans(),
)
def test_a_damaged_export_is_refused_before_anything_is_written(
    world: Path, line: int, mutation: str, as_json: bool
) -> None:
    lines = (world / "export.jsonl").read_bytes().splitlines(keepends=True)
    index = line % len(lines)
    item = json.loads(lines[index])
    if mutation == "drop" and item.get("type") == "record":
        lines.pop(index)  # its example (and any guideline citing it) now dangles
    elif mutation == "duplicate" and item.get("type") != "judge":
        lines.append(lines[index])
    elif mutation == "garbage":
        lines[index] = b"{not json\n"
    elif mutation == "vector":
        example = next(json.loads(x) for x in lines if json.loads(x).get("type") == "example")
        example["vector"] = example["vector"][:3]
        lines.append(json.dumps(example).encode() + b"\n")
    elif mutation == "type":
        item["type"] = "mystery"
        lines[index] = json.dumps(item).encode() + b"\n"
    elif mutation == "cite":
        guideline = next(json.loads(x) for x in lines if json.loads(x).get("type") == "guideline")
        guideline["guideline"]["sources"] = ["nobody"]
        lines.append(json.dumps(guideline).encode() + b"\n")
    else:
        lines[index] = lines[index][: max(1, len(lines[index]) // 2)]
    if mutation == "drop" and item.get("type") != "record":
        lines[index] = b"[]\n"
    path = world / "damaged.jsonl"
    path.write_bytes(b"".join(lines))
    _check_refused(world, ["import", str(path), "--name", "copy"], as_json)
