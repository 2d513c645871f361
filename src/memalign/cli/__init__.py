"""The ``memalign`` command line (typer + rich). Every command takes ``--json``; every command
that touches memory takes ``--store``. Bad input exits with code 2 and writes nothing."""

from __future__ import annotations

import typer

from memalign.cli import demo, feedback, judges, memory

app = typer.Typer(
    name="memalign",
    help="Align LLM judges to domain experts through memory.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(judges.app, name="judge")
app.add_typer(memory.guideline_app, name="guideline")
app.command("align")(feedback.align)
app.command("run")(feedback.run)
app.command("eval")(feedback.eval)
app.command("memory")(memory.memory)
app.command("forget")(memory.forget)
app.command("export")(memory.export)
app.command("import")(memory.import_)
app.command("demo")(demo.demo)


def main() -> None:
    app()
