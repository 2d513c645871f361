"""The published ablations side by side, from the learning-curve runs of one dataset.

Each condition is its own ``memalign-bench curves`` run (its own results JSON in the same folder);
this module lines them up on the same test records:
- memory: semantic only, episodic only, both (the published Fig. 5);
- learning signal: label only, feedback only, both (Fig. 6);
- base model: every model run with both memories and both signals (Fig. 7).
A run enters a comparison only if it shares the base run's test records, seeds and example
rendering, so every row in a table answers the same question.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memalign.errors import DependencyError, InputError
from memalign_bench.datasets import DATASETS
from memalign_bench.decisions import RULES
from memalign_bench.report import commonest_label_share, shard_table

AXES: dict[str, tuple[str, ...]] = {
    "memory": ("both", "semantic", "episodic"),
    "signal": ("both", "label", "feedback"),
}
TITLES = {
    "memory": "Which memory (published Fig. 5)",
    "signal": "Which learning signal (published Fig. 6)",
    "model": "Which base model (published Fig. 7)",
}
# Settings every compared run must share with the base run.
_SHARED = ("test_limit", "seen_limit", "example_chars", "decision", "seeds")


@dataclass(frozen=True)
class Row:
    """One condition of one comparison: its run, or why there is none."""

    condition: str
    run: dict[str, Any] | None
    note: str = ""


def load_runs(out_dir: Path, dataset: str) -> list[dict[str, Any]]:
    """Every learning-curve results JSON for ``dataset`` in ``out_dir``, with its file stem."""
    runs = []
    for path in sorted(out_dir.glob(f"{dataset}__*.json")):
        try:
            results = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        config = results.get("config") if isinstance(results, dict) else None
        if isinstance(config, dict) and "memory" in config and results.get("steps"):
            runs.append({**results, "name": path.stem})
    return runs


def _settings(run: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(json.dumps(run["config"].get(key)) for key in _SHARED)


def comparisons(runs: list[dict[str, Any]], dataset: str, model: str) -> dict[str, list[Row]]:
    """The rows of each comparison, anchored on ``model``'s run with both memories and both
    signals. A condition that cannot exist (feedback only, on a dataset without feedback)
    says so instead of being left blank."""

    base = next(
        (
            r
            for r in runs
            if r["config"]["model"] == model
            and r["config"]["signal"] == "both"
            and r["config"]["memory"] == "both"
        ),
        None,
    )
    if base is None:
        raise InputError(
            f"no learning-curve run of {dataset} with model {model!r}, both memories and both "
            "signals, to compare against; run `memalign-bench curves` first",
            field="--model",
        )
    shared = _settings(base)

    def find(model_: str, signal: str, memory: str) -> dict[str, Any] | None:
        return next(
            (
                r
                for r in runs
                if r["config"]["model"] == model_
                and r["config"]["signal"] == signal
                and r["config"]["memory"] == memory
                and _settings(r) == shared
            ),
            None,
        )

    has_feedback = DATASETS[dataset].has_feedback if dataset in DATASETS else True
    tables: dict[str, list[Row]] = {}
    for axis, conditions in AXES.items():
        rows = []
        for condition in conditions:
            signal = condition if axis == "signal" else "both"
            memory = condition if axis == "memory" else "both"
            if signal == "feedback" and not has_feedback:
                rows.append(Row(condition, None, "no natural-language feedback in this dataset"))
            else:
                run = find(model, signal, memory)
                rows.append(Row(condition, run, "" if run else "not run"))
        tables[axis] = rows
    models = sorted({r["config"]["model"] for r in runs} - {model})
    tables["model"] = [
        Row(m, run) for m in (model, *models) if (run := find(m, "both", "both")) is not None
    ]
    return tables


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def markdown(tables: dict[str, list[Row]], dataset: str, command: str) -> str:
    runs = [row.run for rows in tables.values() for row in rows if row.run]
    shards = sorted({r["shard"] for run in runs for r in shard_table(run)})
    metric = runs[0].get("metric", "quality")
    lines = [
        f"# {dataset}: ablations",
        "",
        f"Unseen (test) quality, {metric}, by records seen; each row is its own run on the same "
        "test records (the default decision rule). Alignment cost is summed over the shards.",
        f"Command: `{command}`",
        "",
    ]
    for axis, rows in tables.items():
        lines += [
            f"## {TITLES[axis]}",
            "",
            f"| {axis} | " + " | ".join(str(s) for s in shards) + " | guidelines | align LLM calls "
            "| align s | run |",
            "|---|" + "---:|" * (len(shards) + 3) + "---|",
        ]
        for row in rows:
            if row.run is None:
                blanks = " | " * (len(shards) + 3)
                lines.append(f"| {row.condition} |{blanks}{row.note} |")
                continue
            table = {r["shard"]: r for r in shard_table(row.run)}
            steps = [s for s in row.run["steps"].values() if s.get("status") == "scored"]
            last = max(steps, key=lambda s: s["shard"])
            cells = [_cell(table[s]["unseen"]) if s in table else "" for s in shards]
            calls = sum(r["align_llm_calls"] for r in table.values())
            seconds = sum(r["align_seconds"] for r in table.values())
            lines.append(
                f"| {row.condition} | " + " | ".join(cells) + f" | {last['guidelines']} | "
                f"{calls:.0f} | {seconds:.0f} | `{row.run['name']}` |"
            )
        lines += ["", *_rules_at_last_shard(axis, rows)]
    return "\n".join(lines)


def _rules_at_last_shard(axis: str, rows: list[Row]) -> list[str]:
    """Each condition's unseen quality by decision rule at its last shard. On a small model
    memory can move the fitted decision and not the in-context read-out (argmax); a condition
    is only understood with both in view. Balanced accuracy follows where labels allow it."""
    lasts = {
        row.condition: max(shard_table(row.run), key=lambda r: r["shard"])
        for row in rows
        if row.run is not None
    }
    rules = sorted(
        {rule for last in lasts.values() for rule in last["by_rule"]}, key=list(RULES).index
    )
    if len(rules) < 2:
        return []
    balanced = any(last["balanced_by_rule"] for last in lasts.values())
    lines = [
        "Unseen quality by decision rule at each condition's last shard"
        + (" (exact / balanced accuracy)" if balanced else "")
        + ", on the same judge calls:",
        "",
        f"| {axis} | shard | " + " | ".join(rules) + " |",
        "|---|---:|" + "---:|" * len(rules),
    ]
    for condition, last in lasts.items():
        cells = []
        for rule in rules:
            exact = last["by_rule"].get(rule)
            cell = _cell(exact)
            if balanced and exact is not None:
                cell += f" / {_cell(last['balanced_by_rule'].get(rule))}"
            cells.append(cell)
        lines.append(f"| {condition} | {last['shard']} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _commonest_label_share(rows: list[Row]) -> float | None:
    """From the first run that records its test labels (compared runs share test records)."""
    shares = (commonest_label_share(row.run["dataset"]) for row in rows if row.run is not None)
    return next((share for share in shares if share is not None), None)


def plot(tables: dict[str, list[Row]], dataset: str, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise DependencyError("matplotlib", "pip install 'memalign-bench'") from None
    figure, panels = plt.subplots(
        1, len(tables), figsize=(5 * len(tables), 4), squeeze=False, sharey=True
    )
    metric = "quality"
    values: list[float] = []
    for panel, (axis, rows) in zip(panels[0], tables.items(), strict=True):
        # Conditions often score alike; a marker and dash per row keeps each line visible.
        runs = [(row.condition, row.run) for row in rows if row.run is not None]
        for index, (condition, run) in enumerate(runs):
            metric = run.get("metric", metric)
            table = [r for r in shard_table(run) if r["unseen"] is not None]
            values += [r["unseen"] for r in table]
            panel.plot(
                [r["shard"] for r in table],
                [r["unseen"] for r in table],
                marker="os^Dv"[index % 5],
                linestyle=("-", "--", ":", "-.")[index % 4],
                label=condition,
            )
        baseline = _commonest_label_share(rows) if metric == "exact match" else None
        if baseline is not None:
            values.append(baseline)
            panel.axhline(baseline, color="grey", linewidth=0.8, linestyle=":")
            panel.text(
                0.98,
                baseline,
                "commonest label alone",
                transform=panel.get_yaxis_transform(),
                fontsize=7,
                color="grey",
                ha="right",
                va="top",
            )
        panel.set_title(TITLES[axis], fontsize=10)
        panel.set_xlabel("feedback records seen")
        if panel.get_legend_handles_labels()[0]:
            panel.legend(title=axis, fontsize=8)
    if values:
        # A range of at least 0.3 on the shared axis: a 0.04 difference on 100 test records is
        # noise and should look small, not fill the panel.
        low, high = min(values), max(values)
        pad = max(0.05, (0.3 - (high - low)) / 2)
        panels[0][0].set_ylim(low - pad, high + pad)
    panels[0][0].set_ylabel(f"unseen: {metric.split(' (')[0]}")
    figure.suptitle(f"{dataset}: ablations")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
