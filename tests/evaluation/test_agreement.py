from __future__ import annotations

import pytest

from memalign import FloatScore, Labels, Pairwise, Scale
from memalign.evaluation.agreement import agreement_report


def test_errors_count_as_wrong_but_never_as_a_label() -> None:
    report = agreement_report(
        Labels(("Pass", "Fail")), ["Pass", "Fail", "Pass"], ["Pass", "Fail", None]
    )
    assert report["n"] == 3 and report["errors"] == 1
    assert report["accuracy"] == pytest.approx(2 / 3)
    assert report["kappa"] == pytest.approx(1.0)  # over the two scored items
    assert report["balanced_accuracy"] == pytest.approx(0.75)  # Pass 1/2, Fail 1/1
    assert report["confusion"] == {"classes": ["Pass", "Fail"], "matrix": [[1, 0], [0, 1]]}


def test_scales_report_ccc_and_pairwise_reports_both_tie_policies() -> None:
    scale = agreement_report(Scale(1, 5), [1, 3, 5], [1, 3, 4])
    assert scale["ccc"] < 1.0 and scale["confusion"]["classes"] == [1, 2, 3, 4, 5]
    floats = agreement_report(FloatScore(0, 1), [0.1, 0.5, 0.9], [0.1, 0.5, 0.9])
    assert floats["ccc"] == pytest.approx(1.0) and "accuracy" not in floats
    pairwise = agreement_report(Pairwise(), ["A", "tie", "B"], ["A", "A", "tie"])
    assert pairwise["pairwise_accuracy"] == pytest.approx(1 / 3)
    assert pairwise["pairwise_accuracy_ties_half"] == pytest.approx(2 / 3)


def test_balanced_accuracy_sees_through_one_constant_label() -> None:
    labels = ["Pass"] * 8 + ["Fail"] * 2
    report = agreement_report(Labels(("Pass", "Fail")), labels, ["Pass"] * 10)
    assert report["accuracy"] == pytest.approx(0.8) and report["balanced_accuracy"] == 0.5
    assert "balanced_accuracy" not in agreement_report(Scale(1, 5), [1, 3], [1, 3])


def test_nothing_scored() -> None:
    assert agreement_report(Labels(("a", "b")), ["a"], [None]) == {"n": 1, "errors": 1}
