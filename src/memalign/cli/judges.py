"""``memalign judge create | list | show``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from memalign.cli.common import (
    JsonOpt,
    ModelOpt,
    StoreOpt,
    command,
    console,
    emit,
    settings,
    store_for,
)
from memalign.errors import InputError
from memalign.judge_spec import JudgeSpec, MemoryConfig, parse_output

app = typer.Typer(help="Create and inspect judges.", no_args_is_help=True)


def _summary(store_path: str | None, name: str) -> dict[str, object]:
    store = store_for(store_path)
    row = store.get_judge(name)
    guidelines = store.guidelines(row.judge_id)
    examples, _ = store.examples(row.judge_id)
    return {
        "name": row.spec.name,
        "output": row.spec.output.render(),
        "instructions": row.spec.instructions,
        "model": row.spec.model,
        "reflection_model": row.spec.reflection_model,
        "embedder": row.spec.embedder,
        "memory_version": row.version,
        "guidelines": {
            s: sum(1 for g, _ in guidelines if g.status == s)
            for s in ("active", "pending", "retired")
        },
        "examples": len(examples),
        "memory": row.spec.to_dict()["memory"],
    }


def _decision(value: str) -> Literal["llm", "blend"]:
    if value not in ("llm", "blend"):
        raise InputError(f"unknown decision rule {value!r}; use llm or blend", field="--decision")
    return "blend" if value == "blend" else "llm"


@app.command("create")
@command
def create(
    name: str,
    output: Annotated[
        str, typer.Option("--output", help="binary | labels:A,B | scale:1-5 | float | pairwise")
    ],
    instructions: Annotated[str | None, typer.Option("--instructions")] = None,
    instructions_file: Annotated[Path | None, typer.Option("--instructions-file")] = None,
    model: ModelOpt = None,
    reflection_model: Annotated[str | None, typer.Option("--reflection-model")] = None,
    embedder: Annotated[str | None, typer.Option("--embedder")] = None,
    k: Annotated[int, typer.Option("--k", help="Examples retrieved per case.")] = 5,
    require_approval: Annotated[bool, typer.Option("--require-approval")] = False,
    decision: Annotated[
        str,
        typer.Option(
            "--decision",
            help="llm | blend (binary judges on models with "
            "probabilities: also weigh the retrieved examples' labels)",
        ),
    ] = "llm",
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a judge: a named criterion with instructions and an output type."""
    if (instructions is None) == (instructions_file is None):
        raise InputError("give exactly one of --instructions or --instructions-file")
    if instructions_file is not None:
        try:
            instructions = instructions_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(
                f"cannot read file: {exc.strerror}", file=str(instructions_file)
            ) from None
    # The embedder is fixed at creation: memory vectors are only comparable with their own model.
    embedder = embedder or settings().embedder or ("hash" if model == "fake" else "local")
    spec = JudgeSpec(
        name=name,
        instructions=str(instructions),
        output=parse_output(output),
        memory=MemoryConfig(k=k, require_approval=require_approval, decision=_decision(decision)),
        model=model,
        reflection_model=reflection_model,
        embedder=embedder,
    )
    store_for(store).create_judge(spec)
    summary = _summary(store, name)
    emit(
        summary,
        as_json,
        lambda: console.print(f"created judge [bold]{name}[/bold] ({spec.output.render()})"),
    )


@app.command("list")
@command
def list_judges(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """List the judges in the store."""
    opened = store_for(store)
    rows = [_summary(store, row.spec.name) for row in opened.list_judges()]

    def render() -> None:
        table = Table("judge", "output", "model", "version", "guidelines", "examples")
        for row in rows:
            counts = row["guidelines"]
            assert isinstance(counts, dict)
            table.add_row(
                str(row["name"]),
                str(row["output"]),
                str(row["model"] or "default"),
                str(row["memory_version"]),
                str(counts["active"]),
                str(row["examples"]),
            )
        console.print(table)

    emit({"judges": rows}, as_json, render)


@app.command("show")
@command
def show(name: str, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Show one judge's spec and memory size."""
    summary = _summary(store, name)

    def render() -> None:
        for key, value in summary.items():
            console.print(f"[bold]{key}[/bold]: {value}", highlight=False)

    emit(summary, as_json, render)
