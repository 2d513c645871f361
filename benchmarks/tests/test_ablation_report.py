from __future__ import annotations

from pathlib import Path

import pytest

from memalign.errors import InputError
from memalign.testing import FakeLLM
from memalign_bench.ablation_report import comparisons, load_runs, markdown, plot
from memalign_bench.curves import CurveConfig, run_curve
from test_curves import DATA, _models, needs_data


def _run(out: Path, **overrides: object) -> None:
    settings: dict[str, object] = {
        "dataset": "code_review_python",
        "model": "fake",
        "shards": (0, 2),
        "seeds": (0,),
        "test_limit": 4,
    }
    run_curve(CurveConfig(**{**settings, **overrides}), DATA, out, _models(FakeLLM()))  # type: ignore[arg-type]


@needs_data
def test_conditions_line_up_on_the_base_runs_test_records(tmp_path: Path) -> None:
    _run(tmp_path)
    _run(tmp_path, memory="semantic")
    _run(tmp_path, signal="label")
    _run(tmp_path, model="fake-large")
    _run(tmp_path, memory="episodic", test_limit=5)  # other test records: not comparable
    tables = comparisons(load_runs(tmp_path, "code_review_python"), "code_review_python", "fake")
    memory = {row.condition: row for row in tables["memory"]}
    assert memory["semantic"].run is not None
    assert memory["episodic"].run is None and memory["episodic"].note == "not run"
    signal = {row.condition: row for row in tables["signal"]}
    assert signal["label"].run is not None and signal["feedback"].run is None
    assert [row.condition for row in tables["model"]] == ["fake", "fake-large"]
    report = markdown(tables, "code_review_python", "memalign-bench ablations …")
    assert "published Fig. 5" in report and "`code_review_python__fake__signal-label" in report
    # Each condition by decision rule at its last shard, the in-context read-out included.
    by_rule = report.split("## Which memory")[1].split("## ")[0]
    assert "| memory | shard | argmax | threshold | vote | blend |" in by_rule
    assert by_rule.count("| semantic | 2 | ") == 1 and "| episodic | 2 |" not in by_rule
    plot(tables, "code_review_python", tmp_path / "ablations.png")
    assert (tmp_path / "ablations.png").stat().st_size > 1000


@needs_data
def test_a_dataset_without_feedback_says_so_instead_of_a_blank(tmp_path: Path) -> None:
    _run(tmp_path, dataset="financebench")
    tables = comparisons(load_runs(tmp_path, "financebench"), "financebench", "fake")
    feedback = next(row for row in tables["signal"] if row.condition == "feedback")
    assert feedback.run is None and "no natural-language feedback" in feedback.note
    assert "no natural-language feedback" in markdown(tables, "financebench", "…")


def test_no_base_run_is_an_input_error_naming_the_option(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        comparisons(load_runs(tmp_path, "autoj"), "autoj", "local")
    assert caught.value.field == "--model"


@needs_data
def test_a_condition_scored_on_fewer_shards_leaves_those_cells_blank(tmp_path: Path) -> None:
    _run(tmp_path, shards=(0, 2, 5))
    _run(tmp_path, memory="semantic", shards=(0, 5))
    tables = comparisons(load_runs(tmp_path, "code_review_python"), "code_review_python", "fake")
    report = markdown(tables, "code_review_python", "memalign-bench ablations …")
    semantic = next(line for line in report.splitlines() if line.startswith("| semantic |"))
    both = next(line for line in report.splitlines() if line.startswith("| both |"))
    assert semantic.split(" | ")[2] == "" and both.split(" | ")[2] != ""  # shard 2's column
