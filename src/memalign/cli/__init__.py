"""The ``memalign`` command line (typer + rich). Every command takes ``--json``; every command
that touches memory takes ``--store``. Bad input exits with code 2 and writes nothing."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from memalign.cli import demo, feedback, guidelines, judges, memory, mlflow, serve
from memalign.cli.usage import OneLineUsageErrors

app = typer.Typer(
    name="memalign",
    help="Align LLM judges to domain experts through memory.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Markdown joins a docstring's wrapped lines into paragraphs; "rich" mode would keep every
    # line break of the source in the printed help.
    rich_markup_mode="markdown",
    cls=OneLineUsageErrors,
)


def _print_version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"memalign {version('memalign')}")
        except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
            typer.echo("memalign (not installed)")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print memalign's version and exit.",
        ),
    ] = False,
) -> None:
    """Align LLM judges to domain experts through memory."""


app.add_typer(judges.app, name="judge")
app.add_typer(guidelines.guideline_app, name="guideline")
app.add_typer(mlflow.app, name="mlflow")
app.command("align")(feedback.align)
app.command("run")(feedback.run)
app.command("eval")(feedback.eval)
app.command("memory")(memory.memory)
app.command("forget")(memory.forget)
app.command("export")(memory.export)
app.command("import")(memory.import_)
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)


def main() -> None:
    app()
