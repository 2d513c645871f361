"""Checks the reflection model proposes with its guidelines: asked for in the same call, read
as predicates, validated on the labelled records (either reading of the proposal), attached to
the guideline only where the records do not refute them, and validated again as feedback
grows."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import pytest

from memalign import Feedback, Judge, JudgeSpec, MemoryConfig
from memalign.providers import CompletionRequest
from memalign.testing import FakeLLM, ScriptedLLM

RULE = "Every reply must quote the customer's ticket number."


def _batch(fails: int, passes: int, start: int = 0) -> list[Feedback]:
    failing = [
        Feedback(id=f"f{i}", outputs=f"We refunded order {i}. Thanks for waiting.", label="Fail",
                 feedback="Never quotes it, and the customer cannot trace the request.")
        for i in range(start, start + fails)
    ]  # fmt: skip
    passing = [
        Feedback(id=f"p{i}", outputs=f"Re ticket #{4000 + i}: we refunded order {i}.",
                 label="Pass", feedback="Fine.")
        for i in range(start, start + passes)
    ]  # fmt: skip
    # Another rule broken with the ticket quoted: "ticket found, so Pass" does not hold.
    rude = [
        Feedback(id=f"r{i}", outputs=f"Re ticket #{5000 + i}: read the manual, order {i}.",
                 label="Fail", feedback="Rude.")
        for i in range(start, start + passes // 2)
    ]  # fmt: skip
    return failing + passing + rude


def _proposing(pattern: str, broken_when: str) -> ScriptedLLM:
    """A reflection model that writes RULE with the given check, citing the first item."""

    def answer(request: CompletionRequest) -> str:
        if request.purpose != "distill":
            return FakeLLM().complete(request).text
        prompt = request.messages[-1].content
        first = prompt.split('<item id="', 1)[1].split('"', 1)[0]
        check = {"where": "outputs", "pattern": pattern, "broken_when": broken_when}
        return json.dumps({"guidelines": [{"text": RULE, "sources": [first], "check": check}]})

    return ScriptedLLM(answer)


@pytest.fixture
def spec(spec: JudgeSpec) -> JudgeSpec:
    """The shared spec with proposals on (they are opt-in)."""
    return replace(spec, memory=MemoryConfig(propose_checks=True))


def _rule(judge: Judge):  # type: ignore[no-untyped-def]
    return next(g for g in judge.guidelines() if g.text == RULE)


def test_a_proposed_check_is_asked_for_in_the_reflection_call_and_off_when_configured(
    make_judge: Callable[..., Judge], spec: JudgeSpec
) -> None:
    llm = _proposing(r"ticket #\d+", "missing")
    make_judge(llm=llm).align(_batch(3, 3))
    distill = next(r for r in llm.requests if r.purpose == "distill")
    assert "broken_when" in distill.messages[-1].content
    assert distill.schema is not None
    item = distill.schema["properties"]["guidelines"]["items"]
    assert "check" in item["required"]

    quiet = _proposing(r"ticket #\d+", "missing")
    off = replace(spec, name="no_proposals", memory=MemoryConfig())  # the default: off
    judge = make_judge(off, llm=quiet)
    judge.align(_batch(3, 3))
    distill = next(r for r in quiet.requests if r.purpose == "distill")
    assert "broken_when" not in distill.messages[-1].content
    assert distill.schema is not None
    assert "check" not in distill.schema["properties"]["guidelines"]["items"]["properties"]
    # Even if a model volunteers one, a judge that asked for none attaches none.
    assert _rule(judge).check is None


def test_the_records_settle_a_proposal_made_in_the_wrong_direction(
    make_judge: Callable[..., Judge],
) -> None:
    # The small model says the rule is broken when the ticket is found; the records say missing.
    llm = _proposing(r"ticket #\d+", "found")
    judge = make_judge(llm=llm)
    report = judge.align(_batch(10, 10))
    check = _rule(judge).check
    assert check is not None and check.active
    assert (check.present, check.label, check.fires, check.hits) == (False, "Fail", 10, 10)
    assert _rule(judge).id in {g.id for g in report.checks_added}
    assert _rule(judge).origin == "distilled"  # the guideline keeps its words and origin

    calls = llm.calls
    verdict = judge.judge(outputs="We refunded order 77.")
    assert (verdict.value, verdict.decision, llm.calls) == ("Fail", "checks", calls)
    # Mining found the same test in the feedback's words? It is not added twice.
    fired = [h.guideline_id for h in verdict.checks]
    assert len(fired) == len(set(fired)) and _rule(judge).id in fired


def test_a_refuted_proposal_is_not_attached(make_judge: Callable[..., Judge]) -> None:
    # "order" is in every record, failing and passing alike: neither reading holds.
    judge = make_judge(llm=_proposing("order", "found"))
    judge.align(_batch(10, 10))
    assert _rule(judge).check is None


def test_a_thinly_supported_proposal_waits_inactive_until_feedback_bears_it_out(
    make_judge: Callable[..., Judge],
) -> None:
    judge = make_judge(llm=_proposing(r"ticket #\d+", "missing"))
    judge.align(_batch(2, 3))
    check = _rule(judge).check
    assert check is not None and not check.active and (check.fires, check.hits) == (2, 2)
    assert judge.judge(outputs="We refunded order 77.").decision != "checks"

    judge.align(_batch(10, 10, start=100))
    check = _rule(judge).check
    assert check is not None and check.active and (check.fires, check.hits) == (12, 12)
