"""The side-by-side report of a baselines run: one table row per method and shard, and a plot
of alignment cost against quality."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from memalign.errors import DependencyError
from memalign_bench.baselines import MEMALIGN_METHODS
from memalign_bench.report import REFERENCE_NOTE, commonest_label_baseline

LABELS = {
    "seed": "seed judge (DSPy program, no optimisation)",
    "memalign": "memalign",
    "memalign-reviewed": "memalign, records carrying the judge's reviewed verdicts",
    "mipro": "DSPy MIPROv2 (auto=light)",
    "gepa": "DSPy GEPA (auto=light)",
    "simba": "DSPy SIMBA (bsize=min(32, n))",
}
ORDER = tuple(LABELS)


def rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    steps = sorted(
        results["steps"].values(),
        key=lambda s: (s["shard"], ORDER.index(s["method"]) if s["method"] in ORDER else 99),
    )
    return [
        {
            "method": s["method"],
            "shard": s["shard"],
            "status": s["status"],
            "align_calls": s["align"]["llm_calls"],
            "align_prompt_tokens": s["align"]["prompt_tokens"],
            "align_completion_tokens": s["align"]["completion_tokens"],
            "align_seconds": s["align"]["wall_seconds"],
            "align_usd": s["align"]["usd_at_reference_price"] or 0.0,
            "unseen": s.get("unseen_quality"),
            "balanced": s.get("unseen_balanced"),
            "invalid": s.get("invalid_answers"),
            "test_calls": s["test"]["llm_calls"] if s.get("test") else None,
            "test_seconds": s["test"]["wall_seconds"] if s.get("test") else None,
            "cpu": s.get("cpu"),
        }
        for s in steps
    ]


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def ratios(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each optimiser against memalign on the same shard: its alignment calls, tokens and wall
    time as multiples of memalign's, and its test quality minus memalign's. A stopped
    optimiser's multiples are lower bounds (``at_least``) and it has no quality; the wall time
    has no ratio when the two steps ran on different processors (calls and tokens still do)."""
    table = rows(results)
    found = []
    for against in MEMALIGN_METHODS:
        ours = {r["shard"]: r for r in table if r["method"] == against and r["status"] == "done"}
        found += _against(table, ours, against)
    return found


def _against(
    table: list[dict[str, Any]], ours: dict[int, dict[str, Any]], against: str
) -> list[dict[str, Any]]:
    found = []
    for row in table:
        mine = ours.get(row["shard"])
        if row["method"] in (*MEMALIGN_METHODS, "seed") or mine is None or not mine["align_calls"]:
            continue
        if row["status"] not in ("done", "interrupted"):
            continue
        tokens = row["align_prompt_tokens"] + row["align_completion_tokens"]
        our_tokens = mine["align_prompt_tokens"] + mine["align_completion_tokens"]
        quality = None
        if row["unseen"] is not None and mine["unseen"] is not None:
            quality = row["unseen"] - mine["unseen"]
        found.append(
            {
                "against": against,
                "method": row["method"],
                "shard": row["shard"],
                "at_least": row["status"] == "interrupted",
                "calls": row["align_calls"] / mine["align_calls"],
                "tokens": tokens / our_tokens if our_tokens else None,
                "seconds": row["align_seconds"] / mine["align_seconds"]
                # Steps from before the processor was recorded (None) match only each other.
                if mine["align_seconds"] and row["cpu"] == mine["cpu"]
                else None,
                "quality_minus_memalign": quality,
            }
        )
    return found


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.3f}"


def _times(value: float | None, at_least: bool) -> str:
    return "n/a" if value is None else f"{'≥ ' if at_least else ''}{value:.1f}×"


def _processors(results: dict[str, Any]) -> str:
    """Which processor ran which steps: wall times compare only within one."""
    ran: dict[str, list[str]] = {}
    for step in results["steps"].values():
        cpu = step.get("cpu") or "not recorded"
        ran.setdefault(cpu, []).append(f"{step['method']}:{step['shard']}")
    return "; ".join(f"{cpu} ({', '.join(steps)})" for cpu, steps in ran.items()) or "none yet"


