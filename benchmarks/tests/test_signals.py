from __future__ import annotations

import numpy as np

from memalign.records import Case, Check
from memalign_bench.signals import check_vote, fit_logistic, fit_ridge, with_bias


def test_checks_vote_by_evidence_and_abstain_when_none_fires() -> None:
    strong = Check(term="except:", label="fail", fires=20, hits=20, active=True)
    weak = Check(term="print(", label="pass", fires=5, hits=4, active=True)
    inactive = Check(term="pass", label="pass", fires=9, hits=3, active=False)
    both = Case(outputs="try: print(x)\nexcept: pass")
    vote = check_vote([strong, weak, inactive], both, "pass")
    assert vote is not None and -1.0 < vote < 0.0  # the better-supported check wins
    assert check_vote([strong, weak], Case(outputs="return 1"), "pass") is None


def test_linear_models_fit_a_separable_set() -> None:
    x = with_bias(np.array([[0.0], [1.0], [2.0], [3.0]]))
    w = fit_logistic(x, np.array([0.0, 0.0, 1.0, 1.0]), 0.01)
    assert [float(v @ w) > 0 for v in x] == [False, False, True, True]
    r = fit_ridge(x, np.array([1.0, 2.0, 3.0, 4.0]), 1e-6)
    assert np.allclose(x @ r, [1.0, 2.0, 3.0, 4.0], atol=1e-3)
