"""Checks through a judge's life: mined at alignment and validated on the labelled records,
deciding verdicts without a model call, refuted by new feedback, recounted and removed by
forget, carried by export and import, and kept out of the prompt."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from memalign import (
    Check,
    Feedback,
    InputError,
    Judge,
    JudgeSpec,
    MemoryConfig,
    NotFoundError,
    Pairwise,
    open_store,
)
from memalign.io.transfer import import_judge
from memalign.testing import FakeLLM, HashEmbedder, ScriptedLLM

RULE = "A bare except: hides every error, so this fails review."


def _batch(start: int = 0) -> list[Feedback]:
    failing = [
        Feedback(id=f"f{i}", outputs=f"try:\n    run({i})\nexcept: pass", label="Fail",
                 feedback=RULE)
        for i in range(start, start + 10)
    ]  # fmt: skip
    passing = [
        Feedback(id=f"p{i}", outputs=f"with open(p{i}) as f:\n    read(f)", label="Pass",
                 feedback="Clean resource handling.")
        for i in range(start, start + 10)
    ]  # fmt: skip
    return failing + passing


def _check_guideline(judge: Judge):  # type: ignore[no-untyped-def]
    mined = [g for g in judge.guidelines() if g.origin == "check" and g.check is not None]
    return next(g for g in mined if g.check.term.startswith("except") and g.check.present)


def test_a_check_is_mined_validated_and_decides_without_a_model_call(
    make_judge: Callable[..., Judge],
) -> None:
    llm = ScriptedLLM(lambda request: FakeLLM().complete(request))
    judge = make_judge(llm=llm)
    report = judge.align(_batch())
    guideline = _check_guideline(judge)
    assert guideline.check.active and (guideline.check.fires, guideline.check.hits) == (10, 10)
    assert set(guideline.sources) == {f"f{i}" for i in range(10)}
    assert guideline.id in {g.id for g in report.checks_added}
    assert "Fail when 'except" in guideline.text and "10 of 10" in guideline.text

    calls = len(llm.requests)
    verdict = judge.judge(outputs="try:\n    go()\nexcept: retry()")
    assert verdict.value == "Fail" and verdict.decision == "checks"
    assert verdict.usage.llm_calls == 0 and len(llm.requests) == calls
    hit = next(h for h in verdict.checks if h.guideline_id == guideline.id)
    assert hit.span is not None and hit.field == "outputs"
    assert guideline.id in verdict.guideline_ids and "without a model call" in verdict.rationale

    # The term's absence is evidence too: every passing record lacks it.
    clean = judge.judge(outputs="return 42")
    assert (clean.value, clean.decision, len(llm.requests)) == ("Pass", "checks", calls)


def test_the_disagreement_pass_asks_the_model_only_about_what_the_checks_leave(
    make_judge: Callable[..., Judge],
) -> None:
    """Mining needs no model, so it runs before the first pass: the 10 records the mined
    check decides cost no judge call, and their examples carry the checks' verdict, not the
    model's probabilities. (Three failures of another rule keep the term's absence from
    deciding the passing records.)"""
    llm = ScriptedLLM(lambda request: FakeLLM().complete(request))
    judge = make_judge(llm=llm)
    other = [
        Feedback(id=f"o{i}", outputs=f"return eval(data[{i}])", label="Fail",
                 feedback="Never eval what the user sent.")
        for i in range(3)
    ]  # fmt: skip
    report = judge.align([*_batch(), *other])
    assert report.decided_by_checks == 10
    judged = [r.messages[-1].content for r in llm.requests if r.purpose == "judge"]
    assert len(judged) == 13 and not any("except: pass" in text for text in judged)
    examples = {e.record_id: e for e in judge.examples()}
    assert all(examples[f"f{i}"].judge_value == "Fail" for i in range(10))
    assert all(examples[f"f{i}"].agree is True for i in range(10))
    assert all(examples[f"f{i}"].judge_probs is None for i in range(10))
    assert all(examples[f"f{i}"].decided_by_checks for i in range(10))
    assert not any(examples[f"p{i}"].decided_by_checks for i in range(10))
    assert all(examples[f"p{i}"].judge_value is not None for i in range(10))

    # A later batch the stored checks decide costs no judge call either.
    more = [
        Feedback(id="f-late", outputs="try:\n    late()\nexcept: pass", label="Fail",
                 feedback=RULE),
    ]  # fmt: skip
    before = len([r for r in llm.requests if r.purpose == "judge"])
    assert judge.align(more).decided_by_checks == 1
    assert len([r for r in llm.requests if r.purpose == "judge"]) == before


def test_a_check_this_alignment_removes_judges_nothing_in_it(
    make_judge: Callable[..., Judge],
) -> None:
    """Resubmitted with feedback that no longer names the term, the check's only sources take
    it with them; the records must then be put to the model, not settled by the check."""
    llm = ScriptedLLM(lambda request: FakeLLM().complete(request))
    judge = make_judge(llm=llm)
    judge.align(_batch())
    assert _check_guideline(judge).check.active
    reworded = [
        r.model_copy(update={"feedback": "Sloppy work."}) for r in _batch() if r.id.startswith("f")
    ]
    before = sum(1 for r in llm.requests if r.purpose == "judge")
    report = judge.align(reworded)
    assert report.records_updated == 10 and report.decided_by_checks == 0
    assert sum(1 for r in llm.requests if r.purpose == "judge") == before + 10
    assert not any(g.origin == "check" and "except" in g.text for g in judge.guidelines())
    assert not any(e.decided_by_checks for e in judge.examples() if e.record_id.startswith("f"))


def test_checks_can_be_told_not_to_decide(
    make_judge: Callable[..., Judge], spec: JudgeSpec
) -> None:
    from dataclasses import replace

    llm = ScriptedLLM(lambda request: FakeLLM().complete(request))
    judge = make_judge(replace(spec, memory=MemoryConfig(checks_decide=False)), llm=llm)
    report = judge.align(_batch())
    # Nor at alignment: every record is put to the model.
    assert report.decided_by_checks == 0
    assert sum(1 for r in llm.requests if r.purpose == "judge") == 20
    verdict = judge.judge(outputs="try:\n    go()\nexcept: retry()")
    assert verdict.decision != "checks" and verdict.usage.llm_calls >= 1
    assert _check_guideline(judge).id in {h.guideline_id for h in verdict.checks}
    # The model reads the distilled rules, not the mined checks' figures.
    prompt = llm.requests[-1].messages[0].content
    assert "labelled examples agree" not in prompt


def test_new_feedback_that_refutes_a_check_deactivates_it(make_judge: Callable[..., Judge]) -> None:
    judge = make_judge()
    judge.align(_batch())
    guideline = _check_guideline(judge)
    exceptions = [
        Feedback(id=f"ok{i}", outputs=f"try:\n    x({i})\nexcept: log()", label="Pass",
                 feedback="Logged and re-raised upstream: acceptable here.")
        for i in range(8)
    ]  # fmt: skip
    report = judge.align(exceptions)
    assert guideline.id in report.checks_refuted
    after = next(g for g in judge.guidelines() if g.id == guideline.id)
    assert after.status == "active" and after.check is not None and not after.check.active
    assert after.check.fires == 18 and "not active" in after.text
    verdict = judge.judge(outputs="try:\n    go()\nexcept: retry()")
    assert verdict.decision != "checks"


def test_forget_recounts_a_check_and_removes_it_with_its_last_source(
    make_judge: Callable[..., Judge],
) -> None:
    judge = make_judge()
    judge.align(_batch())
    guideline = _check_guideline(judge)
    judge.forget(ids=["f0", "f1"])
    shrunk = next(g for g in judge.guidelines() if g.id == guideline.id)
    assert shrunk.check is not None and (shrunk.check.fires, shrunk.check.hits) == (8, 8)
    assert "f0" not in shrunk.sources and "f1" not in shrunk.sources
    judge.forget(ids=[f"f{i}" for i in range(2, 10)])
    assert guideline.id not in {g.id for g in judge.guidelines()}


def test_export_and_import_carry_checks(make_judge: Callable[..., Judge], tmp_path: Path) -> None:
    judge = make_judge()
    judge.align(_batch())
    path = tmp_path / "export.jsonl"
    judge.export(path)
    copy_store = open_store(tmp_path / "copy.db")
    import_judge(copy_store, path, name="copy")
    copy = Judge.load(copy_store, "copy", llm=FakeLLM(), embedder=HashEmbedder())
    assert _check_guideline(copy).check == _check_guideline(judge).check
    assert copy.judge(outputs="try:\n    go()\nexcept: retry()").decision == "checks"


def _pairs(start: int = 0) -> list[Feedback]:
    """Summaries of a source: in each pair one copies every figure, the other alters one."""
    records = []
    for i in range(start, start + 12):
        source = f"Turnout was {40 + i}.{i % 10}% in district {i}, with {1000 + i} ballots."
        exact = f"District {i}: turnout {40 + i}.{i % 10}%, {1000 + i} ballots."
        altered = f"District {i} saw about {40 + i}% turnout and {1000 + i} ballots cast."
        winner = "A" if i % 2 else "B"
        pair = {"A": exact, "B": altered} if winner == "A" else {"A": altered, "B": exact}
        records.append(
            Feedback(id=f"r{i}", inputs={"source_text": source}, outputs=pair, label=winner,
                     feedback=f"{winner} keeps {40 + i}.{i % 10}% exact; the other rounds it.")
        )  # fmt: skip
    return records


def test_a_pairwise_judge_checks_each_candidate_against_its_source(
    make_judge: Callable[..., Judge],
) -> None:
    spec = JudgeSpec(name="pw", instructions="Which of {{ outputs }} is better?", output=Pairwise())
    llm = ScriptedLLM(lambda request: FakeLLM().complete(request))
    judge = make_judge(spec, llm=llm)
    report = judge.align(_pairs())
    grounded = [g for g in report.checks_added if g.check is not None and g.check.within]
    assert grounded, [g.text for g in report.checks_added]
    check = grounded[0].check
    assert (check.label, check.present, check.fires, check.hits) == ("loses", True, 12, 12)
    assert "is not copied from inputs.source_text" in grounded[0].text

    calls = len(llm.requests)
    source = "Inflation was 3.4% in May, up from 3.1%."
    verdict = judge.judge(
        inputs={"source_text": source},
        outputs={"A": "Inflation rose to about 3% in May.", "B": "Inflation: 3.4% in May."},
    )
    assert verdict.value == "B" and verdict.decision == "checks" and len(llm.requests) == calls
    hit = next(h for h in verdict.checks if h.guideline_id == grounded[0].id)
    assert hit.candidate == "A" and hit.span is not None  # the altered figure, in A's text
    assert "Inflation rose to about 3% in May."[hit.span[0] : hit.span[1]] == "3%"
    # Both exact: the checks do not decide, the model does.
    both = judge.judge(inputs={"source_text": source}, outputs={"A": "3.4% in May.", "B": "3.4%."})
    assert both.decision != "checks" and len(llm.requests) > calls


def test_a_pairwise_check_by_hand_implies_wins_or_loses(make_judge: Callable[..., Judge]) -> None:
    spec = JudgeSpec(name="pw", instructions="Which of {{ outputs }} is better?", output=Pairwise())
    judge = make_judge(spec)
    judge.align(_pairs())
    rule = judge.add_guideline("Vague turnout loses.")
    checked = judge.set_check(rule.id, Check(term="about", label="Loses"))
    assert checked.check is not None and checked.check.label == "loses"
    assert (checked.check.fires, checked.check.hits, checked.check.active) == (12, 12, True)
    with pytest.raises(InputError, match="wins or loses"):
        judge.set_check(rule.id, Check(term="about", label="A"))


def test_a_check_set_by_hand_is_validated_and_a_mined_one_is_explained_anew(
    make_judge: Callable[..., Judge],
) -> None:
    judge = make_judge()
    judge.align(_batch())
    rule = judge.add_guideline("Resource handling uses a with block.")
    checked = judge.set_check(rule.id, Check(term="with open(", label="pass"))
    assert checked.check is not None and checked.check.label == "Pass"  # the judge's spelling
    assert (checked.check.fires, checked.check.hits, checked.check.active) == (10, 10, True)
    assert checked.text == "Resource handling uses a with block."  # a hand-written rule keeps it
    assert judge.set_check(rule.id, None).check is None

    mined = _check_guideline(judge)
    narrowed = judge.set_check(mined.id, Check(term="except:", label="Fail", part="last_line"))
    assert "last line of the outputs" in narrowed.text and "10 of 10" in narrowed.text
    with pytest.raises(InputError, match="retire it instead"):
        judge.set_check(mined.id, None)
    with pytest.raises(NotFoundError):
        judge.set_check("g-missing", None)


def test_terms_too_rare_alone_are_pooled_cited_and_forgotten_with_their_sources(
    make_judge: Callable[..., Judge],
) -> None:
    claims = ("risk-free", "certain to double", "whatever the markets do")
    failing = [
        Feedback(id=f"c{n}{i}", outputs=f"Subject: News {n}{i}\nIt is {claim}.", label="Fail",
                 feedback=f'We cannot say "{claim}".')
        for n, claim in enumerate(claims)
        for i in range(4)
    ]  # fmt: skip
    passing = [
        Feedback(id=f"ok{i}", outputs=f"Subject: News {i}\nPast performance is no guide.",
                 label="Pass", feedback="Balanced wording.")
        for i in range(12)
    ]  # fmt: skip
    llm = ScriptedLLM(lambda request: FakeLLM().complete(request))
    judge = make_judge(llm=llm)
    judge.align([*failing, *passing])
    pooled = [g for g in judge.guidelines() if g.check is not None and g.check.pattern]
    assert len(pooled) == 1
    guideline = pooled[0]
    assert guideline.check is not None and guideline.check.active
    assert (guideline.check.fires, guideline.check.hits) == (12, 12)
    assert set(guideline.sources) == {f.id for f in failing}
    calls = len(llm.requests)
    verdict = judge.judge(outputs="Subject: Hello\nYour money is certain to double.")
    assert (verdict.value, verdict.decision, len(llm.requests)) == ("Fail", "checks", calls)
    # Forgetting the records that named one claim takes that claim out of the pool, its words
    # out of the guideline, and its records out of the figures.
    judge.forget(ids=[f"c0{i}" for i in range(4)])
    after = next(g for g in judge.guidelines() if g.id == guideline.id)
    assert after.check is not None and (after.check.fires, after.check.hits) == (8, 8)
    assert not any(s.startswith("c0") for s in after.sources)
    assert "risk" not in after.check.term and "risk" not in after.text
    risky = judge.judge(outputs="Subject: Hello\nIt is risk-free.")
    assert guideline.id not in {hit.guideline_id for hit in risky.checks}
    # With one claim left the pool is a plain check; with none, it goes.
    judge.forget(ids=[f"c1{i}" for i in range(4)])
    one = next(g for g in judge.guidelines() if g.id == guideline.id)
    assert one.check is not None and not one.check.pattern and one.check.fires == 4
    judge.forget(ids=[f"c2{i}" for i in range(4)])
    assert guideline.id not in {g.id for g in judge.guidelines()}


def test_a_clause_per_region_is_mined_at_alignment_and_decides_by_the_region(
    make_judge: Callable[..., Judge], tmp_path: Path
) -> None:
    wording = {"UK": "Capital at risk.", "US": "Not FDIC insured.", "EU": "Read the prospectus."}
    records = []
    for region, own in wording.items():
        others = [w for r, w in wording.items() if r != region]
        where = {"audience_region": region}
        for i in range(4):
            records += [
                Feedback(id=f"{region}-ok{i}", inputs=where, outputs=f"Hello {i}.\n{own}\nBye",
                         label="Pass", feedback=f"The {region} disclaimer is present."),
                Feedback(id=f"{region}-bad{i}", inputs=where,
                         outputs=f"Hello {i}.\n{others[i % 2]}\nBye", label="Fail",
                         feedback=f"Wrong disclaimer for a {region} email."),
            ]  # fmt: skip
    judge = make_judge()
    judge.align(records)
    mined = [g for g in judge.guidelines() if g.check is not None and g.check.alternatives]
    assert len(mined) == 1
    guideline = mined[0]
    assert guideline.check is not None and guideline.check.active
    assert (guideline.check.fires, guideline.check.hits) == (12, 12)
    assert set(guideline.sources) == {r.id for r in records if "bad" in r.id}
    assert "; or " in guideline.text
    email = "Hi.\nCapital at risk.\nBye"
    to_us = judge.judge(inputs={"audience_region": "US"}, outputs=email)
    assert (to_us.value, to_us.decision) == ("Fail", "checks")
    to_uk = judge.judge(inputs={"audience_region": "UK"}, outputs=email)
    assert guideline.id not in {hit.guideline_id for hit in to_uk.checks}
    # Export and import carry every clause.
    judge.export(tmp_path / "export.jsonl")
    copy_store = open_store(tmp_path / "copy.db")
    import_judge(copy_store, tmp_path / "export.jsonl", name="copy")
    copy = Judge.load(copy_store, "copy", llm=FakeLLM(), embedder=HashEmbedder())
    assert next(g for g in copy.guidelines() if g.check == guideline.check)
    # Forgetting the US records that failed takes the US clause out with its records.
    judge.forget(ids=[f"US-bad{i}" for i in range(4)])
    after = next(g for g in judge.guidelines() if g.id == guideline.id)
    assert after.check is not None and after.check.fires == 8
    assert len(after.check.alternatives) == 1 and "'US'" not in after.text
    assert judge.judge(inputs={"audience_region": "US"}, outputs=email).decision != "checks"


def test_a_pairwise_judge_mines_and_cites_a_clause_per_region(
    make_judge: Callable[..., Judge],
) -> None:
    wording = {"UK": "Capital at risk.", "US": "Not FDIC insured.", "EU": "Read the prospectus."}
    records = []
    for region, own in wording.items():
        others = [w for r, w in wording.items() if r != region]
        for i in range(4):
            good, bad = f"Fund {i}. {own}", f"Fund {i}. {others[i % 2]}"
            winner = "A" if i % 2 else "B"
            pair = {"A": good, "B": bad} if winner == "A" else {"A": bad, "B": good}
            said = f"{winner} carries the {region} disclaimer."
            records.append(
                Feedback(id=f"{region}{i}", inputs={"region": region}, outputs=pair,
                         label=winner, feedback=said)
            )  # fmt: skip
    spec = JudgeSpec(name="pw", instructions="Which of {{ outputs }} is better?", output=Pairwise())
    judge = make_judge(spec)
    judge.align(records)
    mined = [g for g in judge.guidelines() if g.check is not None and g.check.alternatives]
    assert len(mined) == 1 and mined[0].check is not None
    assert mined[0].check.label == "loses" and mined[0].check.active
    assert set(mined[0].sources) == {r.id for r in records}
    pair = {"A": "Fund. Capital at risk.", "B": "Fund. Not FDIC insured."}
    verdict = judge.judge(inputs={"region": "US"}, outputs=pair)
    assert (verdict.value, verdict.decision) == ("B", "checks")
