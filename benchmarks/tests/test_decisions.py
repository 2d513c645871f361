from __future__ import annotations

from collections.abc import Callable

from memalign import Feedback, Judge
from memalign.providers import Completion, CompletionRequest
from memalign.testing import ScriptedLLM
from memalign_bench.decisions import rules_for, values_by_rule


def _biased(request: CompletionRequest) -> Completion:
    # A model that leans to "Pass" whatever the case, as small local models often do.
    if request.choices:
        return Completion(text="", choice_probs={"Pass": 0.7, "Fail": 0.3})
    return Completion(text='{"guidelines": []}')


def _record(i: int, label: str) -> Feedback:
    topic = "refund apology ticket" if label == "Pass" else "competitor voucher rudeness"
    return Feedback(
        id=f"r{i}", inputs=f"{topic} case {i}", outputs=f"{topic} reply {i}", label=label
    )


def test_rules_score_the_same_verdicts_differently(make_judge: Callable[..., Judge]) -> None:
    llm = ScriptedLLM(_biased)
    judge = make_judge(llm=llm)
    judge.align([_record(i, "Pass" if i % 2 else "Fail") for i in range(12)])
    cases = [_record(100 + i, "Pass" if i % 2 else "Fail") for i in range(6)]
    verdicts = judge.judge_many([c.case for c in cases], rationale=False)
    calls = llm.calls

    rules = rules_for(judge)
    values = values_by_rule(rules, verdicts)

    assert llm.calls == calls  # every rule reuses the verdicts: no model calls
    assert set(values) == {"argmax", "threshold", "vote", "blend"}
    assert values["argmax"] == ["Pass"] * 6  # the bias, uncorrected
    truth = [c.label for c in cases]
    assert values["vote"] == truth  # the retrieved neighbours carry the right label
    assert all(v.vote is not None for v in verdicts)


def test_pairwise_gets_a_bias_correction_not_a_vote(make_judge: Callable[..., Judge]) -> None:
    from memalign import JudgeSpec, Pairwise

    spec = JudgeSpec(name="pair", instructions="Which reply is better?", output=Pairwise())
    judge = make_judge(spec)
    assert list(rules_for(judge)) == ["argmax", "offsets"]
