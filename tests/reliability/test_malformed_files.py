"""Malformed input files across align, run, eval and import: one clear error naming file, line
and field, exit code 2, and the store left byte for byte as it was."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memalign import JudgeSpec, Labels
from memalign.cli import app
from memalign.io.transfer import FORMAT

GOOD = {"id": "g1", "inputs": "late parcel", "outputs": "Sorry! Ticket #4 ships.", "label": "Pass"}


def _line(**fields: object) -> str:
    return json.dumps({**GOOD, **fields}) + "\n"


def _jsonl(*lines: str) -> bytes:
    return "".join(lines).encode()


EXPORT_HEAD = (
    json.dumps(
        {
            "type": "judge",
            "format": FORMAT,
            "spec": JudgeSpec(
                name="copy", instructions="x", output=Labels(("Pass", "Fail"))
            ).to_dict(),
        }
    )
    + "\n"
)

# (command, file name, content, what the message must name)
CASES: list[tuple[str, str, bytes, list[str]]] = [
    ("align", "bad.jsonl", _jsonl(_line(), '{"id": "b", "label": "Pa'), ["bad.jsonl:2"]),
    (
        "align",
        "bad.jsonl",
        _jsonl(_line(), _line(id="g2")[:-1].encode("utf-8").decode() + "\n", "\ufeff{oops}\n"),
        ["bad.jsonl:3"],
    ),
    (
        "align",
        "bad.jsonl",
        _jsonl(_line()) + b'{"id": "x\xff\xfe", "label": "Pass"}\n',
        ["bad.jsonl:2", "UTF-8"],
    ),
    ("align", "bad.jsonl", _jsonl('{"inputs": "q", "label": "Pass"}\n'), ["bad.jsonl:1", "'id'"]),
    ("align", "bad.jsonl", _jsonl(_line(id=None)), ["bad.jsonl:1", "'id'"]),
    ("align", "bad.jsonl", _jsonl(_line(id="")), ["bad.jsonl:1", "'id'"]),
    ("align", "bad.jsonl", _jsonl(_line(id={"nested": 1})), ["bad.jsonl:1", "'id'"]),
    (
        "align",
        "bad.jsonl",
        _jsonl(_line(), _line(label="Maybe", id="g2")),
        ["bad.jsonl:2", "'label'"],
    ),
    ("align", "bad.jsonl", _jsonl(_line(label=["Pass"])), ["bad.jsonl:1", "'label'"]),
    ("align", "bad.jsonl", _jsonl(_line(label=None, feedback=None)), ["bad.jsonl:1", "'label'"]),
    ("align", "bad.jsonl", _jsonl(_line(), _line()), ["bad.jsonl:2", "'id'", "duplicate"]),
    ("align", "bad.jsonl", _jsonl("[1, 2]\n"), ["bad.jsonl:1", "JSON object"]),
    ("align", "bad.jsonl", _jsonl('"just a string"\n'), ["bad.jsonl:1", "JSON object"]),
    ("align", "bad.jsonl", b"", ["bad.jsonl", "no records"]),
    ("align", "bad.jsonl", b"\n   \n\t\n", ["bad.jsonl", "no records"]),
    (
        "align",
        "bad.jsonl",
        _jsonl(_line(), '{"id": "d", "outputs": ' + "[" * 100_000 + "\n"),
        ["bad.jsonl:2"],
    ),
    (
        "align",
        "bad.jsonl",
        _jsonl(_line(outputs="x" * 11_000_000)),
        ["bad.jsonl:1", "'outputs'", "too large"],
    ),
    (
        "align",
        "bad.jsonl",
        _jsonl(_line(lable="Fail", id="t")),
        ["bad.jsonl:1", "'lable'", "'label'"],
    ),
    (
        "align",
        "bad.jsonl",
        _jsonl(_line(feedbak="Quote the ticket.")),
        ["bad.jsonl:1", "'feedbak'"],
    ),
    ("align", "bad.jsonl", _jsonl(_line(annotator=["ann"])), ["bad.jsonl:1", "'annotator'"]),
    ("align", "bad.jsonl", _jsonl(_line(feedback={"nested": "x"})), ["bad.jsonl:1", "'feedback'"]),
    ("align", "bad.jsonl", _jsonl(_line(created_at="yesterday")), ["bad.jsonl:1", "'created_at'"]),
    ("align", "bad.csv", b'id,inputs,outputs,label\ng1,"unclosed,Sorry,Pass\n', ["bad.csv"]),
    ("align", "bad.csv", b"inputs,outputs,label\nq,a,Pass\n", ["bad.csv:2", "'id'"]),
    ("align", "bad.csv", b"id,outputs,label\ng1,a,Pass,extra,cells\n", ["bad.csv:2"]),
    ("align", "bad.csv", b"id,outputs,label\ng1,caf\xe9,Pass\n", ["bad.csv:2", "UTF-8"]),
    ("align", "bad.csv", b"", ["bad.csv", "no records"]),
    ("align", "bad.csv", b"id,outputs,label\ng1,a,Nope\n", ["bad.csv:2", "'label'"]),
    ("run", "bad.jsonl", _jsonl(_line(), '{"id": "b", "outputs": "x"'), ["bad.jsonl:2"]),
    ("run", "bad.jsonl", _jsonl(_line(), _line()), ["bad.jsonl:2", "duplicate"]),
    ("run", "bad.jsonl", b'{"id": "x", "outputs": "\xc3\x28"}\n', ["bad.jsonl:1", "UTF-8"]),
    ("run", "bad.jsonl", _jsonl('{"outputs": "x"}\n'), ["bad.jsonl:1", "'id'"]),
    ("eval", "bad.jsonl", _jsonl('{"id": "e", "outputs": "x"}\n'), ["bad.jsonl:1", "label"]),
    ("eval", "bad.jsonl", _jsonl(_line(label="Perhaps")), ["bad.jsonl:1", "'label'"]),
    ("import", "bad.jsonl", b"", ["bad.jsonl", "empty"]),
    (
        "import",
        "bad.jsonl",
        EXPORT_HEAD.encode() + b'{"type": "rec\xffrd"}\n',
        ["bad.jsonl:2", "UTF-8"],
    ),
    ("import", "bad.jsonl", _jsonl('{"type": "record"}\n'), ["bad.jsonl:1", "'type'"]),
    (
        "import",
        "bad.jsonl",
        _jsonl(EXPORT_HEAD, '{"type": "record", "record": {"id": "r"'),
        ["bad.jsonl:2"],
    ),
    ("import", "bad.jsonl", _jsonl(EXPORT_HEAD, '{"type": "gadget"}\n'), ["bad.jsonl:2", "'type'"]),
    (
        "import",
        "bad.jsonl",
        _jsonl(EXPORT_HEAD, '{"type": "record", "record": {"id": ""}}\n'),
        ["bad.jsonl:2", "id"],
    ),
    (
        "import",
        "bad.jsonl",
        _jsonl(
            EXPORT_HEAD,
            '{"type": "example", "example": {"record_id": "r",'
            ' "key_text": "k", "case_text": "c"}, "vector": "AAA"}\n',
        ),
        ["bad.jsonl:2", "vector"],
    ),
    (
        "import",
        "bad.jsonl",
        _jsonl(
            EXPORT_HEAD,
            '{"type": "record", "record": {"id": "r", "label": "Pass"}, "surprise": 1}\n',
        ),
        ["bad.jsonl:2", "'surprise'"],
    ),
    (
        "import",
        "bad.jsonl",
        _jsonl(EXPORT_HEAD.replace(FORMAT, FORMAT + "9")),
        ["bad.jsonl:1"],
    ),
]


def _fingerprint(root: Path) -> str:
    """Bytes of the store after folding its WAL in: a write that slipped through would show."""
    db = sqlite3.connect(root / "cli.db")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    digest = hashlib.sha256()
    for path in sorted(root.rglob("cli.db*")):
        if path.is_file() and not path.name.endswith(("-wal", "-shm")):
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize(("command", "name", "content", "expected"), CASES)
def test_malformed_file_is_refused_and_the_store_untouched(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    name: str,
    content: bytes,
    expected: list[str],
) -> None:
    monkeypatch.setenv("MEMALIGN_CONFIG", str(tmp_path / "none.toml"))
    runner = CliRunner()
    store = ["--store", str(tmp_path / "cli.db")]

    def cli(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, [*args, *store])
        return result.exit_code, result.stderr

    assert (
        cli(
            "judge",
            "create",
            "support",
            "--output",
            "labels:Pass,Fail",
            "--instructions",
            "Good reply?",
            "--model",
            "fake",
        )[0]
        == 0
    )
    good = tmp_path / "good.jsonl"
    good.write_text(_line() + _line(id="g2", label="Fail", feedback="Quote ticket numbers."))
    assert cli("align", "support", str(good))[0] == 0
    before = _fingerprint(tmp_path)
    bad = tmp_path / name
    bad.write_bytes(content)
    args = ["import", str(bad)] if command == "import" else [command, "support", str(bad)]
    if command == "run":
        args += ["--out", str(tmp_path / "verdicts.jsonl")]
    code, stderr = cli(*args)
    message = " ".join(stderr.split())
    assert code == 2, message
    assert message.startswith("error:") and len(message) < 400, message
    for part in expected:
        assert part in message, message
    assert _fingerprint(tmp_path) == before
