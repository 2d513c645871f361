"""The bad-input matrix: every command, given a bad argument, path or file, exits 2 with one
line naming what is wrong (a JSON object on stdout under ``--json``), prints no traceback, and
leaves the store's files byte for byte as they were."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from memalign.cli import app

from .conftest import FEEDBACK, write_jsonl

Case = tuple[str, Callable[[Path], list[str]], str]


def _export(tmp: Path, mutate: Callable[[list[dict[str, object]]], None]) -> str:
    """A real export of the populated judge, changed by ``mutate``, under a new name."""
    lines = [json.loads(line) for line in (tmp / "good-export.jsonl").read_text().splitlines()]
    mutate(lines)
    path = tmp / "bad-export.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return str(path)


def _cut_vector(lines: list[dict[str, object]]) -> None:
    for line in lines:
        if line.get("type") == "example":
            line["vector"] = [0.1, 0.2, 0.3]
            return
    raise AssertionError("the export has no example")


def _orphan_example(lines: list[dict[str, object]]) -> None:
    for line in lines:
        if line.get("type") == "example":
            line["example"]["record_id"] = "nobody"  # type: ignore[index]
            return
    raise AssertionError("the export has no example")


def _duplicate_record(lines: list[dict[str, object]]) -> None:
    lines.append(next(line for line in lines if line.get("type") == "record"))


def _text(tmp: Path, name: str, content: bytes) -> str:
    path = tmp / name
    path.write_bytes(content)
    return str(path)


CASES: list[Case] = [
    # judge
    ("judge create: exists", lambda t: ["judge", "create", "support", "--output", "binary",
     "--instructions", "x", "--model", "fake"], "already exists"),
    ("judge create: bad scale", lambda t: ["judge", "create", "x", "--output", "scale:5-1",
     "--instructions", "x", "--model", "fake"], "scale"),
    ("judge create: empty labels", lambda t: ["judge", "create", "x", "--output", "labels:",
     "--instructions", "x", "--model", "fake"], "label"),
    ("judge create: unknown output", lambda t: ["judge", "create", "x", "--output", "stars",
     "--instructions", "x", "--model", "fake"], "stars"),
    ("judge create: no instructions", lambda t: ["judge", "create", "x", "--output", "binary",
     "--model", "fake"], "--instructions"),
    ("judge create: missing instructions file", lambda t: ["judge", "create", "x", "--output",
     "binary", "--instructions-file", str(t / "nope.txt"), "--model", "fake"], "nope.txt"),
    ("judge create: non-UTF-8 instructions", lambda t: ["judge", "create", "x", "--output",
     "binary", "--instructions-file", _text(t, "latin.txt", b"caf\xe9 {{ outputs }}"),
     "--model", "fake"], "latin.txt"),
    ("judge create: unknown model", lambda t: ["judge", "create", "x", "--output", "binary",
     "--instructions", "x", "--model", "nonsense-model"], "nonsense-model"),
    ("judge show: unknown", lambda t: ["judge", "show", "nobody"], "unknown judge 'nobody'"),
    ("judge update: unknown", lambda t: ["judge", "update", "nobody", "--model", "fake"],
     "unknown judge 'nobody'"),
    ("judge update: embedder with vectors", lambda t: ["judge", "update", "support",
     "--embedder", "hash:64"], "embedder"),
    ("judge delete: unknown", lambda t: ["judge", "delete", "nobody", "--yes"],
     "unknown judge 'nobody'"),
    # guideline
    ("guideline add: unknown judge", lambda t: ["guideline", "add", "nobody", "Be kind."],
     "unknown judge 'nobody'"),
    ("guideline add: empty", lambda t: ["guideline", "add", "support", "  "], "text"),
    ("guideline edit: unknown id", lambda t: ["guideline", "edit", "support", "g-404", "New."],
     "g-404"),
    ("guideline pin: unknown id", lambda t: ["guideline", "pin", "support", "g-404"], "g-404"),
    ("guideline retire: unknown id", lambda t: ["guideline", "retire", "support", "g-404"],
     "g-404"),
    ("guideline approve: unknown id", lambda t: ["guideline", "approve", "support", "g-404"],
     "g-404"),
    # memory, forget
    ("memory: unknown judge", lambda t: ["memory", "nobody"], "unknown judge 'nobody'"),
    ("forget: unknown judge", lambda t: ["forget", "nobody", "--id", "r1"],
     "unknown judge 'nobody'"),
    ("forget: nothing selected", lambda t: ["forget", "support"], "say what to forget"),
    ("forget: bad time", lambda t: ["forget", "support", "--before", "last tuesday"],
     "--before"),
    # export, import
    ("export: unknown judge", lambda t: ["export", "nobody", str(t / "e.jsonl")],
     "unknown judge 'nobody'"),
    ("export: missing folder", lambda t: ["export", "support", str(t / "no" / "e.jsonl")],
     "e.jsonl"),
    ("export: into a directory", lambda t: ["export", "support", str(t)], "directory"),
    ("import: missing file", lambda t: ["import", str(t / "nope.jsonl")], "nope.jsonl"),
    ("import: not JSON", lambda t: ["import", _text(t, "x.jsonl", b"{nope\n")], "x.jsonl:1"),
    ("import: name taken", lambda t: ["import", str(t / "good-export.jsonl")], "already exists"),
    ("import: vector cut short", lambda t: ["import", _export(t, _cut_vector), "--name", "c"],
     "dimension"),
    ("import: example without record", lambda t: ["import", _export(t, _orphan_example),
     "--name", "c"], "nobody"),
    ("import: duplicate record", lambda t: ["import", _export(t, _duplicate_record), "--name",
     "c"], "duplicate"),
    # align, run, eval
    ("align: unknown judge", lambda t: ["align", "nobody", str(t / "f.jsonl")],
     "unknown judge 'nobody'"),
    ("align: a directory", lambda t: ["align", "support", str(t)], "directory"),
    ("align: map to a missing column", lambda t: ["align", "support", str(t / "f.jsonl"),
     "--map", "label=rating"], "rating"),
    ("align: no case fields", lambda t: ["align", "support", _text(t, "q.jsonl",
     b'{"id": "q", "question": "?", "response": "!", "label": "Pass"}\n')], "q.jsonl:1"),
    ("align: half a surrogate pair", lambda t: ["align", "support", _text(t, "s.jsonl",
     b'{"id": "s", "inputs": "x\\ud800", "outputs": "y", "label": "Pass"}\n')],
     "s.jsonl:1, field 'inputs': not valid Unicode"),
    ("run: half a surrogate pair", lambda t: ["run", "support", _text(t, "s2.jsonl",
     b'{"id": "s", "outputs": "\\udfff"}\n')], "s2.jsonl:1, field 'outputs'"),
    ("align: a key twice", lambda t: ["align", "support", _text(t, "k.jsonl",
     b'{"id": "a", "outputs": "x", "id": "b", "label": "Pass"}\n')],
     "k.jsonl:1: key 'id' appears twice"),
    ("align: a CSV column twice", lambda t: ["align", "support", _text(t, "d.csv",
     b'id,outputs,label,label\nq,x,Pass,Fail\n')], "d.csv:1, field 'label': column appears"),
    ("align: a CSV cell past the limit", lambda t: ["align", "support", _text(t, "big.csv",
     b'id,outputs,label\nq,' + b'x' * 10_000_002 + b',Pass\n')], "big.csv:2: a cell is too"),
    ("align: refuse overwrite", lambda t: ["align", "support", _text(t, "o.jsonl",
     b'{"id": "r1", "outputs": "changed", "label": "Pass"}\n'), "--no-overwrite"],
     "o.jsonl:1, record 'r1', field 'id'"),
    ("run: --out is a directory", lambda t: ["run", "support", str(t / "f.jsonl"), "--out",
     str(t)], "directory"),
    ("run: --out in a missing folder", lambda t: ["run", "support", str(t / "f.jsonl"), "--out",
     str(t / "no" / "v.jsonl")], "v.jsonl"),
    ("run: --resume without --out", lambda t: ["run", "support", str(t / "f.jsonl"),
     "--resume"], "--out"),
    ("eval: unlabelled", lambda t: ["eval", "support", _text(t, "u.jsonl",
     b'{"id": "u", "outputs": "x"}\n')], "u.jsonl:1"),
    # the command line itself
    ("usage: missing argument", lambda t: ["run", "support"], "Missing argument"),
    ("usage: out of range", lambda t: ["run", "support", str(t / "f.jsonl"), "--concurrency",
     "0"], "--concurrency"),
    ("usage: unknown option", lambda t: ["memory", "support", "--colour"], "--colour"),
    ("usage: unknown command", lambda t: ["judge", "explode"], "explode"),
]  # fmt: skip


def _store_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding an aligned judge with a hand-written guideline, and its export."""
    root = tmp_path_factory.mktemp("matrix")
    store = root / "store" / "memalign.db"
    runner = CliRunner()

    def ok(*argv: str) -> None:
        result = runner.invoke(app, [*argv, "--store", str(store)])
        assert result.exit_code == 0, result.output

    ok("judge", "create", "support", "--output", "labels:Pass,Fail", "--instructions",
       "Is {{ outputs }} a good reply to {{ inputs }}?", "--model", "fake")  # fmt: skip
    ok("align", "support", str(write_jsonl(root / "f.jsonl", FEEDBACK)))
    ok("guideline", "add", "support", "Quote the ticket number [#] in every reply.")
    ok("export", "support", str(root / "good-export.jsonl"))
    return root


@pytest.mark.parametrize(("name", "argv", "expected"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_bad_input(
    populated: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    argv: Callable[[Path], list[str]],
    expected: str,
    as_json: bool,
) -> None:
    monkeypatch.setenv("MEMALIGN_CONFIG", str(populated / "no-config.toml"))
    folder = populated / "store"
    before = _store_files(folder)
    args = [*argv(populated), "--store", str(folder / "memalign.db")]
    result: Result = CliRunner().invoke(app, [*args, "--json"] if as_json else args)

    assert result.exit_code == 2, (name, result.output, result.exception)
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert expected in lines[0], lines[0]
    if as_json:
        error = json.loads(result.stdout)["error"]
        assert expected in error["message"] and error["type"]
    else:
        assert result.stdout == ""
    assert _store_files(folder) == before, "the store's files changed"
