"""``memalign align | run | eval``: learning from feedback files and judging case files."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from memalign.checks import explain
from memalign.cli.common import (
    CasesFileArg,
    ConcurrencyOpt,
    FeedbackFileArg,
    JsonOpt,
    JudgeArg,
    ModelOpt,
    StoreOpt,
    command,
    console,
    emit,
    err_console,
    open_judge,
    store_for,
)
from memalign.errors import InputError, RecordConflictError
from memalign.evaluation import agreement_report, usage_line, verdict_usage
from memalign.io.feedback import Row, parse_field_map, read_records
from memalign.judge import Judge
from memalign.records import AlignmentReport, Verdict

MapOpt = Annotated[
    list[str] | None,
    typer.Option("--map", help="Map a field to your column: --map id=ticket_id (repeatable)."),
]


def progress() -> Progress:
    return Progress(
        # The description can hold a judge name: never read as markup.
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        # A bar is for a person watching a terminal; piped or captured, rich would still
        # leave an empty line on stderr where the bar was.
        disable=not err_console.is_terminal,
    )


def render_report(report: AlignmentReport) -> None:
    table = Table(
        "records",
        "added",
        "updated",
        "unchanged",
        "rejected",
        "disagreements",
        title=f"aligned {report.judge} → memory v{report.memory_version}",
    )
    read = (
        report.records_added
        + report.records_updated
        + report.records_unchanged
        + report.records_rejected
    )
    table.add_row(
        str(read),
        str(report.records_added),
        str(report.records_updated),
        str(report.records_unchanged),
        str(report.records_rejected),
        str(report.disagreements),
    )
    console.print(table)
    console.print(
        f"guidelines: {report.guidelines_proposed} proposed, +{report.guidelines_added} added, "
        f"{report.guidelines_merged} merged, {report.guidelines_removed} removed"
        + (
            f" ({report.reflection_unreadable} unreadable reflection answers)"
            if report.reflection_unreadable
            else ""
        )
        + f" · examples: +{report.examples_added}"
        + (
            f" · {report.decided_by_checks} judged by checks (no model call)"
            if report.decided_by_checks
            else ""
        ),
        highlight=False,
    )
    if report.records_replaced:
        shown = ", ".join(report.records_replaced[:20])
        more = " …" if len(report.records_replaced) > 20 else ""
        console.print(
            f"replaced {len(report.records_replaced)} stored record(s) that had other content "
            f"(with what was derived from them): {shown}{more}",
            style="yellow",
        )
    for guideline in report.new_guidelines:
        console.print(
            f"  [{guideline.id}] {guideline.text}  ← {', '.join(guideline.sources)}",
            highlight=False,
            markup=False,
        )
    for guideline in report.checks_added:
        what = guideline.text if guideline.check is None else explain(guideline.check)
        console.print(f"  check [{guideline.id}] {what}", highlight=False, markup=False)
    if report.checks_refuted:
        console.print(
            "  checks no longer borne out by the labelled records (kept, not active): "
            + ", ".join(report.checks_refuted),
            style="yellow",
        )
    for dropped in report.guidelines_dropped:
        # Shown so an expert can see what was refused and why, e.g. to add the missing feedback.
        console.print(
            f"  dropped ({dropped.reason.replace('_', ' ')}): {dropped.text}",
            style="dim",
            highlight=False,
            markup=False,
        )
    usage = report.usage
    cost = "n/a" if usage.cost_usd is None else f"${usage.cost_usd:.4f}"
    console.print(
        f"LLM calls {usage.llm_calls} · tokens {usage.prompt_tokens}+{usage.completion_tokens} · "
        f"embeddings {usage.embedded_texts} · cost {cost} · {usage.seconds:.1f}s",
        highlight=False,
    )


def judge_rows(
    judge: Judge,
    rows: list[Row],
    concurrency: int,
    label: str,
    on_verdict: Callable[[str, Verdict], None] | None = None,
) -> list[Verdict]:
    """Judge the records of a file with a progress bar; verdicts in file order."""
    cases = [row.record.case for row in rows]
    with progress() as bar:
        task = bar.add_task(label, total=len(cases))

        def done(index: int, verdict: Verdict) -> None:
            if on_verdict is not None:
                on_verdict(rows[index].record.id, verdict)
            bar.advance(task)

        return judge.judge_many(cases, concurrency=concurrency, on_done=done)


@command
def align(
    name: JudgeArg,
    file: FeedbackFileArg,
    detect: Annotated[
        bool, typer.Option("--detect/--no-detect", help="Run the judge to find disagreements.")
    ] = True,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite/--no-overwrite",
            help="A stored id with new content replaces the old record and what came from it "
            "(default), or refuses the whole file.",
        ),
    ] = True,
    field_map: MapOpt = None,
    model: ModelOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Align a judge on a JSONL or CSV file of expert feedback (all or nothing).

    One record per line (CSV: per row) with: id; inputs, outputs and/or expectations (the case:
    text or JSON); label and/or feedback (the expert's verdict and why); optional annotator,
    verdict (what the judge said, if recorded) and created_at (ISO time). Pairwise judges take
    outputs as {"A": …, "B": …} or a two-item list. --map NAME=COLUMN reads a field from another
    column."""
    opened = store_for(store)
    judge = open_judge(opened, name, model)
    rows = read_records(
        file, judge.spec, field_map=parse_field_map(field_map or []), require_signal=True
    )
    try:
        with err_console.status(Text(f"aligning {name} on {len(rows)} records…")):
            report = judge.align(
                [row.record for row in rows],
                detect_disagreements=detect,
                on_existing="replace" if overwrite else "refuse",
            )
    except RecordConflictError as refused:  # the library cannot know the file's lines
        first = next(row for row in rows if row.record.id == refused.ids[0])
        raise InputError(
            f"{len(refused.ids)} id(s) already stored with other content; nothing was changed "
            "(omit --no-overwrite to replace them, or use new ids)",
            file=str(file),
            line=first.line,
            field="id",
            record_id=first.record.id,
        ) from None
    emit(report, as_json, lambda: render_report(report))


