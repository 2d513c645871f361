from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from memalign.judge_spec import Labels, Pairwise, Scale
from memalign.testing import FakeLLM, HashEmbedder
from memalign_bench.curves import CurveConfig, balanced_quality, quality, run_curve
from memalign_bench.datasets import DATASETS
from memalign_bench.report import markdown, plot, shard_table

DATA = Path(
    os.environ.get(
        "MEMALIGN_BENCH_DATA", Path(__file__).resolve().parents[3] / "shared" / "datasets"
    )
)
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"benchmark data not at {DATA}")


class Counting(FakeLLM):
    pass


def _models(llm: FakeLLM) -> Any:
    return lambda: {"llm": llm, "embedder": HashEmbedder()}


def test_quality_per_output_type() -> None:
    assert quality(Labels(("pass", "fail")), ["pass", "fail"], ["pass", None]) == 0.5
    assert quality(Pairwise(), ["A", "tie"], ["A", "B"]) == 0.5
    assert quality(Scale(1, 5), [1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert quality(Scale(1, 5), [], []) is None
    # Balanced: a missing verdict is wrong; a tie the experts gave is its own class.
    assert (
        balanced_quality(Labels(("pass", "fail")), ["pass", "pass", "fail"], ["pass", None, "pass"])
        == 0.25
    )
    assert balanced_quality(
        Pairwise(), ["A", "A", "B", "tie"], ["A", "A", "A", "A"]
    ) == pytest.approx(1 / 3)
    assert balanced_quality(Scale(1, 5), [1, 2], [1, 2]) is None


def _scored(
    shard: int, rule_scores: dict[str, float], balanced: dict[str, float] | None
) -> dict[str, Any]:
    step = {
        "seed": 0,
        "shard": shard,
        "status": "scored",
        "align": None,
        "seen_quality": None,
        "unseen_quality": rule_scores["threshold"],
        "unseen_by_rule": rule_scores,
        "errors": 0,
        "judge_calls_per_second": 0.1,
    }
    return step if balanced is None else {**step, "unseen_balanced_by_rule": balanced}


def test_report_states_balanced_accuracy_and_the_commonest_label_baseline() -> None:
    results = {
        "config": {"model": "local", "signal": "both", "memory": "both", "seeds": [0]},
        "dataset": {
            "name": "financebench",
            "file": "f.jsonl",
            "provenance": "REAL",
            "sha256": "0" * 64,
            "train": 50,
            "test_used": 100,
            "test_labels": {"correct": 64, "incorrect": 36},
        },
        "metric": "exact match",
        "steps": {
            # Shard 0 was scored before balanced accuracy existed: shown as n/a, not as 0.
            "0:0": _scored(0, {"argmax": 0.44, "threshold": 0.44}, None),
            "0:10": _scored(
                10, {"argmax": 0.38, "threshold": 0.67}, {"argmax": 0.52, "threshold": 0.70}
            ),
        },
    }
    report = markdown(results, "memalign-bench curves …")
    balanced = report.split("Unseen balanced accuracy")[1]
    assert "| 0 | n/a | n/a |" in balanced and "| 10 | 0.520 | 0.700 |" in balanced
    assert (
        "Always answering `correct` would score exact match 0.640 and balanced accuracy 0.500"
        in report
    )


@needs_data
def test_every_dataset_loads_with_its_own_split() -> None:
    sizes = {name: tuple(map(len, d.load(DATA))) for name, d in DATASETS.items()}
    assert sizes["code_review_python"] == (60, 150)
    assert sizes["financebench"] == (50, 550)
    assert sizes["autoj"] == (50, 534)
    assert sizes["feedback_collection"][0] == 50
    train, _ = DATASETS["autoj"].load(DATA)
    assert set(train[0].outputs) == {"A", "B"} and train[0].feedback is None


@needs_data
def test_learning_curve_checkpoints_and_resumes(tmp_path: Path) -> None:
    config = CurveConfig(
        dataset="code_review_python", model="fake", shards=(0, 2, 5), seeds=(0, 1), test_limit=8
    )
    llm = Counting()
    results = run_curve(config, DATA, tmp_path, _models(llm))
    assert len(results["steps"]) == 6
    assert all(s["status"] == "scored" for s in results["steps"].values())
    assert results["dataset"]["sha256"] and results["metric"] == "exact match"
    assert sum(results["dataset"]["test_labels"].values()) == 8
    assert set(results["steps"]["0:5"]["unseen_balanced_by_rule"]) == {
        "argmax",
        "threshold",
        "vote",
        "blend",
    }
    assert results["environment"]["model_weights"] is None and "code" in results["environment"]
    table = shard_table(results)
    assert [r["shard"] for r in table] == [0, 2, 5]
    assert table[0]["seen"] is None and table[1]["seen"] == 1.0  # the fake copies itself
    assert table[1]["align_llm_calls"] > 0
    calls = llm.calls
    again = run_curve(config, DATA, tmp_path, _models(llm))
    assert llm.calls == calls and again["steps"] == results["steps"]  # resumed: nothing rerun
    report = markdown(results, "memalign-bench curves …")
    assert "| 5 |" in report and "REFERENCE price" in report
    plot(results, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 1000


@needs_data
def test_conditions_without_feedback_are_not_invented(tmp_path: Path) -> None:
    config = CurveConfig(dataset="financebench", model="fake", signal="feedback", seeds=(0,))
    assert (
        "no natural-language feedback"
        in run_curve(config, DATA, tmp_path, _models(FakeLLM()))["skipped"]
    )
    label_only = CurveConfig(
        dataset="code_review_python",
        model="fake",
        signal="label",
        shards=(0, 5),
        seeds=(0,),
        test_limit=4,
    )
    results = run_curve(label_only, DATA, tmp_path, _models(FakeLLM()))
    assert results["steps"]["0:5"]["guidelines"] == 0  # the fake distils feedback text only


@needs_data
def test_reports_say_when_a_dataset_has_no_feedback(tmp_path: Path) -> None:
    config = CurveConfig(
        dataset="financebench", model="fake", shards=(0, 2), seeds=(0,), test_limit=4
    )
    results = run_curve(config, DATA, tmp_path, _models(FakeLLM()))
    assert results["dataset"]["has_feedback"] is False
    assert "learns from labels only" in markdown(results, "memalign-bench curves …")


@needs_data
def test_a_lost_store_is_rebuilt_on_resume(tmp_path: Path) -> None:
    import shutil

    config = CurveConfig(
        dataset="code_review_python", model="fake", shards=(0, 2, 5), seeds=(0,), test_limit=4
    )
    first = run_curve(config, DATA, tmp_path, _models(FakeLLM()))
    shutil.rmtree(tmp_path / "stores")
    del first["steps"]["0:5"]  # as if interrupted before the last shard, on a fresh checkout
    (tmp_path / f"{config.run_name}.json").write_text(__import__("json").dumps(first))
    again = run_curve(config, DATA, tmp_path, _models(FakeLLM()))
    step = again["steps"]["0:5"]
    assert step["rebuilt_memory"] is True and step["examples"] == 5
    assert step["seen_quality"] == 1.0


@needs_data
def test_an_ablation_reuses_the_unaligned_judge_instead_of_rejudging(tmp_path: Path) -> None:
    both = CurveConfig(
        dataset="code_review_python", model="fake", shards=(0, 2), seeds=(0,), test_limit=6
    )
    first = run_curve(both, DATA, tmp_path, _models(FakeLLM()))
    ablation = CurveConfig(**{**both.__dict__, "memory": "episodic"})
    llm = Counting()
    results = run_curve(ablation, DATA, tmp_path, _models(llm))
    reused = results["steps"]["0:0"]
    assert reused["reused_from"] == both.run_name
    assert reused["test_verdicts"] == first["steps"]["0:0"]["test_verdicts"]
    assert "reused_from" not in results["steps"]["0:2"]
    assert llm.calls <= 2 + 2 + 6  # shard 2 only: align 2, judge 2 seen + 6 test
    # Another test split is another unaligned judge: judged afresh.
    wider = CurveConfig(**{**both.__dict__, "memory": "semantic", "test_limit": 7})
    assert "reused_from" not in run_curve(wider, DATA, tmp_path, _models(FakeLLM()))["steps"]["0:0"]
    assert "shard 0 reused from another condition" in markdown(results, "memalign-bench curves …")


@needs_data
def test_guideline_checks_are_scored_and_costed_when_asked(tmp_path: Path) -> None:
    config = CurveConfig(
        dataset="code_review_python",
        model="fake",
        shards=(0, 4),
        seeds=(0,),
        test_limit=3,
        checks=True,
    )
    assert config.run_name.endswith("__checks")
    step = run_curve(config, DATA, tmp_path, _models(FakeLLM()))["steps"]["0:4"]
    assert "checks" in step["unseen_by_rule"]
    # The fake model gives no probabilities: nothing to fit the blend on, so no check is asked
    # of the test cases and the rule keeps the judge's values.
    assert step["checks"]["guidelines"] >= 1 and step["checks"]["blend"] is None
    assert step["checks"]["usage"]["llm_calls"] == 0
    assert step["unseen_by_rule"]["checks"] == step["unseen_quality"]
