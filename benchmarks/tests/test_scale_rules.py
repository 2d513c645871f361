from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from memalign import Feedback, Judge, JudgeSpec, Scale
from memalign.evaluation.metrics import ccc
from memalign.providers import Completion, CompletionRequest
from memalign.testing import ScriptedLLM
from memalign_bench.decisions import rules_for, values_by_rule
from memalign_bench.scale_rules import fit_ccc_map

SCALE = Scale(1, 5)


def _squeezed(request: CompletionRequest) -> Completion:
    # A model that ranks the replies right but squeezes every score towards 3, as small models
    # do: its mean score moves only ±0.4 around the middle.
    if not request.choices:
        return Completion(text='{"guidelines": []}')
    text = "\n".join(m.content for m in request.messages)
    quality = int(re.findall(r"quality (\d)", text)[-1])  # the case is the last one shown
    lean = (quality - 3) / 5
    return Completion(text="", choice_probs={"2": 0.5 - lean, "4": 0.5 + lean})


def _record(i: int, quality: int) -> Feedback:
    return Feedback(
        id=f"r{i}",
        inputs=f"trip {i}",
        outputs=f"reply of quality {quality} number {i}",
        label=quality,
    )


def test_ccc_map_matches_the_experts_spread() -> None:
    xs = [2.8 + 0.05 * i for i in range(10)]
    ys = [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0]
    mapped = fit_ccc_map(xs, ys)
    assert mapped is not None
    assert ccc([mapped(x) for x in xs], ys) > ccc(xs, ys) + 0.5
    assert fit_ccc_map(xs[:9], ys[:9]) is None  # too little evidence
    assert fit_ccc_map([3.0] * 10, ys) is None  # nothing to spread
    assert fit_ccc_map(xs, ys[::-1]) is None  # would reverse the judge: not calibration
    flat = [1.0, 2.0, 1.0, 2.0, 1.5, 2.0, 1.0, 2.0, 1.0, 1.5]  # same mean for either score
    assert fit_ccc_map(flat, [1.0] * 5 + [2.0] * 5) is None  # no correlation


def test_scale_rules_undo_a_squeezed_read_out(make_judge: Callable[..., Judge]) -> None:
    llm = ScriptedLLM(_squeezed)
    judge = make_judge(
        JudgeSpec(name="trip", instructions="Rate the reply.", output=SCALE), llm=llm
    )
    judge.align([_record(i, 1 + i % 5) for i in range(25)])
    cases = [_record(100 + i, 1 + i % 5) for i in range(10)]
    verdicts = judge.judge_many([c.case for c in cases], rationale=False)
    calls = llm.calls

    values = values_by_rule(rules_for(judge), verdicts)

    assert llm.calls == calls  # scored on the same verdicts
    assert set(values) == {"argmax", "calibrated", "vote", "blend"}
    truth = [float(c.label) for c in cases]  # type: ignore[arg-type]
    score = {rule: ccc([float(v) for v in got], truth) for rule, got in values.items()}  # type: ignore[arg-type]
    assert score["calibrated"] > score["argmax"] + 0.3
    assert score["blend"] >= score["argmax"]
    assert all(v.vote is not None and -1 <= v.vote <= 1 for v in verdicts)
    assert {v for v in values["calibrated"]} <= {1, 2, 3, 4, 5}


@pytest.mark.parametrize("vote", [-1.0, 0.0, 1.0])
def test_vote_maps_back_onto_the_scale(vote: float) -> None:
    from memalign_bench.scale_rules import on_scale, vote_score

    assert on_scale(SCALE, vote_score(SCALE, vote)) == {-1.0: 1, 0.0: 3, 1.0: 5}[vote]
