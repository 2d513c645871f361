"""Every command and option explains itself in ``--help``: a new option without help text, or
a command summary that the command list would show broken over lines, fails here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from memalign.cli import app


def _commands(group: Any, path: str = "memalign") -> Iterator[tuple[str, Any]]:
    # typer vendors its own click, so walk by attribute rather than by click's classes.
    yield path, group
    for name, command in getattr(group, "commands", {}).items():
        yield from _commands(command, f"{path} {name}")


COMMANDS = list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_and_option_has_help(path: str, command: Any) -> None:
    summary = (command.help or "").strip().split("\n\n")[0]
    assert summary, f"{path} has no help text"
    # typer's command list prints the first paragraph with its line breaks kept.
    assert "\n" not in summary, f"{path}: first paragraph of its help spans lines"
    for param in command.params:
        if param.param_type_name == "option" and param.name not in {
            "help",
            "install_completion",
            "show_completion",
        }:
            assert getattr(param, "help", None), f"{path} {param.opts[0]} has no help text"
        if param.param_type_name == "argument":
            assert getattr(param, "help", None), f"{path} argument {param.name} has no help text"


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("memalign ")


def test_align_help_documents_the_record_format() -> None:
    text = " ".join(CliRunner().invoke(app, ["align", "--help"]).output.lower().split())
    for word in ("inputs", "outputs", "label", "feedback", "annotator", "pairwise"):
        assert word in text, word
