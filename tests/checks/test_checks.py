from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from memalign.checks import (
    adopt,
    candidate_terms,
    describe,
    explain,
    holds,
    match,
    mine_checks,
    parse_condition,
    shortfall,
    spell_condition,
    validate,
    wilson_lower_bound,
)
from memalign.checks import pairwise as pairs
from memalign.checks.mining import NUMBER
from memalign.records import Case, Check, CheckHit, Place, Predicate


def _labelled(n_fail: int, n_pass: int) -> list[tuple[Case, str]]:
    failing = [(Case(outputs=f"try:\n    run({i})\nexcept: pass"), "Fail") for i in range(n_fail)]
    passing = [(Case(outputs=f"with open(p{i}) as f:\n    read(f)"), "Pass") for i in range(n_pass)]
    return failing + passing


def test_a_check_fires_on_presence_or_absence_and_names_the_span() -> None:
    check = Check(term="EXCEPT:", label="Fail")
    assert check.term == "except:"  # matched case-insensitively
    assert match(check, Case(outputs="try: x()\nExcept: pass")) == (True, (9, 16))
    absent = Check(term="unsubscribe", label="Fail", present=False)
    assert match(absent, Case(outputs="Buy now!")) == (True, None)
    assert match(absent, Case(outputs="Unsubscribe here.")) == (False, None)
    on_inputs = Check(term="eu", label="Fail", field="inputs")
    assert match(on_inputs, Case(inputs={"region": "EU"}, outputs="x"))[0]
    with pytest.raises(ValidationError):
        Check(term="   ", label="Fail")


def test_validation_needs_support_and_a_lower_bound_not_just_precision() -> None:
    assert wilson_lower_bound(3, 3) < 0.6 < wilson_lower_bound(9, 9)
    check = Check(term="except:", label="Fail")
    assert validate(check, _labelled(10, 10), 0.75).active
    few = validate(check, _labelled(3, 10), 0.75)
    assert (few.fires, few.hits, few.active) == (3, 3, False)  # precise, but too little evidence
    refuted = validate(
        check, [*_labelled(10, 10), *[(Case(outputs="except: ok"), "Pass")] * 6], 0.75
    )
    assert refuted.fires == 16 and not refuted.active
    assert "not active" in explain(refuted) and "10 of 16" in explain(refuted)


def test_an_inactive_check_says_what_holds_it_back() -> None:
    check = Check(term="except:", label="Fail")
    assert shortfall(validate(check, _labelled(10, 10), 0.75), 0.75) is None
    rare = validate(check, _labelled(2, 10), 0.75)
    assert shortfall(rare, 0.75) == "it fires on 2 labelled record(s); it needs 3 or more"
    few = shortfall(validate(check, _labelled(5, 10), 0.75), 0.75)
    # 5 of 5: a bound of 0.65; 9 of 9 reaches 0.77, so four more agreeing records.
    assert few is not None and "5 of 5 agree, a 95% lower bound of 0.65" in few
    assert "about 4 more agreeing record(s)" in few
    assert wilson_lower_bound(8, 8) < 0.75 <= wilson_lower_bound(9, 9)
    mixed = [*_labelled(10, 10), *[(Case(outputs="except: ok"), "Pass")] * 6]
    refuted = shortfall(validate(check, mixed, 0.75), 0.75)
    assert refuted is not None and "10 of 16 agree" in refuted and "more" not in refuted


def test_a_check_that_only_restates_the_base_rate_is_not_active() -> None:
    # 18 of 20 records pass, and every one of them lacks `except:`.
    labelled = [*_labelled(2, 10), *[(Case(outputs=f"return {i}"), "Pass") for i in range(8)]]
    common = Check(term="except:", present=False, label="Pass")
    figures = validate(common, labelled, 0.6)
    # 18 of 18: a lower bound of 0.87 clears the 0.6 asked for, not the 0.90 base rate.
    assert (figures.fires, figures.hits, figures.active) == (18, 18, False)
    assert validate(common, labelled * 3, 0.6).active  # 54 of 54: 0.95 beats the rate
    rare = [*_labelled(2, 40), *[(Case(outputs=f"return {i}"), "Pass") for i in range(40)]]
    assert not validate(common, rare, 0.6).active  # 80 of 80 pass, as 80 of 82 records do


