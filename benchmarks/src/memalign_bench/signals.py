"""Signals memory gives a verdict without a model call, for measurement (issue 22): the
product's checks (memalign.checks) as a vote, and linear models over stored example embeddings
(the candidates for the fitted decision)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from memalign.checks import lower_bound, match
from memalign.records import Case, Check

Array = npt.NDArray[np.float64]


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


def fit_logistic(x: Array, y: Array, l2: float = 1.0) -> Array:
    """L2-regularised logistic regression by Newton steps; the last column of ``x`` is the
    constant (left unpenalised)."""
    w: Array = np.zeros(x.shape[1])
    penalty = l2 * np.eye(x.shape[1])
    penalty[-1, -1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        gradient = x.T @ (p - y) + penalty @ w
        hessian = (x.T * (p * (1 - p))) @ x + penalty + 1e-9 * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, gradient)
        w = w - step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w


def fit_ridge(x: Array, y: Array, l2: float = 1.0) -> Array:
    penalty = l2 * np.eye(x.shape[1])
    penalty[-1, -1] = 0.0
    return np.asarray(np.linalg.solve(x.T @ x + penalty, x.T @ y), dtype=np.float64)
