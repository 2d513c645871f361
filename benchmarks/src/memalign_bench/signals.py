"""Signals memory gives a verdict without a model call, for measurement (issue 22): the
product's checks (memalign.checks) as a vote, and the product's linear models over stored
example embeddings (memalign.judging.embedding_model), re-exported for the scripts."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from memalign.checks import lower_bound, match
from memalign.judging.embedding_model import fit_logistic, fit_ridge
from memalign.records import Case, Check

Array = npt.NDArray[np.float64]
__all__ = ["check_vote", "check_weight", "fit_logistic", "fit_ridge", "with_bias"]


def check_weight(check: Check) -> float:
    """Log-odds of the check's lower bound: its say grows with its evidence."""
    bound = min(max(lower_bound(check), 0.51), 0.99)
    return math.log(bound / (1 - bound))


def check_vote(checks: Sequence[Check], case: Case, first: str) -> float | None:
    """Weighted vote in [-1, 1] for ``first`` from the active checks that fire; None if none."""
    fired = [c for c in checks if c.active and match(c, case)[0]]
    if not fired:
        return None
    total = sum(check_weight(c) for c in fired)
    return sum(check_weight(c) * (1 if c.label == first else -1) for c in fired) / total


def with_bias(x: Array) -> Array:
    return np.hstack([x, np.ones((x.shape[0], 1))])