def markdown(results: dict[str, Any], command: str) -> str:
    config, data, env = results["config"], results["dataset"], results.get("environment", {})
    lines = [
        f"# Baselines on {data['name']}: memalign vs DSPy optimisers",
        "",
        f"Data: `{data['file']}` ({data['provenance']}), sha256 `{data['sha256'][:16]}…`; "
        f"{data['train']} training records, {data['test_used']} test records used; "
        f"seed {config['seed']} (shard order).",
        f"Model: `{env.get('model')}` (sha256 `{(env.get('model_sha256') or 'n/a')[:16]}…`) "
        f"served by {env.get('server')}; every method ran with "
        f"{env.get('threads_per_method')} thread(s). Versions: memalign {env.get('memalign')}, "
        f"dspy {env.get('dspy')}, gepa {env.get('gepa')}, litellm {env.get('litellm')}, "
        f"llama-cpp-python {env.get('llama-cpp-python')}.",
        f"Processors: {_processors(results)}.",
        f"Metric on the test split: {results['metric']} (same code for every method; an "
        "invalid or missing answer counts as wrong).",
        "",
        "Every LLM call is counted at the HTTP layer by one counting proxy in front of the "
        "server, per method and phase; DSPy's own counters are not used. memalign aligns "
        "incrementally (shard n adds to the memory of the previous shard, so its cost is the "
        "new records'); DSPy has no incremental mode, so each shard is optimised from scratch "
        "on every record seen so far. DSPy programs are one `dspy.Predict` with the "
        "`JSONAdapter`, caches off; memalign reads its verdict from token probabilities. "
        "Neither writes a rationale when scored.",
        "",
        "| shard | method | status | align LLM calls | align tokens in / out | align wall s "
        "| align USD (ref.) | unseen quality | unseen balanced | invalid answers | test calls "
        "| test wall s |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows(results):
        lines.append(
            f"| {row['shard']} | {LABELS.get(row['method'], row['method'])} | {row['status']} "
            f"| {row['align_calls']} | {row['align_prompt_tokens']:,} / "
            f"{row['align_completion_tokens']:,} | {_num(row['align_seconds'], 1)} "
            f"| {_num(row['align_usd'], 4)} | {_num(row['unseen'])} | {_num(row['balanced'])} "
            f"| {row['invalid']} "
            f"| {row['test_calls']} | {_num(row['test_seconds'], 1)} |"
        )
    baseline = commonest_label_baseline(data)
    lines += [
        "",
        "Unseen balanced: the mean, over the expert labels, of the share of each that the method "
        "gave (one constant answer scores 1 / number of labels; n/a in steps run before it was "
        "recorded)." + (f" {baseline}" if baseline else ""),
    ]
    compared = ratios(results)
    if compared:
        lines += [
            "",
            "Each optimiser against memalign on the same shard (alignment cost as a multiple of "
            "memalign's; quality as the optimiser's minus memalign's; ≥: stopped by the step "
            "budget, so a lower bound; wall time n/a: the two steps ran on different "
            "processors):",
            "",
            "| shard | method | against | align calls | align tokens | align wall time "
            "| unseen quality (− memalign) |",
            "|---:|---|---|---:|---:|---:|---:|",
        ]
        for ratio in compared:
            lines.append(
                f"| {ratio['shard']} | {LABELS.get(ratio['method'], ratio['method'])} "
                f"| {ratio['against']} | {_times(ratio['calls'], ratio['at_least'])} "
                f"| {_times(ratio['tokens'], ratio['at_least'])} "
                f"| {_times(ratio['seconds'], ratio['at_least'])} "
                f"| {_signed(ratio['quality_minus_memalign'])} |"
            )
    lines += [
        "",
        REFERENCE_NOTE,
        "",
        "A step marked `interrupted` was stopped before its optimiser finished; its counts are "
        "what it had spent by then (a lower bound) and it has no quality.",
        "",
        f"Command: `{command}`",
        "",
    ]
    return "\n".join(lines)


def _series(axes: Any, table: list[dict[str, Any]], key: str, style: str, **kw: Any) -> None:
    """One method's ``key`` against shard size; nothing when it has no such rows."""
    if table:
        axes.plot([r["shard"] for r in table], [r[key] for r in table], style, **kw)


def plot(results: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise DependencyError("matplotlib", "pip install 'memalign-bench'") from None
    table = [r for r in rows(results) if r["method"] != "seed"]
    figure, (calls_ax, quality_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for index, method in enumerate(dict.fromkeys(r["method"] for r in table)):
        mine = [r for r in table if r["method"] == method]
        label, color = LABELS.get(method, method), f"C{index}"
        # 0 calls has no place on a log axis; a stopped optimiser's count is a lower bound.
        spent = [r for r in mine if r["align_calls"] and r["status"] != "interrupted"]
        stopped = [r for r in mine if r["align_calls"] and r["status"] == "interrupted"]
        _series(calls_ax, spent, "align_calls", "o-", color=color, label=label)
        _series(
            calls_ax, stopped, "align_calls", "^", fillstyle="none", color=color,
            label=f"{label}: stopped by its budget (at least)",
        )  # fmt: skip
        scored = [r for r in mine if r["unseen"] is not None]
        _series(quality_ax, scored, "unseen", "o-", color=color, label=label)
    shards = [r["shard"] for r in table]
    calls_ax.set_xlim(min(shards) - 2, max(shards) + 2)
    seed = [r for r in rows(results) if r["method"] == "seed" and r["unseen"] is not None]
    if seed:
        quality_ax.axhline(seed[0]["unseen"], color="grey", ls="--", label=LABELS["seed"])
    calls_ax.set_yscale("log")
    calls_ax.legend(fontsize=7)
    calls_ax.set_xlabel("training records seen")
    calls_ax.set_ylabel("LLM calls to align (log)")
    quality_ax.set_xlabel("training records seen")
    quality_ax.set_ylabel(results["metric"].split(" (")[0] + " on the test split")
    quality_ax.legend(fontsize=7)
    figure.suptitle(f"{results['dataset']['name']}: alignment cost and quality, one model")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
