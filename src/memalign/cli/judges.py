"""``memalign judge create | list | show | update | delete``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from memalign.cli.common import (
    JsonOpt,
    JudgeArg,
    ModelOpt,
    StoreOpt,
    command,
    console,
    emit,
    err_console,
    settings,
    store_for,
)
from memalign.errors import InputError
from memalign.judge_spec import (
    DECISIONS,
    Decision,
    JudgeSpec,
    MemoryConfig,
    decision_named,
    parse_output,
)
from memalign.models import (
    check_embedder_string,
    check_model_string,
    check_spec_models,
    default_embedder,
)
from memalign.stores import ChangeSet, MemoryStore

app = typer.Typer(
    help="Create, inspect, change and delete judges.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
ReflectionOpt = Annotated[
    str | None,
    typer.Option("--reflection-model", help="Model that distils guidelines (default: --model)."),
]
EmbedderOpt = Annotated[
    str | None,
    typer.Option(
        "--embedder", help="hash | local | openai/<m> | URL#model (default: follows the model)."
    ),
]


def _summary(store: MemoryStore, name: str) -> dict[str, object]:
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


def _decision(value: str) -> Decision:
    chosen = decision_named(value)
    if chosen is not None:
        return chosen
    raise InputError(
        f"unknown decision rule {value!r}; use {', '.join(DECISIONS)}", field="--decision"
    )


@app.command("create")
@command
def create(
    name: JudgeArg,
    output: Annotated[
        str, typer.Option("--output", help="binary | labels:A,B | scale:1-5 | float | pairwise")
    ],
    instructions: Annotated[
        str | None,
        typer.Option(
            "--instructions",
            help="The criterion, with {{ inputs }}, {{ outputs }}, {{ expectations }} where the "
            "case's fields go.",
        ),
    ] = None,
    instructions_file: Annotated[
        Path | None, typer.Option("--instructions-file", help="Read the instructions (UTF-8).")
    ] = None,
    model: ModelOpt = None,
    reflection_model: ReflectionOpt = None,
    embedder: EmbedderOpt = None,
    k: Annotated[int, typer.Option("--k", help="Examples retrieved per case.")] = 5,
    require_approval: Annotated[
        bool,
        typer.Option(
            "--require-approval",
            help="Distilled guidelines wait as pending until approved (`memalign guideline "
            "approve`).",
        ),
    ] = False,
    decision: Annotated[
        str,
        typer.Option(
            "--decision",
            help="auto | llm | blend | embedding | combined | vote: auto chooses among llm, "
            "embedding, combined and vote by cross-validation on memory; blend weighs the "
            "retrieved examples' labels in (two labels); embedding decides by a linear model "
            "over the stored example embeddings; combined adds its log-odds to the model's; "
            "vote takes the retrieved examples' label vote (two labels)",
        ),
    ] = "auto",
    propose_checks: Annotated[
        bool,
        typer.Option(
            "--propose-checks",
            help="Ask the reflection call for a check with each guideline (validated on the "
            "labelled records before it acts); for reflection models that write sound patterns.",
        ),
    ] = False,
    reflection_cases: Annotated[
        bool,
        typer.Option(
            "--reflection-cases",
            help="Let reflection read the case of each record the expert explained, not only "
            "the label and the expert's words (about three times the tokens).",
        ),
    ] = False,
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
        except UnicodeDecodeError as exc:
            raise InputError(
                f"not UTF-8 text (byte {exc.start})", file=str(instructions_file)
            ) from None
    # The embedder is fixed once memory holds vectors (they are only comparable with their own
    # model); by default it follows the model setting, so a fake-model judge needs no extras.
    config = settings()
    embedder = embedder or config.embedder or default_embedder(model or config.model)
    spec = JudgeSpec(
        name=name,
        instructions=str(instructions),
        output=parse_output(output),
        memory=MemoryConfig(
            k=k,
            require_approval=require_approval,
            decision=_decision(decision),
            propose_checks=propose_checks,
            reflection_cases=reflection_cases,
        ),
        model=model,
        reflection_model=reflection_model,
        embedder=embedder,
    )
    check_spec_models(spec)
    opened = store_for(store, create=True)
    opened.create_judge(spec)
    summary = _summary(opened, name)
    emit(
        summary,
        as_json,
        lambda: console.print(f"created judge {name} ({spec.output.render()})"),
    )


@app.command("list")
@command
def list_judges(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """List the judges in the store."""
    opened = store_for(store)
    rows = [_summary(opened, row.spec.name) for row in opened.list_judges()]

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
def show(name: JudgeArg, store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Show one judge's spec and memory size."""
    summary = _summary(store_for(store), name)
    emit(summary, as_json, lambda: _render_summary(summary))


