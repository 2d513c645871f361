from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from memalign.checks import (
    candidate_terms,
    explain,
    match,
    mine_checks,
    validate,
    wilson_lower_bound,
)
from memalign.records import Case, Check


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
