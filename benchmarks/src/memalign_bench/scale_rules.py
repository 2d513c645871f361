"""Decision rules for an integer scale, scored on the same verdicts as the pure read-out.

A small model's mean score is often squeezed into the middle of the scale or shifted, and CCC
(the scale metric) charges for both. The feedback seen says how the experts' scores spread, so
the read-out can be mapped onto it: the linear map that maximises CCC on the evidence matches
its mean and spread (slope s_y/s_x; fitted only when the two correlate positively). The
retrieved examples' mean score is a second signal, blended in by least squares. Everything is
fitted on the probabilities stored with each example, so no model call is added: for a scale,
those the judge gave the record when it arrived, under the memory before it (the calibration
pass re-scores binary judges only).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from memalign.judge import Judge
from memalign.judge_spec import Scale, Value
from memalign.judging.decision import EVIDENCE_WINDOW, expected_score, leave_one_out_votes
from memalign.records import Verdict

Rule = Callable[[Verdict], Value | None]

# About ten points per fitted parameter: on the 10 records of travel_agent_reply's first shard the
# 1.5B's read-out correlated *negatively* with the experts by chance, and the map and blend fitted
# on them scored CCC -0.21 and -0.51 on the test split (argmax 0.12).
MIN_EVIDENCE = 10
MIN_BLEND_EVIDENCE = 20


def vote_score(output: Scale, vote: float) -> float:
    """A vote in [-1, 1] back on the scale."""
    return output.low + (vote + 1) / 2 * (output.high - output.low)


def on_scale(output: Scale, x: float) -> int:
    return min(output.high, max(output.low, round(x)))


@dataclass(frozen=True)
class LinearMap:
    slope: float
    intercept: float

    def __call__(self, x: float) -> float:
        return self.slope * x + self.intercept


def fit_ccc_map(xs: Sequence[float], ys: Sequence[float]) -> LinearMap | None:
    """The linear map of ``xs`` with the highest CCC against ``ys``, among those that keep the
    read-out's order; None without enough evidence or a positive correlation. (With r < 0 the
    CCC-best map would reverse the judge, which on a few points is trusting noise.)"""
    if len(xs) < MIN_EVIDENCE:
        return None
    sx, sy = statistics.pstdev(xs), statistics.pstdev(ys)
    if sx == 0 or sy == 0:
        return None
    r = float(np.corrcoef(xs, ys)[0, 1])
    if np.isnan(r) or r <= 0:
        return None
    slope = sy / sx
    return LinearMap(slope, statistics.fmean(ys) - slope * statistics.fmean(xs))


def scale_rules(judge: Judge, output: Scale, argmax: Rule) -> dict[str, Rule]:
    """calibrated, vote and blend, each falling back to ``argmax`` where it cannot apply."""
    examples, matrix = judge.store.recent_examples(judge.judge_id, EVIDENCE_WINDOW)
    votes = leave_one_out_votes(output, examples, matrix, judge.spec.memory.k)
    points = [
        (expected_score(output, e.judge_probs), vote, float(str(e.label)))
        for e, vote in zip(examples, votes, strict=True)
        if e.judge_probs is not None and e.label is not None
    ]
    calibrate = fit_ccc_map([x for x, _, _ in points], [y for _, _, y in points])
    voted = [(x, v, y) for x, v, y in points if v is not None]
    weights = None
    combined = None
    if len(voted) >= MIN_BLEND_EVIDENCE:
        design = np.array([[x, vote_score(output, v), 1.0] for x, v, _ in voted])
        target = np.array([y for _, _, y in voted])
        weights = np.linalg.lstsq(design, target, rcond=None)[0]
        combined = fit_ccc_map(list(design @ weights), list(target))

    def calibrated(verdict: Verdict) -> Value | None:
        if calibrate is None or verdict.probabilities is None:
            return argmax(verdict)
        return on_scale(output, calibrate(expected_score(output, verdict.probabilities)))

    def vote(verdict: Verdict) -> Value | None:
        if verdict.vote is None:
            return argmax(verdict)
        return on_scale(output, vote_score(output, verdict.vote))

    def blend(verdict: Verdict) -> Value | None:
        if weights is None or combined is None or verdict.vote is None:
            return calibrated(verdict)
        if verdict.probabilities is None:
            return vote(verdict)
        x = expected_score(output, verdict.probabilities)
        z = float(np.dot(weights, [x, vote_score(output, verdict.vote), 1.0]))
        return on_scale(output, combined(z))

    return {"calibrated": calibrated, "vote": vote, "blend": blend}
