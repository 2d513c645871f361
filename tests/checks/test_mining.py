"""Pooled checks: terms the experts named on the records they fire on, each too rare to hold
up alone, validated together as one check."""

from __future__ import annotations

from memalign.checks import candidate_terms, match, mine_checks, named_by
from memalign.checks.mining import pooled_terms
from memalign.records import Case, Check

CLAIMS = ("risk-free", "certain to double", "whatever the markets do", "guaranteed")


def _email(body: str, i: int) -> Case:
    return Case(outputs=f"Subject: Fund news {i}\n{body}\nUnsubscribe: https://x/{i}")


def _records() -> tuple[list[tuple[Case, str]], list[str]]:
    """Twelve failing emails, three per claim, each quoted by the expert; twelve passing."""
    labelled: list[tuple[Case, str]] = []
    feedback: list[str] = []
    for n, claim in enumerate(CLAIMS):
        for i in range(3):
            labelled.append((_email(f"Our fund is {claim}, {n}{i}.", 10 * n + i), "Fail"))
            feedback.append(f'We cannot say "{claim}": we make no promises.')
    for i in range(12):
        labelled.append((_email("Past performance is no guide to the future.", 100 + i), "Pass"))
        feedback.append("Balanced wording, fine.")
    return labelled, feedback


def _pooled(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.pattern and pooled_terms(c.term)]


def test_terms_too_rare_alone_are_pooled_into_one_validated_check() -> None:
    labelled, feedback = _records()
    alone = mine_checks(feedback, labelled, 0.75)
    # Three of three is a lower bound of 0.53: no claim holds up by itself.
    assert not any(c.present and c.label == "Fail" for c in alone)

    checks = mine_checks(feedback, labelled, 0.75, named=feedback)
    pooled = _pooled(checks)
    assert len(pooled) == 1
    check = pooled[0]
    assert (check.label, check.active, check.fires, check.hits) == ("Fail", True, 12, 12)
    # One term per claim, each the shortest of the equals the experts named.
    terms = pooled_terms(check.term)
    assert len(terms) == len(CLAIMS)
    assert all(any(term in claim for claim in CLAIMS) for term in terms)
    # Judged text with any one of the terms fires it; the escaping keeps them literal.
    assert match(check, _email("It is risk-free.", 999))[0]
    assert not match(check, _email("It is risk free.", 999))[0]


def test_a_term_is_pooled_only_where_the_experts_named_it_on_the_records_it_fires_on() -> None:
    labelled, feedback = _records()
    # Two more failing emails carry "sunny", but the experts named it only on passing records.
    for i in range(2):
        labelled.append((_email("A sunny day for a new fund.", 200 + i), "Fail"))
        feedback.append("Wrong tone for this audience.")
    for j in (12, 13):
        feedback[j] = "Fine, and the sunny tone is welcome."
    pooled = _pooled(mine_checks(feedback, labelled, 0.75, named=feedback))
    assert len(pooled) == 1 and pooled[0].fires == 12
    assert all("sunny" not in term for term in pooled_terms(pooled[0].term))
    # Named on the records it fires on, it joins the pool.
    feedback[-2:] = ["Too sunny for this audience."] * 2
    pooled = _pooled(mine_checks(feedback, labelled, 0.75, named=feedback))
    assert len(pooled) == 1 and pooled[0].fires == 14 and "sunny" in pooled_terms(pooled[0].term)


def test_a_term_that_fires_on_both_labels_or_only_where_a_check_decides_is_left_out() -> None:
    labelled, feedback = _records()
    # "guaranteed" now also appears in a passing email: it is no longer one label's alone.
    case, _ = labelled[12]
    labelled[12] = (Case(outputs=str(case.outputs) + "\nNothing is guaranteed."), "Pass")
    pooled = _pooled(mine_checks(feedback, labelled, 0.75, named=feedback))
    assert len(pooled) == 1 and all("guarantee" not in t for t in pooled_terms(pooled[0].term))
    assert (pooled[0].fires, pooled[0].hits) == (9, 9)

    # A known check that decides the "risk-free" records already: the pool is for the rest.
    known = Check(term="risk-free", label="Fail", fires=9, hits=9, active=True)
    labelled, feedback = _records()
    pooled = _pooled(mine_checks(feedback, labelled, 0.75, known=[known], named=feedback))
    assert pooled and all("risk" not in t for t in pooled_terms(pooled[0].term))


def test_a_pooled_check_cites_the_records_that_named_any_of_its_terms() -> None:
    labelled, feedback = _records()
    check = _pooled(mine_checks(feedback, labelled, 0.75, named=feedback))[0]

    def cited(text: str) -> bool:
        return named_by(check, candidate_terms(text), text)

    assert cited('We cannot say "risk-free".')
    assert not cited("Balanced wording, fine.")
    # Named as a term, not found inside another word ("guaranteed" is not in "unguaranteedly").
    assert not cited("Unguaranteedly fine.")
    assert pooled_terms(r"a\.b|c") == ["a.b", "c"]
    assert pooled_terms("b|a") == [] and pooled_terms("x+") == []
