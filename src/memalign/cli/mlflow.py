"""``memalign mlflow import``: expert assessments on MLflow traces → a judge's feedback records.

MLflow is optional (the ``mlflow`` extra): it is imported inside the command, so the rest of the
CLI, and ``--help``, work without it.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from memalign.cli.common import (
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
from memalign.cli.feedback import render_report

app = typer.Typer(
    help="Bridge to MLflow: import expert assessments from traces.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

TrackingOpt = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, then MLflow's default).",
    ),
]


@app.command("import")
@command
def import_(
    name: JudgeArg,
    experiment: Annotated[
        str, typer.Option("--experiment", help="The MLflow experiment: its name or id.")
    ],
    tracking_uri: TrackingOpt = None,
    assessment: Annotated[
        str | None,
        typer.Option("--assessment", help="The assessment name (default: the judge's name)."),
    ] = None,
    max_traces: Annotated[
        int | None, typer.Option("--max-traces", min=1, help="Read at most this many traces.")
    ] = None,
    detect: Annotated[
        bool, typer.Option("--detect/--no-detect", help="Run the judge to find disagreements.")
    ] = True,
    model: ModelOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Align a judge on the HUMAN feedback assessments named like it on an experiment's traces.

    Record ids are trace ids; on a trace several experts labelled, the first keeps the trace id
    and the others get `<trace id>@<annotator>`. Each annotator's newest assessment counts.
    Importing again is incremental: unchanged records cost nothing, edited assessments replace
    their records, and traces whose assessments were deleted are forgotten with everything
    derived from them."""
    from memalign.integrations.mlflow import import_experiment, use_tracking_uri

    judge = open_judge(store_for(store), name, model)
    use_tracking_uri(tracking_uri)
    with err_console.status(Text(f"importing {experiment} into {name}…")):
        report = import_experiment(
            judge,
            experiment,
            assessment_name=assessment,
            max_traces=max_traces,
            detect_disagreements=detect,
        )

    def render() -> None:
        console.print(
            f"{report.traces} traces, {report.traces_with_feedback} with expert feedback → "
            f"{report.records} records; forgotten {len(report.forgotten)}",
            highlight=False,
        )
        if report.alignment is not None:
            render_report(report.alignment)

    emit(report, as_json, render)