def _render_summary(summary: dict[str, object]) -> None:
    for key, value in summary.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        elif value is None:
            value = "(default)"
        console.print(f"{key}: ", style="bold", end="")
        console.print(str(value))


@app.command("update")
@command
def update(
    name: JudgeArg,
    model: ModelOpt = None,
    reflection_model: ReflectionOpt = None,
    embedder: EmbedderOpt = None,
    propose_checks: Annotated[
        bool | None,
        typer.Option(
            "--propose-checks/--no-propose-checks",
            help="Whether the reflection call proposes a check with each guideline.",
        ),
    ] = None,
    decision: Annotated[
        str | None,
        typer.Option(
            "--decision",
            help="What decides a verdict the checks leave: auto (chosen from memory), llm, "
            "blend, embedding, combined or vote.",
        ),
    ] = None,
    reflection_cases: Annotated[
        bool | None,
        typer.Option(
            "--reflection-cases/--no-reflection-cases",
            help="Whether reflection reads the case of each record the expert explained.",
        ),
    ] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a judge's models, check proposals, what reflection reads or decision rule.

    The embedder can change only while memory holds no vectors (examples or guidelines):
    stored vectors are not comparable across embedders."""
    opened = store_for(store)
    row = opened.get_judge(name)
    changes: dict[str, str] = {}
    for named in (model, reflection_model):
        if named is not None:
            check_model_string(named)
    if embedder is not None:
        check_embedder_string(embedder)
    if model is not None and model != row.spec.model:
        changes["model"] = model
    if reflection_model is not None and reflection_model != row.spec.reflection_model:
        changes["reflection_model"] = reflection_model
    if embedder is not None and embedder != row.spec.embedder:
        vectors = opened.example_count(row.judge_id) + sum(
            1 for _, v in opened.guidelines(row.judge_id) if v is not None
        )
        if vectors:
            raise InputError(
                f"judge {name!r} holds {vectors} stored vector(s) made with "
                f"{row.spec.embedder!r}; export, forget or re-create it to change the embedder",
                field="--embedder",
            )
        changes["embedder"] = embedder
    memory = row.spec.memory
    if propose_checks is not None and propose_checks != memory.propose_checks:
        memory = replace(memory, propose_checks=propose_checks)
        changes["propose_checks"] = "on" if propose_checks else "off"
    if reflection_cases is not None and reflection_cases != memory.reflection_cases:
        memory = replace(memory, reflection_cases=reflection_cases)
        changes["reflection_cases"] = "on" if reflection_cases else "off"
    chosen = _decision(decision) if decision is not None else memory.decision
    if chosen != memory.decision:
        memory = replace(memory, decision=chosen)
        changes["decision"] = chosen
    asked = (model, reflection_model, embedder, propose_checks, decision, reflection_cases)
    if all(option is None for option in asked):
        raise InputError(
            "nothing to change: give --model, --reflection-model, --embedder, "
            "--[no-]propose-checks, --[no-]reflection-cases or --decision"
        )
    if not changes:  # what was asked for already holds: no new memory version
        summary = _summary(opened, name)
        emit(summary, as_json, lambda: _render_summary(summary))
        if not as_json:
            err_console.print(f"{name}: already so; nothing changed", markup=False)
        return
    opened.commit(
        row.judge_id,
        ChangeSet(
            operation="judge.update",
            spec=replace(
                row.spec,
                model=changes.get("model", row.spec.model),
                reflection_model=changes.get("reflection_model", row.spec.reflection_model),
                embedder=changes.get("embedder", row.spec.embedder),
                memory=memory,
            ),
            summary=changes,
        ),
    )
    summary = _summary(opened, name)
    emit(summary, as_json, lambda: _render_summary(summary))


@app.command("delete")
@command
def delete(
    name: JudgeArg,
    yes: Annotated[bool, typer.Option("--yes", help="Do delete (otherwise a dry run).")] = False,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete a judge and everything in its memory (a dry run without --yes).

    Records, guidelines, examples, vectors, cached verdicts and history go, then the store is
    compacted so none of it stays in the files. Needs no model."""
    opened = store_for(store)
    summary = _summary(opened, name)
    if yes:
        opened.delete_judge(name)
    result = {"judge": name, "deleted": yes, "dry_run": not yes, "memory": summary}

    def render() -> None:
        verb = "deleted" if yes else "would delete (add --yes)"
        console.print(
            f"{verb} judge {name}: {summary['examples']} example(s), "
            f"guidelines {summary['guidelines']}, memory v{summary['memory_version']}"
        )

    emit(result, as_json, render)
