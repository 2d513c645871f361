from __future__ import annotations

import json
from collections.abc import Callable

from memalign import Feedback, Judge
from memalign.providers import CompletionRequest
from memalign.testing import FakeLLM, ScriptedLLM


def fb(rid: str, text: str) -> Feedback:
    return Feedback(id=rid, inputs=f"case {rid}", outputs="reply", label="Fail", feedback=text)


def test_near_duplicates_merge_with_union_provenance(make_judge: Callable[..., Judge]) -> None:
    judge = make_judge()
    judge.align([fb("a", "Replies must open with an apology.")], detect_disagreements=False)
    report = judge.align(
        [fb("b", "Replies must open with an apology!")], detect_disagreements=False
    )
    assert report.guidelines_merged == 1 and report.guidelines_added == 0
    (only,) = judge.guidelines()
    assert only.sources == ["a", "b"]


def test_distinct_rules_stay_separate(make_judge: Callable[..., Judge]) -> None:
    judge = make_judge()
    judge.align([fb("a", "Replies must open with an apology.")], detect_disagreements=False)
    judge.align([fb("b", "Never quote exact delivery dates.")], detect_disagreements=False)
    assert len(judge.guidelines()) == 2


def _grey_zone_llm(decision: str) -> ScriptedLLM:
    fake = FakeLLM()

    def answer(request: CompletionRequest) -> str:
        if request.purpose == "consolidate":
            return json.dumps(
                {
                    "decisions": [
                        {
                            "pair": 1,
                            "decision": decision,
                            "text": "Replies open with a short apology.",
                        }
                    ]
                }
            )
        return fake.complete(request).text

    return ScriptedLLM(answer)


OLD = "Replies must open with an apology to the customer before anything else."
NEW = "Replies must open with an apology to the customer, then give the ticket number."


def test_grey_zone_pairs_go_to_the_reflection_model(make_judge: Callable[..., Judge], spec) -> None:  # type: ignore[no-untyped-def]
    llm = _grey_zone_llm("same")
    judge = make_judge(spec.with_memory(merge_threshold=0.99, consolidate_threshold=0.5), llm=llm)
    judge.align([fb("a", OLD)], detect_disagreements=False)
    judge.align([fb("b", NEW)], detect_disagreements=False)
    assert [r.purpose for r in llm.requests].count("consolidate") == 1
    (merged,) = judge.guidelines()
    assert merged.text == "Replies open with a short apology." and merged.sources == ["a", "b"]


def test_conflicts_resolve_in_favour_of_newer_feedback(
    make_judge: Callable[..., Judge], spec
) -> None:  # type: ignore[no-untyped-def]
    judge = make_judge(
        spec.with_memory(merge_threshold=0.99, consolidate_threshold=0.5),
        llm=_grey_zone_llm("conflict"),
    )
    judge.align([fb("a", OLD)], detect_disagreements=False)
    report = judge.align([fb("b", NEW)], detect_disagreements=False)
    status = {g.text: g.status for g in judge.guidelines()}
    assert status == {OLD: "retired", NEW: "active"}
    assert report.guidelines_removed == 1


def test_pinned_guidelines_keep_their_words(make_judge: Callable[..., Judge]) -> None:
    judge = make_judge()
    pinned = judge.add_guideline("Replies must open with an apology.", pinned=True)
    judge.align([fb("a", "Replies must open with an apology!")], detect_disagreements=False)
    (only,) = judge.guidelines()
    assert only.id == pinned.id and only.text == "Replies must open with an apology."
    assert only.sources == ["a"]
