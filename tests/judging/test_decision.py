from __future__ import annotations

import numpy as np
import pytest

from memalign import Labels, Pairwise, Scale
from memalign.judging.decision import (
    Threshold,
    agrees,
    class_totals,
    decide,
    fit_rules,
    fit_threshold,
    value_from_probs,
    vote_value,
)

BINARY = Labels(("Pass", "Fail"))


def test_argmax_and_expected_scale() -> None:
    assert value_from_probs(BINARY, {"Pass": 0.4, "Fail": 0.6}) == "Fail"
    assert value_from_probs(Pairwise(), {"A": 0.2, "B": 0.3, "tie": 0.5}) == "tie"
    assert value_from_probs(Scale(1, 5), {"1": 0.1, "5": 0.9}) == 5
    assert value_from_probs(Scale(1, 5), {"2": 0.5, "4": 0.5}) == 3


def test_threshold_corrects_a_biased_model() -> None:
    # The model always leans "Pass", but less so on the cases experts fail.
    evidence = [({"Pass": p, "Fail": 1 - p}, "Pass") for p in (0.9, 0.92, 0.95, 0.97)]
    evidence += [({"Pass": p, "Fail": 1 - p}, "Fail") for p in (0.6, 0.7, 0.75, 0.8)]
    threshold = fit_threshold(BINARY, evidence)
    assert threshold is not None and 0.8 < threshold.value < 0.9
    assert value_from_probs(BINARY, {"Pass": 0.78, "Fail": 0.22}) == "Pass"
    assert value_from_probs(BINARY, {"Pass": 0.78, "Fail": 0.22}, threshold) == "Fail"
    assert "fitted on 8" in threshold.describe()


def test_no_threshold_without_enough_of_each_class_or_for_non_binary() -> None:
    one_class = [({"Pass": 0.9}, "Pass")] * 5 + [({"Pass": 0.1}, "Fail")]
    assert fit_threshold(BINARY, one_class) is None
    assert fit_threshold(Scale(1, 5), [({"1": 1.0}, 1)] * 6) is None
    assert value_from_probs(Scale(1, 5), {"3": 1.0}, Threshold(0.9, 4)) == 3


def test_a_threshold_fitted_where_the_checks_leave_off_counts_their_share() -> None:
    # What the checks leave: 6 Pass and 2 Fail, which the model cannot tell apart. The memory
    # holds 6 Fails in all (the checks settled 4): calling every undecided case Pass loses 2 of
    # 6 Fails, where splitting them on noise would lose Passes too.
    evidence = [({"Pass": p, "Fail": 1 - p}, "Pass") for p in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)]
    evidence += [({"Pass": p, "Fail": 1 - p}, "Fail") for p in (0.25, 0.55)]
    alone = fit_threshold(BINARY, evidence)
    whole = fit_threshold(BINARY, evidence, totals=(6, 6))
    assert alone is not None and whole is not None
    assert sum(value_from_probs(BINARY, p, alone) == "Pass" for p, _ in evidence) < 8
    assert all(value_from_probs(BINARY, p, whole) == "Pass" for p, _ in evidence)
    assert fit_threshold(BINARY, [], totals=(6, 6)) is None


def test_fit_rules_leaves_out_what_the_checks_settle() -> None:
    from memalign.records import Example

    probs = [0.9, 0.8, 0.2, 0.1, 0.15]
    labels = ["Pass", "Pass", "Fail", "Fail", "Pass"]
    examples = [
        Example(
            record_id=f"r{i}",
            key_text="",
            case_text="",
            label=label,
            judge_probs={"Pass": p, "Fail": 1 - p},
        )
        for i, (p, label) in enumerate(zip(probs, labels, strict=True))
    ]
    matrix = np.eye(5, dtype=np.float32)
    assert class_totals(BINARY, examples) == (3, 2)
    settled = [None, None, "Fail", "Fail", None]
    threshold, _ = fit_rules(BINARY, examples, matrix, 3, blend=False, settled=settled)
    # Fitted on the three undecided examples, all Pass: the cut lets every one of them pass.
    assert threshold is not None and threshold.support == 3 and threshold.value <= 0.15
    everything, _ = fit_rules(BINARY, examples, matrix, 3, blend=False)
    assert everything is not None and everything.support == 5 and everything.value > 0.15


def test_float_agreement_uses_a_tolerance() -> None:
    from memalign import FloatScore

    assert agrees(FloatScore(0, 1), 0.52, 0.5)
    assert not agrees(FloatScore(0, 1), 0.7, 0.5)
    assert agrees(BINARY, "Pass", "Pass") and not agrees(BINARY, "Pass", "Fail")


def test_example_vote_is_similarity_weighted() -> None:
    from memalign.judging.decision import example_vote
    from memalign.records import Example

    def ex(label: str | None) -> Example:
        return Example(record_id=str(label), key_text="", case_text="", label=label)

    hits = [(ex("Pass"), 0.9), (ex("Fail"), 0.3), (ex(None), 0.8)]
    assert example_vote(BINARY, hits) == pytest.approx(0.5)  # (0.9 - 0.3) / 1.2
    assert example_vote(BINARY, []) is None
    assert example_vote(Pairwise(), hits) is None
    scored = [(Example(record_id="a", key_text="", case_text="", label=5), 0.75),
              (Example(record_id="b", key_text="", case_text="", label=1), 0.25)]  # fmt: skip
    assert example_vote(Scale(1, 5), scored) == pytest.approx(0.5)  # mean 4 of 1..5


def test_blend_learns_to_trust_the_vote_when_the_model_is_uninformative() -> None:
    from memalign.judging.decision import decide, fit_blend

    points = [(0.6, v, True) for v in (0.8, 0.9, 0.7, 1.0)]
    points += [(0.6, v, False) for v in (-0.8, -0.6, -1.0, -0.9)]
    blend = fit_blend(points)
    assert blend is not None and blend.b > 0
    probs = {"Pass": 0.6, "Fail": 0.4}
    assert decide(BINARY, probs, None, blend, -0.7)[0] == "Fail"
    assert decide(BINARY, probs, None, blend, 0.7)[0] == "Pass"
    assert decide(BINARY, probs, None, blend, None) == ("Pass", "argmax")
    assert fit_blend(points[:5]) is None  # one Fail only


def test_the_vote_rule_takes_the_retrieved_examples_side_and_the_model_breaks_a_tie() -> None:
    output = Labels(("Pass", "Fail"))
    probs = {"Pass": 0.9, "Fail": 0.1}
    assert decide(output, probs, None, None, -0.4, "vote")[0] == "Fail"
    assert "vote -0.40" in decide(output, probs, None, None, -0.4, "vote")[1]
    assert decide(output, probs, None, None, 0.0, "vote") == ("Pass", "argmax")
    assert decide(output, probs, None, None, -0.4)[0] == "Pass"  # the model's rule ignores it
    assert vote_value(Scale(1, 5), 0.5) is None
