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
from memalign.alignment.distill import echoes_prompt
from memalign.providers import CompletionRequest
from memalign.testing import FakeLLM, ScriptedLLM

RULE = "Every reply must quote the customer's ticket number."


def _batch(fails: int, passes: int, start: int = 0) -> list[Feedback]:
    failing = [
        Feedback(id=f"f{i}", outputs=f"We refunded order {i}. Thanks for waiting.", label="Fail",
                 feedback="Never quotes the ticket, so the customer cannot trace it.")
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
    """A reflection model that writes RULE with the given check, citing the first two items."""

    def answer(request: CompletionRequest) -> str:
        if request.purpose != "distill":
            return FakeLLM().complete(request).text
        prompt = request.messages[-1].content
        cited = [part.split('"', 1)[0] for part in prompt.split('<item id="')[1:3]]
        check = {"where": "outputs", "pattern": pattern, "broken_when": broken_when}
        return json.dumps({"guidelines": [{"text": RULE, "sources": cited, "check": check}]})

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
    assert _rule(judge).id in {h.guideline_id for h in verdict.checks}
    # The experts' words name "ticket" too: mining would find the same test (absent -> Fail on
    # the same records), and does not add it beside the adopted one.
    mined = [g for g in judge.guidelines() if g.origin == "check"]
    assert not [g for g in mined if g.check and "ticket" in g.check.term and not g.check.present]


def test_a_refuted_proposal_is_not_attached(make_judge: Callable[..., Judge]) -> None:
    # "order" is in every record, failing and passing alike: neither reading holds.
    judge = make_judge(llm=_proposing("order", "found"))
    judge.align(_batch(10, 10))
    assert _rule(judge).check is None


def test_a_thinly_supported_proposal_waits_inactive_until_feedback_bears_it_out(
    make_judge: Callable[..., Judge],
) -> None:
    judge = make_judge(llm=_proposing(r"ticket #\d+", "missing"))
    judge.align(_batch(3, 6))
    check = _rule(judge).check
    assert check is not None and not check.active and (check.fires, check.hits) == (3, 3)
    assert judge.judge(outputs="We refunded order 77.").decision != "checks"

    judge.align(_batch(10, 10, start=100))
    check = _rule(judge).check
    assert check is not None and check.active and (check.fires, check.hits) == (13, 13)


def test_a_strict_forget_that_rewrites_the_guideline_drops_the_proposed_pattern(
    make_judge: Callable[..., Judge],
) -> None:
    judge = make_judge(llm=_proposing(r"ticket #\d+", "missing"))
    judge.align(_batch(10, 10))
    rule = _rule(judge)
    assert rule.check is not None and rule.check.proposed and len(rule.sources) == 2
    judge.forget([rule.sources[0]])  # the guideline is rewritten from the source left
    rewritten = next(g for g in judge.guidelines() if g.id == rule.id)
    assert rewritten.check is None  # the pattern may have quoted the forgotten case


def test_no_proposal_lands_on_a_rule_a_person_owns(
    make_judge: Callable[..., Judge],
) -> None:
    judge = make_judge(llm=_proposing(r"ticket #\d+", "missing"))
    mine = judge.add_guideline(RULE)  # the reflection model restates it: they merge
    judge.align(_batch(10, 10))
    assert [g.id for g in judge.guidelines() if g.text == RULE] == [mine.id]  # merged
    assert next(g for g in judge.guidelines() if g.id == mine.id).check is None


def test_the_check_request_counts_as_prompt_wording_only_when_it_was_sent() -> None:
    rule = "Fail the reply when it is missing a greeting in the outputs."
    record = Feedback(id="r1", outputs="Done.", label="Fail", feedback="No greeting.")
    assert not echoes_prompt(rule, [record], "distill")
    assert echoes_prompt(rule, [record], "distill", "distill_check")


def test_a_record_whose_checks_verdict_a_proposal_overturns_goes_to_the_model(
    make_judge: Callable[..., Judge],
) -> None:
    """The checks judge first, before reflection; a check reflection then proposes can leave
    a record they settled undecided. That record is put to the model after all, so what
    alignment records is what the judge will say."""
    failing = [
        Feedback(id=f"f{i}", outputs=f"try:\n    print({i})\nexcept: pass", label="Fail",
                 feedback="A bare except: hides every error.")
        for i in range(20)
    ]  # fmt: skip
    passing = [
        Feedback(id=f"p{i}", outputs=f"with open(p{i}) as f:\n    read(f)", label="Pass",
                 feedback="Clean resource handling.")
        for i in range(19)
    ]  # fmt: skip
    # Failing without printing: "no print, so Pass" does not hold, "print, so Fail" does.
    quiet = [
        Feedback(id=f"q{i}", outputs=f"try:\n    go({i})\nexcept: log()", label="Fail",
                 feedback="A bare except: hides every error.")
        for i in range(3)
    ]  # fmt: skip
    # Passes by the mined "'except' missing" check, yet prints: the proposal says Fail.
    odd = Feedback(id="odd", outputs="with open(q) as f:\n    print(f)", label="Pass",
                   feedback="Fine for a script.")  # fmt: skip
    llm = _proposing(r"print\(", "found")
    judge = make_judge(llm=llm)
    report = judge.align([*failing, *passing, *quiet, odd])
    proposal = _rule(judge).check
    assert proposal is not None and proposal.active and (proposal.fires, proposal.hits) == (21, 20)
    judged = [r.messages[-1].content for r in llm.requests if r.purpose == "judge"]
    assert len(judged) == 1 and "print(f)" in judged[0]
    example = next(e for e in judge.examples() if e.record_id == "odd")
    assert not example.decided_by_checks and report.decided_by_checks == 42