def _check_output(out: Path) -> None:
    """Refuse an output path that cannot be written before anything is judged."""
    if out.is_dir():
        raise InputError("is a directory; --out wants a file", file=str(out), field="--out")
    if not out.parent.is_dir():
        raise InputError(f"folder {str(out.parent)!r} does not exist", file=str(out), field="--out")


def _verdict_line(record_id: str, verdict: Verdict) -> dict[str, Any]:
    return {"id": record_id, **verdict.model_dump(mode="json", exclude={"judge"})}


@command
def run(
    name: JudgeArg,
    file: CasesFileArg,
    out: Annotated[
        Path | None, typer.Option("--out", help="Verdicts JSONL (default: stdout).")
    ] = None,
    concurrency: ConcurrencyOpt = 1,
    resume: Annotated[
        bool, typer.Option("--resume", help="Judge only ids without a good verdict in --out.")
    ] = False,
    field_map: MapOpt = None,
    to_mlflow: Annotated[
        bool,
        typer.Option(
            "--to-mlflow",
            help="Also log each verdict on the MLflow trace its id names (an LLM-judge "
            "assessment; tracking URI from MLFLOW_TRACKING_URI). Values are the judge's labels "
            "(yes/no, not true/false as a bool MLflow judge returns). Ids MLflow refuses are "
            "listed and exit 1. Needs memalign[mlflow].",
        ),
    ] = False,
    model: ModelOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Judge every record of a file; one verdict per line (JSON Lines).

    Verdicts go to --out, or to stdout as JSON Lines, each written as soon as it is judged.
    Exit 1 if any record errored, naming them; `--resume` then judges only those, any not
    reached, and a last line cut off by a crash."""
    if resume and out is None:
        raise InputError("--resume needs --out", field="--resume")
    if out is not None:
        _check_output(out)
    if to_mlflow:
        # Imported before judging, so a missing extra is named before any model call.
        from memalign.integrations.mlflow import log_run_verdicts
    judge = open_judge(store_for(store), name, model)
    rows = read_records(file, judge.spec, field_map=parse_field_map(field_map or []))
    done_ids: set[str] = set()
    if resume and out is not None and out.exists():
        kept = []
        try:
            text_all = out.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InputError("verdict file is not UTF-8", file=str(out)) from None
        texts = text_all.splitlines()
        for number, text in enumerate(texts, start=1):
            try:
                line = json.loads(text)
                record_id = str(line["id"])
            except (json.JSONDecodeError, KeyError, TypeError):
                if number == len(texts) and not text_all.endswith("\n"):
                    # A last line cut off mid-write is what a crash leaves: judge it again.
                    break
                raise InputError("unreadable verdict line", file=str(out), line=number) from None
            if line.get("error") is None:
                done_ids.add(record_id)
                kept.append(text + "\n")
        # Records that errored are judged again: their old lines go, atomically, first.
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text("".join(kept), encoding="utf-8")
        tmp.replace(out)
    todo = [row for row in rows if row.record.id not in done_ids]
    handle = out.open("a" if resume else "w", encoding="utf-8") if out is not None else None
    lines: list[dict[str, Any]] = []
    lock = threading.Lock()  # verdicts arrive from worker threads

    def write(record_id: str, verdict: Verdict) -> None:
        line = _verdict_line(record_id, verdict)
        with lock:
            lines.append(line)
            text = json.dumps(line, ensure_ascii=False) + "\n"
            # Verdicts stream as they come (to --out, or as JSON Lines on stdout), so a long
            # run shows its first results at once and a crash keeps what was judged.
            if handle is not None:
                handle.write(text)
                handle.flush()
            elif not as_json:
                sys.stdout.write(text)
                sys.stdout.flush()

    try:
        verdicts = judge_rows(judge, todo, concurrency, f"judging with {name}", write)
    finally:
        if handle is not None:
            handle.close()
    failed = [row.record.id for row, v in zip(todo, verdicts, strict=True) if not v.ok]
    errors = len(failed)
    logged = None
    if to_mlflow:
        pairs = [(row.record.id, v) for row, v in zip(todo, verdicts, strict=True)]
        logged = log_run_verdicts(judge, pairs, judge.llm.name)
    usage = verdict_usage(verdicts)
    summary = {
        "judged": len(verdicts),
        "skipped": len(rows) - len(todo),
        "errors": errors,
        "failed_ids": failed,
        "out": str(out) if out else None,
        "usage": usage,
    }
    if logged is not None:
        summary["logged_to_mlflow"] = logged.logged
        summary["mlflow_failed_ids"] = list(logged.failed)
    emit(
        {**summary, "verdicts": lines if out is None else None},
        as_json,
        lambda: err_console.print(
            f"judged {len(verdicts)}, skipped {summary['skipped']}, errors {errors}; "
            + usage_line(usage),
            highlight=False,
            markup=False,
        ),
    )
    if logged is not None and logged.failed:
        for record_id, reason in list(logged.failed.items())[:20]:
            # MLflow's reasons hold brackets ("[Errno 111]") that Rich would read as markup.
            err_console.print(
                f"not logged to MLflow: {record_id}: {reason}", style="red", markup=False
            )
    if errors:
        shown = ", ".join(failed[:20]) + (" …" if errors > 20 else "")
        err_console.print(f"{errors} record(s) errored: {shown}", style="red")
    if errors or (logged is not None and logged.failed):
        raise typer.Exit(1)


@command
def eval(
    name: JudgeArg,
    file: CasesFileArg,
    concurrency: ConcurrencyOpt = 1,
    field_map: MapOpt = None,
    model: ModelOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Judge labelled records and report agreement with the experts."""
    judge = open_judge(store_for(store), name, model)
    rows = read_records(
        file, judge.spec, field_map=parse_field_map(field_map or []), require_label=True
    )
    verdicts = judge_rows(judge, rows, concurrency, f"evaluating {name}")
    report = agreement_report(
        judge.spec.output,
        [r.record.label for r in rows],
        [v.value if v.ok else None for v in verdicts],
    )
    usage = verdict_usage(verdicts)
    result = {"judge": name, "memory_version": judge.version, **report, "usage": usage}

    def render() -> None:
        table = Table("metric", "value", title=f"{name} vs experts (memory v{judge.version})")
        for key in (
            "n",
            "errors",
            "accuracy",
            "balanced_accuracy",
            "kappa",
            "ccc",
            "pairwise_accuracy",
            "pairwise_accuracy_ties_half",
        ):
            if result.get(key) is not None:
                value = result[key]
                table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
        console.print(table)
        console.print(usage_line(usage), highlight=False, markup=False)
        confusion = result.get("confusion")
        if isinstance(confusion, dict):
            classes = confusion["classes"]
            matrix = Table("expert \\ judge", *map(str, classes), title="confusion")
            for label, counts in zip(classes, confusion["matrix"], strict=True):
                matrix.add_row(str(label), *map(str, counts))
            console.print(matrix)

    emit(result, as_json, render)
