from __future__ import annotations

from memalign import Labels, Pairwise, Scale
from memalign.decision import Threshold, agrees, fit_threshold, value_from_probs

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


def test_float_agreement_uses_a_tolerance() -> None:
    from memalign import FloatScore

    assert agrees(FloatScore(0, 1), 0.52, 0.5)
    assert not agrees(FloatScore(0, 1), 0.7, 0.5)
    assert agrees(BINARY, "Pass", "Pass") and not agrees(BINARY, "Pass", "Fail")
