"""``memalign memory | forget | export | import``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import numpy as np
import numpy.typing as npt
import typer
from rich.table import Table

from memalign.checks import explain, shortfall
from memalign.cli.common import (
    JsonOpt,
    JudgeArg,
    ModelOpt,
    StoreOpt,
    command,
    console,
    emit,
    judge_embedder,
    open_judge,
    store_for,
)
from memalign.embedders import EmbeddingClient
from memalign.errors import InputError
from memalign.io.transfer import export_judge, import_judge
from memalign.judging import DecisionChoice, fit_decision
from memalign.models import get_embedder
from memalign.records import ForgetReport
from memalign.stores import JudgeRow, MemoryStore


@command
def memory(
    name: JudgeArg,
    examples: Annotated[bool, typer.Option("--examples", help="Also list the examples.")] = False,
    history: Annotated[bool, typer.Option("--history", help="Also list memory versions.")] = False,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a judge's guidelines with provenance and status."""
    opened = store_for(store)
    row = opened.get_judge(name)
    guidelines = [g for g, _ in opened.guidelines(row.judge_id)]
    data: dict[str, object] = {
        "judge": name,
        "memory_version": row.version,
        "guidelines": [g.model_dump(mode="json") for g in guidelines],
    }
    choice = _choice(opened, row) if row.spec.memory.decision == "auto" else None
    data["decision"] = {
        "rule": choice.rule if choice else row.spec.memory.decision,
        "configured": row.spec.memory.decision,
        "scores": dict(choice.scores) if choice else {},
        "support": choice.support if choice else 0,
        # What the rules are fitted on: every example, or those the deciding checks leave.
        "fitted_on": choice.fitted_on if choice else "all",
        "by_scope": dict(choice.by_scope) if choice else {},
        "explanation": choice.describe() if choice else None,
    }
    stored_examples = opened.examples(row.judge_id)[0] if examples else []
    if examples:
        data["examples"] = [
            e.model_dump(mode="json", exclude={"key_text"}) for e in stored_examples
        ]
    if history:
        data["history"] = [h.model_dump(mode="json") for h in opened.history(row.judge_id)]

    def render() -> None:
        table = Table(
            "id", "status", "guideline", "sources", title=f"{name}: memory v{row.version}"
        )
        for g in guidelines:
            status = (
                g.status
                + (" · pinned" if g.pinned else "")
                + (" · manual" if g.origin == "manual" else "")
                + (" · check" if g.check is not None and g.check.active else "")
                + (" · check not active" if g.check is not None and not g.check.active else "")
            )
            text = g.text
            if g.check is not None and g.origin != "check":
                text += f"\ncheck: {explain(g.check)}"
            why = None if g.check is None else shortfall(g.check, row.spec.memory.check_min_bound)
            if why is not None:
                text += f"\nnot active: {why}"
            table.add_row(g.id, status, text, ", ".join(g.sources))
        console.print(table)
        if choice is not None:
            console.print(f"decision: {choice.describe()}", highlight=False, markup=False)
        else:
            rule = row.spec.memory.decision
            waiting = " (the model's rule until memory holds enough to choose)"
            console.print(
                f"decision: {rule}" + (waiting if rule == "auto" else ""),
                highlight=False,
                markup=False,
            )
        if examples:
            rows = Table("record", "label", "judge said", "agree", "feedback")
            for e in stored_examples:
                rows.add_row(
                    e.record_id, str(e.label), str(e.judge_value), str(e.agree), e.feedback or ""
                )
            console.print(rows)
        if history:
            for h in opened.history(row.judge_id):
                details = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in h.summary.items())
                console.print(
                    f"v{h.version}  {h.created_at:%Y-%m-%d %H:%M}  {h.operation}"
                    + (f"  ({details})" if details else "")
                )

    emit(data, as_json, render)


def _choice(opened: MemoryStore, row: JudgeRow) -> DecisionChoice | None:
    """What ``decision="auto"`` chooses from this memory, as judging will."""

    def embed(texts: Sequence[str]) -> npt.NDArray[np.float32]:
        # Only a pairwise judge embeds here (its responses); the model is never called.
        return EmbeddingClient(get_embedder(judge_embedder(row))).embed(texts)

    return fit_decision(row.spec, opened, row.judge_id, embed).choice


def _time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"not an ISO date or time: {value!r}", field=option) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@command
def forget(
    name: JudgeArg,
    ids: Annotated[list[str] | None, typer.Option("--id", help="Record id (repeatable).")] = None,
    annotator: Annotated[
        str | None,
        typer.Option("--annotator", help="Forget every record this annotator gave."),
    ] = None,
    before: Annotated[str | None, typer.Option("--before", help="ISO time.")] = None,
    after: Annotated[str | None, typer.Option("--after", help="ISO time.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be removed; change nothing.")
    ] = False,
    missing_ok: Annotated[
        bool,
        typer.Option(
            "--missing-ok",
            help="Forget the --id records that are stored and only list the others (a repeated "
            "deletion request); without it, an --id not in memory forgets nothing and exits 2.",
        ),
    ] = False,
    model: ModelOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete records and everything derived from them (examples, guidelines, caches)."""
    judge = open_judge(store_for(store), name, model)
    if ids and not missing_ok:
        # A mistyped id must not read as a deletion done: refuse before anything is removed.
        stored = judge.store.record_hashes(judge.judge_id, sorted(set(ids)))
        missing = [i for i in dict.fromkeys(ids) if i not in stored]
        if missing:
            shown = ", ".join(missing[:10]) + (
                f" … ({len(missing)} in all)" if len(missing) > 10 else ""
            )
            raise InputError(
                f"not in memory: {shown}; nothing was forgotten (check the ids, "
                "or pass --missing-ok to forget the others)",
                field="--id",
            )
    report: ForgetReport = judge.forget(
        ids,
        annotator=annotator,
        before=_time(before, "--before"),
        after=_time(after, "--after"),
        dry_run=dry_run,
    )

    def render() -> None:
        verb = "would remove" if dry_run else "removed"
        console.print(
            f"{verb} {len(report.records_removed)} record(s): "
            f"{', '.join(report.records_removed) or '-'}",
            highlight=False,
        )
        console.print(
            f"examples {report.examples_removed} · guidelines removed "
            f"{len(report.guidelines_removed)} · re-distilled "
            f"{len(report.guidelines_redistilled)}",
            highlight=False,
        )
        if report.records_not_found:
            console.print(f"not in memory: {', '.join(report.records_not_found)}", highlight=False)

    emit(report, as_json, render)


@command
def export(
    name: JudgeArg,
    file: Annotated[Path, typer.Argument(help="Where to write the export (JSON Lines).")],
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a judge's whole memory (spec, records, guidelines, examples, vectors) to JSONL."""
    lines = export_judge(store_for(store), name, file)
    emit(
        {"judge": name, "file": str(file), "lines": lines},
        as_json,
        lambda: console.print(f"exported {name} to {file} ({lines} lines)", highlight=False),
    )


@command
def import_(
    file: Annotated[Path, typer.Argument(help="A file written by `memalign export`.")],
    name: Annotated[str | None, typer.Option("--name", help="Import under another name.")] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a judge from an export file (checked in full before anything is written)."""
    row = import_judge(store_for(store, create=True), file, name=name)
    emit(
        {"judge": row.spec.name, "memory_version": row.version},
        as_json,
        lambda: console.print(f"imported {row.spec.name} (memory v{row.version})", highlight=False),
    )
