"""``memalign demo``: the main job, end to end on the embedded default model."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import TaskID
from rich.table import Table

from memalign.cli.common import ConcurrencyOpt, JsonOpt, ModelOpt, command, console, emit, settings
from memalign.cli.feedback import progress as progress_bars
from memalign.demo import DemoResult, run_demo
from memalign.models import build_models
from memalign.stores import open_store


def _render(result: DemoResult) -> None:
    console.print("Guidelines learned from the experts' feedback", style="bold")
    for guideline in result.alignment.new_guidelines:
        console.print(
            f"  [{guideline.id}] {guideline.text}  ← {', '.join(guideline.sources)}",
            highlight=False,
            markup=False,
        )
    table = Table(
        "",
        "accuracy",
        "Cohen's κ",
        "n",
        "errors",
        "LLM calls",
        "tokens",
        "seconds",
        title="support_reply_demo on 40 test cases (SYNTHETIC task)",
    )
    for phase in (result.before, result.after):
        m, u = phase.metrics, phase.usage
        table.add_row(
            phase.name.replace("judging ", ""),
            f"{m.get('accuracy', 0):.3f}",
            f"{m.get('kappa', 0):.3f}",
            str(m["n"]),
            str(m["errors"]),
            str(u.llm_calls),
            f"{u.prompt_tokens + u.completion_tokens:,}",
            f"{u.seconds:.1f}",
        )
    fitted = result.after.metrics
    if fitted.get("argmax_accuracy") is not None:
        table.add_row(
            "aligned, argmax",
            f"{fitted['argmax_accuracy']:.3f}",
            f"{fitted['argmax_kappa']:.3f}",
            str(fitted["n"]),
            "",
            "",
            "",
            "",
        )
        console.print(f"aligned verdicts decided by: {fitted['decision']}", highlight=False)
    a = result.alignment.usage
    table.add_row(
        "alignment (20 records)",
        "",
        "",
        "",
        "",
        str(a.llm_calls),
        f"{a.prompt_tokens + a.completion_tokens:,}",
        f"{a.seconds:.1f}",
    )
    console.print(table)


@command
def demo(
    model: ModelOpt = None,
    store: Annotated[
        str | None,
        typer.Option("--store", help="Keep the demo judge here (default: a temporary store)."),
    ] = None,
    concurrency: ConcurrencyOpt = 1,
    as_json: JsonOpt = False,
) -> None:
    """Judge a sample task unaligned → align on expert feedback → judge again; print the gain."""
    config = settings()
    chosen = model or config.model
    models = build_models(
        chosen,
        embedder=None if chosen != "fake" else "hash",
        reference_price=config.reference_price,
    ).as_kwargs()
    with tempfile.TemporaryDirectory() as tmp:
        opened = open_store(store or Path(tmp) / "demo.db")
        bars = progress_bars()
        tasks: dict[str, TaskID] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bars.add_task(name, total=total)
            bars.update(tasks[name], completed=done)

        with bars:
            result = run_demo(opened, models, progress=progress, concurrency=concurrency)
        opened.close()

    def render() -> None:
        _render(result)
        if chosen == "fake":
            console.print(
                "model: fake — deterministic stand-ins that exercise the loop; their "
                "accuracy says nothing about memalign's quality.",
                highlight=False,
            )

    emit({"model": chosen, **result.as_dict()}, as_json, render)
