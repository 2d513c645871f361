"""A Markdown report and PNG plots from learning-curve results (one results JSON per run)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memalign.errors import DependencyError
from memalign_bench.decisions import RULES

REFERENCE_NOTE = (
    "USD is a REFERENCE price: local models cost nothing; their tokens are priced at "
    "GPT-4.1-mini's list price ($0.40 / $1.60 per million input / output tokens) for comparison."
)


def _mean_sd(values: Sequence[float | None]) -> tuple[float | None, float | None]:
    present = [v for v in values if v is not None]
    if not present:
        return None, None
    return statistics.fmean(present), statistics.pstdev(present) if len(present) > 1 else 0.0


def _by_rule(group: Sequence[dict[str, Any]], key: str) -> dict[str, float | None]:
    """Mean over seeds of each rule's score; a rule missing from a step (e.g. a step scored
    before the measure existed) does not count as zero."""
    rules = sorted({rule for s in group for rule in s.get(key) or {}})
    return {rule: _mean_sd([(s.get(key) or {}).get(rule) for s in group])[0] for rule in rules}


def shard_table(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Per shard: quality mean and spread over seeds, and alignment cost."""
    steps = [s for s in results["steps"].values() if s.get("status") == "scored"]
    rows = []
    for shard in sorted({s["shard"] for s in steps}):
        group = [s for s in steps if s["shard"] == shard]
        aligns = [s["align"]["usage"] for s in group if s.get("align")]
        seen, seen_sd = _mean_sd([s["seen_quality"] for s in group])
        unseen, unseen_sd = _mean_sd([s["unseen_quality"] for s in group])
        rows.append(
            {
                "shard": shard,
                "seeds": len(group),
                "seen": seen,
                "seen_sd": seen_sd,
                "unseen": unseen,
                "unseen_sd": unseen_sd,
                "align_seconds": statistics.median([a["seconds"] for a in aligns])
                if aligns
                else 0.0,
                "align_llm_calls": statistics.median([a["llm_calls"] for a in aligns])
                if aligns
                else 0,
                "align_prompt_tokens": statistics.median([a["prompt_tokens"] for a in aligns])
                if aligns
                else 0,
                "align_completion_tokens": statistics.median(
                    [a["completion_tokens"] for a in aligns]
                )
                if aligns
                else 0,
                "align_usd": statistics.median([a["cost_usd"] or 0.0 for a in aligns])
                if aligns
                else 0.0,
                "by_rule": _by_rule(group, "unseen_by_rule"),
                "balanced_by_rule": _by_rule(group, "unseen_balanced_by_rule"),
                "errors": sum(s["errors"] for s in group),
                "judge_calls_per_second": statistics.median(
                    [s["judge_calls_per_second"] for s in group if s["judge_calls_per_second"]]
                    or [0.0]
                ),
            }
        )
    return rows


