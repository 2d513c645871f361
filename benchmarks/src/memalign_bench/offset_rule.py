"""A bias correction for pairwise and many-label judges, scored on the same verdicts.

Small models favour a position (answer A) or a label whatever the case. For two labels the
fitted threshold corrects that; beyond two there is no single cut, so this rule adds a fitted
offset to each choice's log-probability and takes the argmax: value = argmax_c log p_c + b_c.
The offsets are fitted by coordinate ascent on a grid to maximise accuracy on the probabilities
stored with the examples seen (those the judge gave each record when it arrived), preferring
the smallest correction among equals. No model call is added.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from memalign.judge import Judge
from memalign.judge_spec import Labels, Pairwise, Value
from memalign.judging.decision import EVIDENCE_WINDOW, normalise
from memalign.records import Verdict

Rule = Callable[[Verdict], Value | None]

GRID = tuple(x / 4 for x in range(-16, 17))  # offsets in nats, -4 .. 4
MIN_EVIDENCE = 4
ROUNDS = 5


def choose(
    choices: tuple[str, ...], probs: Mapping[str, float], offsets: Mapping[str, float]
) -> str:
    """argmax over choices of log P(choice) + its offset."""
    dist = normalise(probs, choices)
    return max(choices, key=lambda c: math.log(max(dist[c], 1e-9)) + offsets.get(c, 0.0))


def fit_offsets(
    choices: tuple[str, ...], evidence: Sequence[tuple[Mapping[str, float], str]]
) -> dict[str, float] | None:
    """Per-choice offsets (the first choice fixed at 0) that maximise accuracy on
    ``evidence``; None without enough of it or with a single label in it."""
    if len(evidence) < MIN_EVIDENCE or len({label for _, label in evidence}) < 2:
        return None
    offsets = dict.fromkeys(choices, 0.0)

    def accuracy(trial: Mapping[str, float]) -> int:
        return sum(1 for probs, label in evidence if choose(choices, probs, trial) == label)

    for _ in range(ROUNDS):
        before = dict(offsets)
        for choice in choices[1:]:
            offsets[choice] = max(
                GRID,
                key=lambda x: (accuracy({**offsets, choice: x}), -abs(x)),
            )
        if offsets == before:
            break
    return offsets


def offset_rule(judge: Judge, output: Pairwise | Labels, argmax: Rule) -> Rule:
    """The fitted-offsets rule, falling back to ``argmax`` where it cannot apply."""
    examples, _ = judge.store.recent_examples(judge.judge_id, EVIDENCE_WINDOW)
    evidence = [
        (e.judge_probs, str(e.label))
        for e in examples
        if e.judge_probs is not None and e.label is not None
    ]
    offsets = fit_offsets(output.choices, evidence)

    def rule(verdict: Verdict) -> Value | None:
        if offsets is None or verdict.probabilities is None:
            return argmax(verdict)
        return choose(output.choices, verdict.probabilities, offsets)

    return rule
