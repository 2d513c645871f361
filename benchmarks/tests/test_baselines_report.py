from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from memalign_bench.baselines_report import markdown, ratios


def _step(
    method: str,
    shard: int,
    status: str,
    calls: int,
    tokens: int,
    seconds: float,
    quality: float | None,
) -> dict[str, Any]:
    align = {
        "llm_calls": calls,
        "prompt_tokens": tokens,
        "completion_tokens": 0,
        "wall_seconds": seconds,
        "usd_at_reference_price": tokens * 0.4e-6,
    }
    test = {"llm_calls": 40, "wall_seconds": 100.0} if quality is not None else None
    return {
        "method": method,
        "shard": shard,
        "status": status,
        "align": align,
        "test": test,
        "unseen_quality": quality,
        "unseen_balanced": None if quality is None else quality - 0.05,
        "invalid_answers": 0 if test else None,
    }


RESULTS: dict[str, Any] = {
    "config": {"seed": 0},
    "dataset": {
        "name": "d",
        "file": "d.jsonl",
        "provenance": "SYNTHETIC",
        "sha256": "ab" * 32,
        "train": 50,
        "test_used": 40,
        "test_labels": {"fail": 30, "pass": 10},
    },
    "metric": "exact match",
    "steps": {
        "seed:0": _step("seed", 0, "done", 0, 0, 0.0, 0.5),
        "memalign:10": _step("memalign", 10, "done", 20, 10_000, 100.0, 0.6),
        "mipro:10": _step("mipro", 10, "done", 100, 50_000, 1000.0, 0.5),
        "gepa:10": _step("gepa", 10, "interrupted", 60, 30_000, 600.0, None),
        "simba:10": _step("simba", 10, "failed", 3, 900, 5.0, None),
        "mipro:50": _step("mipro", 50, "done", 400, 1, 1.0, 0.7),  # memalign has no shard 50
    },
}


def test_ratios_compare_each_optimiser_with_memalign_on_its_shard() -> None:
    found = {r["method"]: r for r in ratios(RESULTS)}
    assert set(found) == {"mipro", "gepa"}  # failed steps and shards without memalign are out
    mipro, gepa = found["mipro"], found["gepa"]
    assert (mipro["calls"], mipro["tokens"], mipro["seconds"]) == (5.0, 5.0, 10.0)
    assert abs(mipro["quality_minus_memalign"] - (-0.1)) < 1e-9 and not mipro["at_least"]
    assert gepa["at_least"] and gepa["calls"] == 3.0 and gepa["quality_minus_memalign"] is None


def test_wall_time_has_no_ratio_across_processors_but_calls_and_tokens_do() -> None:
    steps = {
        "memalign:10": {**_step("memalign", 10, "done", 20, 10_000, 100.0, 0.6), "cpu": "AMD"},
        "mipro:10": {**_step("mipro", 10, "done", 100, 50_000, 1000.0, 0.5), "cpu": "Intel"},
        "gepa:10": {**_step("gepa", 10, "done", 60, 30_000, 600.0, 0.6), "cpu": "AMD"},
        # Run before processors were recorded: it cannot be matched with a recorded one.
        "simba:10": _step("simba", 10, "done", 300, 90_000, 3000.0, 0.6),
    }
    found = {r["method"]: r for r in ratios({**RESULTS, "steps": steps})}
    assert found["mipro"]["seconds"] is None and found["mipro"]["calls"] == 5.0
    assert found["gepa"]["seconds"] == 6.0
    assert found["simba"]["seconds"] is None and found["simba"]["tokens"] == 9.0
    report = markdown({**RESULTS, "steps": steps}, "memalign-bench baselines d")
    assert "Processors: AMD (memalign:10, gepa:10); Intel (mipro:10); not recorded (simba:10)." in (
        report
    )
    assert "| 10 | DSPy MIPROv2 (auto=light) | memalign | 5.0× | 5.0× | n/a | -0.100 |" in report


def test_each_optimiser_is_compared_with_both_ways_memalign_aligns() -> None:
    reviewed = _step("memalign-reviewed", 10, "done", 2, 2_000, 20.0, 0.7)
    steps = {**RESULTS["steps"], "memalign-reviewed:10": reviewed}
    found = {(r["method"], r["against"]): r for r in ratios({**RESULTS, "steps": steps})}
    assert set(found) == {
        (m, a) for m in ("mipro", "gepa") for a in ("memalign", "memalign-reviewed")
    }
    mipro = found["mipro", "memalign-reviewed"]
    assert (mipro["calls"], mipro["tokens"], mipro["seconds"]) == (50.0, 25.0, 50.0)
    assert abs(mipro["quality_minus_memalign"] - (-0.2)) < 1e-9
    assert found["mipro", "memalign"]["calls"] == 5.0  # the labels-only row is unchanged


def test_the_report_prints_stopped_optimisers_as_lower_bounds() -> None:
    report = markdown(RESULTS, "memalign-bench baselines d")
    assert "| 10 | DSPy MIPROv2 (auto=light) | memalign | 5.0× | 5.0× | 10.0× | -0.100 |" in report
    assert "| 10 | DSPy GEPA (auto=light) | memalign | ≥ 3.0× | ≥ 3.0× | ≥ 6.0× | n/a |" in report


def test_the_plot_draws_done_stopped_and_failed_steps(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from memalign_bench.baselines_report import plot

    plot(RESULTS, tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_the_report_shows_balanced_accuracy_and_what_one_constant_answer_scores() -> None:
    report = markdown(RESULTS, "memalign-bench baselines d")
    assert "| 0.600 | 0.550 | 0 | 40 |" in report  # memalign at 10: exact, then balanced
    assert (
        "Always answering `fail` would score exact match 0.750 and balanced accuracy 0.500"
        in report
    )
