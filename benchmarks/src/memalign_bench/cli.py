"""``memalign-bench``: the reproduction of the published experiments — learning curves with
cost per shard (checkpointed and resumable), the ablations lined up, and DSPy's optimisers side
by side — on the product's own CLI conventions (``--json``, one-line errors, exit code 2)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, cast

import typer

from memalign.cli.common import JsonOpt, command, console, emit, err_console, settings
from memalign.cli.feedback import progress as progress_bars
from memalign.errors import InputError
from memalign.models import build_models
from memalign_bench import ablation_report, baselines_report
from memalign_bench.baselines import ALL_METHODS, BaselineConfig, run_baselines
from memalign_bench.curves import CurveConfig, Decision, MemoryMode, Signal, run_curve
from memalign_bench.datasets import DATASETS
from memalign_bench.report import markdown, plot


def _ints(text: str, option: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise InputError(f"want comma-separated integers, got {text!r}", field=option) from None


@command
def curves(
    dataset: Annotated[str, typer.Argument(help=f"One of: {', '.join(DATASETS)}")],
    data: Annotated[Path, typer.Option("--data", help="The shared datasets folder.")],
    out: Annotated[Path, typer.Option("--out", help="Results, stores, report and plot.")],
    model: Annotated[str | None, typer.Option("--model")] = None,
    seeds: Annotated[str, typer.Option("--seeds")] = "0,1,2",
    shards: Annotated[str, typer.Option("--shards")] = "0,2,5,10,20,50",
    test_limit: Annotated[int | None, typer.Option("--test-limit", min=1)] = None,
    seen_limit: Annotated[
        int | None, typer.Option("--seen-limit", min=1, help="Seen quality on at most N records.")
    ] = None,
    example_chars: Annotated[
        int | None,
        typer.Option("--example-chars", min=1, help="Show each retrieved example's first N chars."),
    ] = None,
    signal: Annotated[str, typer.Option("--signal", help="both | label | feedback")] = "both",
    memory: Annotated[str, typer.Option("--memory", help="both | semantic | episodic")] = "both",
    decision: Annotated[
        str, typer.Option("--decision", help="auto | llm | blend | embedding | combined | vote")
    ] = "auto",
    checks: Annotated[
        bool,
        typer.Option(
            "--checks", help="Also score each guideline asked as its own yes/no call (costs calls)."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run a learning curve on a dataset (resumes from --out after an interruption)."""
    if dataset not in DATASETS:
        raise InputError(f"unknown dataset {dataset!r}; one of {list(DATASETS)}", field="dataset")
    if signal not in ("both", "label", "feedback"):
        raise InputError(f"unknown signal {signal!r}", field="--signal")
    if memory not in ("both", "semantic", "episodic"):
        raise InputError(f"unknown memory mode {memory!r}", field="--memory")
    if decision not in ("auto", "llm", "blend", "embedding", "combined", "vote"):
        raise InputError(f"unknown decision rule {decision!r}", field="--decision")
    config_file = settings()
    chosen = model or config_file.model
    config = CurveConfig(
        dataset=dataset,
        model=chosen,
        shards=_ints(shards, "--shards"),
        seeds=_ints(seeds, "--seeds"),
        test_limit=test_limit,
        seen_limit=seen_limit,
        example_chars=example_chars,
        signal=cast(Signal, signal),
        memory=cast(MemoryMode, memory),
        decision=cast(Decision, decision),
        checks=checks,
    )

    def models() -> dict[str, object]:
        return build_models(chosen, reference_price=config.reference_price).as_kwargs()

    bars = progress_bars()
    task = bars.add_task(f"bench {dataset}", total=len(config.seeds) * len(config.shards))
    with bars:
        results = run_curve(
            config,
            data,
            out,
            models,
            progress=lambda _name, done, _total: bars.update(task, completed=done),
        )
    if "skipped" in results:
        emit(results, as_json, lambda: console.print(results["skipped"]))
        return
    command_line = "memalign-bench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    report_path = out / f"{config.run_name}.md"
    report_path.write_text(markdown(results, command_line))
    plot(results, out / f"{config.run_name}.png")
    emit(results, as_json, lambda: console.print(report_path.read_text(), markup=False))


@command
def baselines(
    dataset: Annotated[str, typer.Argument(help=f"One of: {', '.join(DATASETS)}")],
    data: Annotated[Path, typer.Option("--data", help="The shared datasets folder.")],
    out: Annotated[Path, typer.Option("--out", help="Results, store, report and plot.")],
    model: Annotated[
        str, typer.Option("--model", help="local, local:0.5b, a GGUF path or URL#model.")
    ] = "local",
    methods: Annotated[str, typer.Option("--methods")] = ",".join(ALL_METHODS),
    shards: Annotated[str, typer.Option("--shards")] = "0,10,50",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    test_limit: Annotated[int | None, typer.Option("--test-limit", min=1)] = None,
    threads: Annotated[
        int | None, typer.Option("--threads", min=1, help="Parallel calls (URL models only).")
    ] = None,
    step_budget: Annotated[
        float | None,
        typer.Option("--step-budget", min=1, help="Stop a DSPy optimiser after N seconds."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """memalign next to DSPy's MIPROv2, GEPA and SIMBA on one model, counted by one meter."""
    if dataset not in DATASETS:
        raise InputError(f"unknown dataset {dataset!r}; one of {list(DATASETS)}", field="dataset")
    config = BaselineConfig(
        dataset=dataset,
        model=model,
        methods=tuple(m.strip() for m in methods.split(",") if m.strip()),
        shards=_ints(shards, "--shards"),
        seed=seed,
        test_limit=test_limit,
        threads=threads,
        step_budget=step_budget,
    )
    with err_console.status("starting") as status:
        results = run_baselines(config, data, out, progress=status.update)
    command_line = "memalign-bench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    report_path = out / f"{config.run_name}.md"
    report_path.write_text(baselines_report.markdown(results, command_line))
    baselines_report.plot(results, out / f"{config.run_name}.png")
    emit(results, as_json, lambda: console.print(report_path.read_text(), markup=False))


@command
def ablations(
    dataset: Annotated[str, typer.Argument(help=f"One of: {', '.join(DATASETS)}")],
    out: Annotated[
        Path, typer.Option("--out", help="The folder `memalign-bench curves` wrote to.")
    ],
    model: Annotated[
        str | None, typer.Option("--model", help="The base model the ablations vary around.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Line up a dataset's `memalign-bench curves` runs as the published ablations (memory, signal,
    base model): a Markdown report and a plot next to the runs."""
    if dataset not in DATASETS:
        raise InputError(f"unknown dataset {dataset!r}; one of {list(DATASETS)}", field="dataset")
    chosen = model or settings().model
    tables = ablation_report.comparisons(ablation_report.load_runs(out, dataset), dataset, chosen)
    command_line = "memalign-bench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    report_path = out / f"{dataset}__ablations.md"
    report_path.write_text(ablation_report.markdown(tables, dataset, command_line))
    ablation_report.plot(tables, dataset, out / f"{dataset}__ablations.png")
    summary = {
        axis: {row.condition: row.run["name"] if row.run else row.note for row in rows}
        for axis, rows in tables.items()
    }
    emit(summary, as_json, lambda: console.print(report_path.read_text(), markup=False))


app = typer.Typer(
    name="memalign-bench",
    help="Benchmarks of memalign: learning curves, ablations and DSPy baselines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("curves")(curves)
app.command("baselines")(baselines)
app.command("ablations")(ablations)


def main() -> None:
    app()