def _fmt(value: float | None, sd: float | None = None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" + (f" ± {sd:.3f}" if sd else "")


def markdown(results: dict[str, Any], command: str) -> str:
    config, data = results["config"], results["dataset"]
    lines = [
        f"# {data['name']} · {config['model']} · signal {config['signal']} · "
        f"memory {config['memory']}",
        "",
        f"Data: `{data['file']}` ({data['provenance']}), sha256 `{data['sha256'][:16]}…`, "
        f"{data['train']} train records, {data['test_used']} test records used.",
        f"Metric: {results.get('metric', 'n/a')}. Seeds (shard order): {config['seeds']}.",
        ""
        if data.get("has_feedback", True)
        else "This dataset has no natural-language "
        "feedback: every condition learns from labels only.",
        f"Command: `{command}`",
        "",
        "| shard | seen | unseen | align s | LLM calls | tokens in / out | USD (ref.) | errors "
        "| judge calls/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in shard_table(results):
        lines.append(
            f"| {row['shard']} | {_fmt(row['seen'], row['seen_sd'])} | "
            f"{_fmt(row['unseen'], row['unseen_sd'])} | {row['align_seconds']:.1f} | "
            f"{row['align_llm_calls']:.0f} | {row['align_prompt_tokens']:.0f} / "
            f"{row['align_completion_tokens']:.0f} | {row['align_usd']:.4f} | {row['errors']} | "
            f"{row['judge_calls_per_second']:.2f} |"
        )
    steps = results["steps"].values()
    reused = sorted({f"{s['seed']}: `{s['reused_from']}`" for s in steps if "reused_from" in s})
    lines += [
        "",
        "Alignment columns are medians over seeds of that shard's incremental step.",
        REFERENCE_NOTE,
        *(
            [
                "Unaligned judge (shard 0 reused from another condition with the same model and "
                "test records; with nothing in memory the condition changes no call), seed "
                + "; ".join(reused)
                + "."
            ]
            if reused
            else []
        ),
        "",
    ]
    return "\n".join(lines + _rule_table(results))


def _rule_table(results: dict[str, Any]) -> list[str]:
    rows = shard_table(results)
    rules = sorted({rule for row in rows for rule in row["by_rule"]}, key=list(RULES).index)
    if len(rules) < 2:
        return []
    lines = [
        "Unseen quality by decision rule, on the same judge calls (no extra model calls):",
        *_by_rule_table(rows, "by_rule", rules),
        *(f"- **{rule}**: {RULES[rule]}" for rule in rules),
        "",
    ]
    # Balanced accuracy: on a skewed test subset exact match flatters a judge that mostly
    # gives the commonest label, so say what that label alone would score.
    if any(row["balanced_by_rule"] for row in rows):
        baseline = commonest_label_baseline(results["dataset"])
        lines += [
            "Unseen balanced accuracy by decision rule (the mean, over the expert labels, of the "
            "share of each that the rule gave; one constant answer scores 1 / number of labels):",
            *_by_rule_table(rows, "balanced_by_rule", rules),
            *([baseline, ""] if baseline else []),
        ]
    return lines


def _by_rule_table(rows: list[dict[str, Any]], key: str, rules: list[str]) -> list[str]:
    """One Markdown table, a row per shard and a column per rule, framed by blank lines."""
    lines = ["", "| shard | " + " | ".join(rules) + " |", "|---:|" + "---:|" * len(rules)]
    for row in rows:
        cells = [_fmt(row[key].get(rule)) for rule in rules]
        lines.append(f"| {row['shard']} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def commonest_label_baseline(dataset: dict[str, Any]) -> str | None:
    """What one constant answer, the commonest expert label of the test records used, would
    score; None where the results do not record the labels (numeric scales, older runs)."""
    counts: dict[str, int] = dataset.get("test_labels") or {}
    share = commonest_label_share(dataset)
    if share is None:
        return None
    label = max(counts, key=counts.__getitem__)
    shares = ", ".join(f"{k} {v}" for k, v in counts.items())
    return (
        f"Test labels used: {shares}. Always answering `{label}` would score exact match "
        f"{share:.3f} and balanced accuracy {1 / len(counts):.3f}."
    )


def commonest_label_share(dataset: dict[str, Any]) -> float | None:
    """Exact match of always giving the commonest expert label of the test records used; None
    where the results do not record the labels."""
    counts: dict[str, int] = dataset.get("test_labels") or {}
    return max(counts.values()) / sum(counts.values()) if counts else None


def plot(results: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise DependencyError("matplotlib", "pip install 'memalign-bench'") from None
    rows = shard_table(results)
    shards = [r["shard"] for r in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("seen", "seen"), ("unseen", "unseen (test)")):
        means = [r[key] if r[key] is not None else float("nan") for r in rows]
        spread = [r[f"{key}_sd"] or 0.0 for r in rows]
        left.errorbar(shards, means, yerr=spread, marker="o", capsize=3, label=label)
    left.set_xlabel("feedback records seen")
    left.set_ylabel(results.get("metric", "quality"))
    left.set_title(f"{results['dataset']['name']}: learning curve")
    left.legend()
    right.bar([str(s) for s in shards], [r["align_seconds"] for r in rows])
    right.set_xlabel("shard")
    right.set_ylabel("alignment seconds (median)")
    right.set_title(f"alignment cost, {results['config']['model']}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