def test_a_proposed_predicate_is_read_the_way_the_records_bear_out() -> None:
    labelled = [
        *_labelled(10, 10),
        *[(Case(outputs=f"except: log({i})"), "Fail") for i in range(3)],
    ]
    # Proposed as "broken when missing", the records say the term's presence implies Fail.
    check = adopt(Predicate(term="except:", present=False), labelled, 0.75)
    assert check is not None and check.active
    assert (check.present, check.label, check.fires, check.hits) == (True, "Fail", 13, 13)
    # A term on both sides in equal measure is refuted either way.
    mixed = [(Case(outputs=f"x = {i}"), "Fail" if i % 2 else "Pass") for i in range(20)]
    assert adopt(Predicate(term="x ="), mixed, 0.75) is None
    # Too few records to prove it, none against it: kept, inactive, as proposed; fewer than
    # three firings say too little to read a label off.
    thin = adopt(Predicate(term="except:"), _labelled(4, 6), 0.75)
    assert thin is not None and not thin.active and thin.proposed
    assert (thin.present, thin.label, thin.fires, thin.hits) == (True, "Fail", 4, 4)
    assert adopt(Predicate(term="except:"), _labelled(2, 1), 0.75) is None
    # Found nowhere, it implies no label (and its absence, found everywhere, none either).
    assert adopt(Predicate(term="never seen"), _labelled(3, 3), 0.75) is None
    assert adopt(Predicate(term="never seen"), [], 0.75) is None


def test_mining_keeps_the_experts_term_and_never_a_phrase_of_function_words() -> None:
    terms = candidate_terms('Never use a bare "except:"; to a reviewer print() is noise.')
    assert {"except:", "print()"} <= terms and "to a" not in terms
    labelled = _labelled(10, 10)
    feedback = ["A bare except: hides every error; to a reader it is a trap."] * 10
    checks = mine_checks(feedback, labelled, 0.75)
    assert any(c.term.startswith("except") and c.present and c.label == "Fail" for c in checks)
    assert all(c.active for c in checks)
    assert not any(c.term in ("to a", "a reader") and c.present for c in checks)
    # Already known: not mined again.
    known = [c for c in checks if c.term.startswith("except") and c.present]
    again = mine_checks(feedback, labelled, 0.75, known=known)
    assert not any((c.term, c.present, c.field) == (known[0].term, True, "outputs") for c in again)


def test_matching_stays_linear_on_hostile_text() -> None:
    check = Check(term="a" * 50 + "b", label="Fail", active=True, fires=9, hits=9)
    text = "a" * 2_000_000
    start = time.perf_counter()
    assert match(check, Case(outputs=text))[0] is False
    assert time.perf_counter() - start < 2.0  # a backtracking pattern would take hours


def test_a_check_can_look_at_one_line_or_one_named_input() -> None:
    email = "Subject: Re: your account\n\nHello, read more here: x\n\nUnsubscribe: y\n"
    subject = Check(term="re:", label="Fail", part="first_line")
    fires, span = match(subject, Case(outputs=email))
    assert fires and span == (9, 12) and email[9:12] == "Re:"
    assert not match(subject, Case(outputs="Subject: Hi\nmore here: x"))[
        0
    ]  # "here:" is not the subject
    footer = Check(term="unsubscribe", label="Pass", part="last_line")
    assert match(footer, Case(outputs=email + "\n\n"))[0]  # blank lines are not the last line
    assert not match(footer, Case(outputs="Unsubscribe: y\nCapital at risk."))[0]
    region = Check(term="uk", label="Fail", field="inputs", key="region")
    assert match(region, Case(inputs={"region": "UK", "brief": "x"})) == (True, None)
    assert not match(region, Case(inputs={"region": "EU", "brief": "UK savers"}))[0]
    assert not match(region, Case(inputs="UK as plain text"))[0]  # no entry of that name


def test_a_condition_limits_where_a_check_applies() -> None:
    when_uk = Predicate(term="uk", field="inputs", key="region")
    check = Check(term="capital at risk", present=False, label="Fail", when=when_uk)
    uk, eu = {"region": "UK"}, {"region": "EU"}
    assert match(check, Case(inputs=uk, outputs="Not FDIC insured."))[0]
    assert not match(check, Case(inputs=uk, outputs="Capital at risk."))[0]
    assert not match(check, Case(inputs=eu, outputs="Not FDIC insured."))[0]  # not a UK email
    assert "where 'uk' is in inputs.region" in explain(check)
    assert parse_condition("inputs.region!=UK") == Predicate(
        term="uk", present=False, field="inputs", key="region"
    )
    for bad in ("region=UK", "inputs.region", "inputs.region= ", "inputs.region=="):
        with pytest.raises(ValueError):
            parse_condition(bad)
    # "==" asks for the whole value: "UK" is not in "Ukraine", and it spells back the same.
    exactly_uk = parse_condition("inputs.region==UK")
    assert holds(exactly_uk, Case(inputs={"region": " uk "}, outputs=""))
    assert not holds(exactly_uk, Case(inputs={"region": "Ukraine"}, outputs=""))
    assert spell_condition(exactly_uk) == "inputs.region==UK"
    assert describe(exactly_uk) == "inputs.region is 'UK'"


