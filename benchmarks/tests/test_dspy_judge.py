from __future__ import annotations

import pytest

from memalign.judge_spec import FloatScore, Labels, Pairwise, Scale
from memalign.judging.verdict import verdict_schema
from memalign.records import Feedback
from memalign_bench.datasets import DATASETS
from memalign_bench.dspy_judge import OptimiserSettings, agreement, lenient

CODE = DATASETS["code_review_python"].spec
TRAVEL = DATASETS["travel_agent_reply"].spec


def test_lenient_reads_the_first_word_of_a_copied_format_note() -> None:
    copied = '{\n  "verdict": "pass        # note: must exactly match one of: pass; fail"\n}'
    assert lenient(CODE, copied) == "pass"
    assert lenient(CODE, '{"verdict": "FAIL"}') == "fail"
    assert lenient(TRAVEL, '{"verdict": 4}') == 4
    assert lenient(TRAVEL, '{"verdict": 9}') is None  # outside the scale
    assert lenient(CODE, '{"verdict": "maybe"}') is None
    assert lenient(CODE, "no JSON here") is None


def test_agreement_is_exact_for_labels_and_graded_for_scales() -> None:
    assert agreement(Labels(("pass", "fail")), "pass", "pass") == 1.0
    assert agreement(Labels(("pass", "fail")), "fail", "pass") == 0.0
    assert agreement(Pairwise(), None, "A") == 0.0
    assert agreement(Scale(1, 5), 4, 5) == pytest.approx(0.75)
    assert agreement(Scale(1, 5), 1, 5) == 0.0
    assert agreement(FloatScore(0.0, 2.0), 0.5, 1.0) == pytest.approx(0.75)


def test_optimiser_settings_state_what_each_method_ran_with() -> None:
    assert OptimiserSettings("mipro", 1).describe(10) == {
        "auto": "light",
        "minibatch_size": 8,
        "valset": 8,
    }
    assert OptimiserSettings("simba", 1).describe(50)["bsize"] == 32
    assert OptimiserSettings("simba", 1).describe(10)["bsize"] == 10
    assert OptimiserSettings("gepa", 1).describe(10)["auto"] == "light"


def test_metric_gives_gepa_the_experts_words() -> None:
    pytest.importorskip("dspy")
    from memalign_bench.dspy_judge import examples, load_dspy, metric

    dspy = load_dspy()
    gold = examples(
        [
            Feedback(
                id="r1",
                inputs="PR",
                outputs="code",
                label="fail",
                feedback="Money must never be a float.",
            )
        ],
        CODE,
    )[0]
    score = metric(CODE)
    assert score(gold, dspy.Prediction(verdict="fail")) == 1.0
    assert score(gold, dspy.Prediction(verdict="pass")) == 0.0
    rich = score(gold, dspy.Prediction(verdict="pass"), None, "predict", [])
    assert rich.score == 0.0
    assert "Money must never be a float." in rich.feedback
    assert "fail" in rich.feedback


def test_a_scoring_pass_asks_for_the_value_alone() -> None:
    full = verdict_schema(Labels(("pass", "fail")))
    bare = verdict_schema(Labels(("pass", "fail")), rationale=False)
    assert full["required"] == ["rationale", "value"]
    assert bare["required"] == ["value"]
    assert set(bare["properties"]) == {"value"}
