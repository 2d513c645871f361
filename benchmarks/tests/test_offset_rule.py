from __future__ import annotations

from collections.abc import Callable

from memalign import Feedback, Judge, JudgeSpec, Pairwise
from memalign.providers import Completion, CompletionRequest
from memalign.testing import ScriptedLLM
from memalign_bench.decisions import rules_for, values_by_rule
from memalign_bench.offset_rule import choose, fit_offsets

AB = ("A", "B")


def test_offsets_undo_a_position_bias() -> None:
    # The model prefers A on every case, a little less when the experts preferred B.
    evidence = [({"A": p, "B": 1 - p}, "A") for p in (0.8, 0.85, 0.9)]
    evidence += [({"A": p, "B": 1 - p}, "B") for p in (0.6, 0.65, 0.7)]
    offsets = fit_offsets(AB, evidence)
    assert offsets is not None and offsets["A"] == 0.0 and offsets["B"] > 0
    assert [choose(AB, p, offsets) for p, _ in evidence] == [label for _, label in evidence]
    assert choose(AB, {"A": 0.6, "B": 0.4}, {"A": 0.0, "B": 0.0}) == "A"


def test_offsets_can_let_a_rarely_chosen_tie_through() -> None:
    choices = ("A", "B", "tie")
    evidence = [
        ({"A": 0.7, "B": 0.25, "tie": 0.05}, "A"),
        ({"A": 0.25, "B": 0.7, "tie": 0.05}, "B"),
    ]
    evidence += [
        ({"A": 0.45, "B": 0.4, "tie": 0.15}, "tie"),
        ({"A": 0.4, "B": 0.45, "tie": 0.15}, "tie"),
    ]
    offsets = fit_offsets(choices, evidence)
    assert offsets is not None
    assert [choose(choices, p, offsets) for p, _ in evidence] == ["A", "B", "tie", "tie"]


def test_no_offsets_without_enough_evidence_or_a_second_label() -> None:
    few = [({"A": 0.9, "B": 0.1}, "A")] * 2 + [({"A": 0.2, "B": 0.8}, "B")]
    assert fit_offsets(AB, few) is None
    assert fit_offsets(AB, [({"A": 0.9, "B": 0.1}, "A")] * 6) is None


def _leans_a(request: CompletionRequest) -> Completion:
    if not request.choices:
        return Completion(text='{"guidelines": []}')
    last = request.messages[-1].content
    return Completion(
        text="",
        choice_probs={"A": 0.8, "B": 0.2}
        if "A wins" in last.rsplit("case", 1)[-1]
        else {"A": 0.6, "B": 0.4},
    )


def test_the_rule_scores_the_same_pairwise_verdicts(make_judge: Callable[..., Judge]) -> None:
    llm = ScriptedLLM(_leans_a)
    spec = JudgeSpec(
        name="pair", instructions="Which reply is better?", output=Pairwise(allow_tie=False)
    )
    judge = make_judge(spec, llm=llm)

    def record(i: int, winner: str) -> Feedback:
        return Feedback(
            id=f"r{i}",
            inputs=f"case {i}: {winner} wins",
            outputs={"A": "one", "B": "two"},
            label=winner,
        )

    judge.align([record(i, "A" if i % 2 else "B") for i in range(10)])
    cases = [record(100 + i, "A" if i % 2 else "B") for i in range(6)]
    verdicts = judge.judge_many([c.case for c in cases], rationale=False)
    calls = llm.calls
    values = values_by_rule(rules_for(judge), verdicts)
    assert llm.calls == calls
    assert values["argmax"] == ["A"] * 6
    assert values["offsets"] == [c.label for c in cases]