def test_a_pattern_runs_on_re2_and_refuses_what_would_backtrack() -> None:
    check = Check(term=r"^subject:\s*(re|fwd?):", pattern=True, label="Fail", part="first_line")
    assert check.term == r"^subject:\s*(re|fwd?):"  # a pattern keeps its case
    assert match(check, Case(outputs="SUBJECT:  FWD: offer\nbody"))[0]
    assert not match(check, Case(outputs="Subject: offer\nRe: nothing"))[0]
    for refused in (r"(a)\1", "(?=a)b", "(unclosed", "x" * 201):
        with pytest.raises(ValidationError):
            Check(term=refused, pattern=True, label="Fail")
    hostile = Check(term="(a+)+b", pattern=True, label="Fail")  # catastrophic for a backtracker
    start = time.perf_counter()
    assert not match(hostile, Case(outputs="a" * 200_000))[0]
    assert time.perf_counter() - start < 2.0


def test_mining_finds_a_term_that_holds_only_in_the_first_line() -> None:
    def email(subject: str, i: int) -> Case:
        return Case(outputs=f"Subject: {subject} {i}\nRead more here: https://x/{i}\nBye")

    labelled = [(email("Re: offer", i), "Fail") for i in range(10)] + [
        (email("New offer", i), "Pass") for i in range(10)
    ]
    checks = mine_checks(["No fake Re: in the subject line."] * 10, labelled, 0.75)
    subject = [c for c in checks if c.term == "re:" and c.present]
    assert subject and subject[0].part == "first_line" and subject[0].fires == 10
    # In the whole text "re:" fires on "here:" as well, so no whole-text check on it holds.
    assert not any(c.term == "re:" and c.part == "all" and c.present for c in checks)


def test_a_check_within_a_source_fires_on_what_was_not_copied() -> None:
    source = {"source_text": "Turnout was 38.6% of 2,382 voters in Coimbra."}
    altered = Check(term=NUMBER, pattern=True, label="loses",
                    within=Place(field="inputs", key="source_text"))  # fmt: skip
    text = "Turnout: about 39% of 2,382 voters."
    fires, span = match(altered, Case(inputs=source, outputs=text))
    assert fires and span is not None and text[span[0] : span[1]] == "39%"
    assert not match(altered, Case(inputs=source, outputs="38.6% of 2,382 voted."))[0]
    # Figures are compared whole: 38 is not copied just because the source has 38.6.
    assert match(altered, Case(inputs=source, outputs="38% voted."))[0]
    assert not match(altered, Case(inputs=source, outputs="No figures at all."))[0]
    assert not match(altered, Case(inputs=source, outputs="Q3: 38.6% of 2,382."))[0]  # a name
    exact = altered.model_copy(update={"present": False, "label": "wins"})
    assert match(exact, Case(inputs=source, outputs="38.6% of 2,382."))[0]
    assert "is not copied from inputs.source_text" in explain(altered)


def test_pairwise_checks_set_one_candidate_above_the_other() -> None:
    def hit(side: str, label: str) -> CheckHit:
        return CheckHit(guideline_id="g", label=label, field="outputs", candidate=side)

    assert pairs.pick([hit("A", "loses")]) == "B"
    assert pairs.pick([hit("A", "wins"), hit("B", "loses")]) == "A"
    assert pairs.pick([hit("A", "loses"), hit("B", "loses")]) is None  # level: the model decides
    assert pairs.pick([hit("B", "wins"), hit("B", "loses")]) is None  # contradictory on B
    assert pairs.pick([]) is None
    assert pairs.contradicts(hit("A", "loses"), "A") and not pairs.contradicts(
        hit("A", "loses"), "B"
    )
    assert pairs.contradicts(hit("B", "wins"), "A") and not pairs.contradicts(hit("B", "wins"), "B")
    labelled = pairs.labelled_candidates(Case(outputs={"A": "x", "B": "y"}), "B")
    assert [(c.outputs, label) for c, label in labelled] == [("x", "loses"), ("y", "wins")]
    assert pairs.labelled_candidates(Case(outputs={"A": "x", "B": "y"}), "tie") == []
    assert pairs.candidates(Case(outputs="not a pair")) == {}
