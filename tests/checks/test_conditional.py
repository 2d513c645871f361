"""Checks with a clause per value of an input: "the footer must carry the audience region's
disclaimer", mined from records whose experts name the region."""

from __future__ import annotations

from memalign.checks import explain, match, mine_checks, validate
from memalign.checks.conditional import categories
from memalign.patterns import whole_literal
from memalign.records import Case, Check, Clause, Predicate

DISCLAIMER = {
    "UK": "Capital at risk. You may get back less.",
    "US": "Not FDIC insured. No bank guarantee.",
    "EU": "Read the prospectus and the KID.",
}


def _email(region: str, footer: str, i: int) -> Case:
    return Case(
        inputs={"audience_region": region, "brief": f"Campaign {i}"},
        outputs=f"Subject: Fund news {i}\nOur fund, {i}.\n{footer}\nUnsubscribe here.\nThe team",
    )


def _records(failing_per_region: int = 4) -> tuple[list[tuple[Case, str]], list[str]]:
    """Per region four compliant emails, and ``failing_per_region`` emails with another
    region's disclaimer or none, whose feedback names the region."""
    labelled: list[tuple[Case, str]] = []
    feedback: list[str] = []
    regions = list(DISCLAIMER)
    for n, region in enumerate(regions):
        for i in range(4):
            labelled.append((_email(region, DISCLAIMER[region], 10 * n + i), "Pass"))
            feedback.append(f"The {region} risk disclaimer is present.")
        others = [r for r in regions if r != region]
        for i in range(failing_per_region):
            wrong = [*others, None][i % 3]
            footer = DISCLAIMER[wrong] if wrong else f"Questions? Call us, line {i}."
            labelled.append((_email(region, footer, 10 * n + 5 + i), "Fail"))
            feedback.append(
                f"Wrong regional disclaimer: {wrong} text on a {region} email."
                if wrong
                else f"The mandatory {region} disclaimer is missing."
            )
    return labelled, feedback


def _conditional(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.when is not None]


def test_a_clause_per_region_too_few_alone_holds_up_as_one_check() -> None:
    labelled, feedback = _records()
    checks = _conditional(mine_checks(feedback, labelled, 0.75, named=feedback, fresh=labelled))
    assert len(checks) == 1
    check = checks[0]
    assert (check.label, check.active, check.fires, check.hits) == ("Fail", True, 12, 12)
    every = [check, *check.alternatives]
    regions = {c.when.term: whole_literal(c.when.term) for c in every if c.when is not None}
    assert sorted(regions.values()) == ["EU", "UK", "US"]
    assert all(not c.present and c.when is not None and c.when.key == "audience_region"
               for c in every)  # fmt: skip
    # Each region's term is its own disclaimer's wording, not another region's.
    for clause in every:
        assert clause.when is not None
        assert clause.term in DISCLAIMER[str(regions[clause.when.term])].lower()
    # A UK email with the US wording fires; with its own, it does not; neither does a US one.
    assert match(check, _email("UK", DISCLAIMER["US"], 99))[0]
    assert not match(check, _email("UK", DISCLAIMER["UK"], 99))[0]
    assert not match(check, _email("US", DISCLAIMER["US"], 99))[0]
    # A value the records never had is not a region that contains it.
    assert not match(check, _email("Austria", DISCLAIMER["UK"], 99))[0]
    assert not match(check, _email("Ukraine", DISCLAIMER["EU"], 99))[0]
    assert "; or " in explain(check) and "where inputs.audience_region is 'US'" in explain(check)


def test_without_the_experts_naming_the_value_no_clause_is_mined() -> None:
    labelled, feedback = _records()
    vague = ["Wrong disclaimer." if label == "Fail" else text
             for (_, label), text in zip(labelled, feedback, strict=True)]  # fmt: skip
    assert not _conditional(mine_checks(vague, labelled, 0.75, named=vague, fresh=labelled))
    # Nor without the batch's records to read the wording from.
    assert not _conditional(mine_checks(feedback, labelled, 0.75, named=feedback))


def test_a_term_every_value_shares_is_no_condition() -> None:
    # Every compliant email ends "The team"; failing ones of one region drop it. It is the
    # same in every region, so no clause is built on it.
    labelled, feedback = _records(failing_per_region=0)
    for i in range(4):
        case = _email("UK", DISCLAIMER["UK"], 50 + i)
        unsigned = str(case.outputs).replace("The team", "Bye")
        labelled.append((Case(inputs=case.inputs, outputs=unsigned), "Fail"))
        feedback.append("Not signed off for a UK audience.")
    # A bound low enough that 4 of 4 would do: only the rule itself keeps the clause out.
    checks = _conditional(mine_checks(feedback, labelled, 0.5, named=feedback, fresh=labelled))
    assert not any("team" in c.term for c in checks)


def test_categories_are_short_inputs_with_few_values() -> None:
    cases = [
        (Case(inputs={"region": r, "brief": f"a long campaign brief, number {i} " * 3},
              outputs="x"), "Pass")
        for i, r in enumerate(["UK", "US", "uk", "EU"])
    ]  # fmt: skip
    # The same value in another case is one value; a long text is no category.
    assert categories(cases) == {"region": ["EU", "UK", "US"]}
    one = [(Case(inputs={"region": "UK"}, outputs="x"), "Pass")] * 3
    assert categories(one) == {}


def test_a_check_with_alternatives_is_validated_and_carried_as_one() -> None:
    labelled, _ = _records()
    check = Check(
        term="capital at risk",
        present=False,
        label="Fail",
        when=Predicate(term="uk", field="inputs", key="audience_region"),
        alternatives=(
            Clause(term="fdic", present=False,
                   when=Predicate(term="us", field="inputs", key="audience_region")),
        ),
    )  # fmt: skip
    validated = validate(check, labelled, 0.6)
    assert (validated.fires, validated.hits, validated.active) == (8, 8, True)
    assert Check.model_validate_json(validated.model_dump_json()) == validated


def test_the_check_is_kept_where_every_failing_record_also_breaks_a_known_rule() -> None:
    labelled, feedback = _records()
    # Every failing email also breaks a rule an active check decides: half lack the
    # unsubscribe line, half pretend to be a reply.
    broken = []
    for n, (case, label) in enumerate(labelled):
        text = str(case.outputs)
        if label == "Fail":
            text = text.replace("Unsubscribe", "Bye") if n % 2 else "Re: " + text
        broken.append((Case(inputs=case.inputs, outputs=text), label))
    known = [
        Check(term="unsubscribe", present=False, label="Fail", fires=6, hits=6, active=True),
        Check(term="re:", label="Fail", fires=6, hits=6, active=True),
    ]
    mined = mine_checks(feedback, broken, 0.75, known=known, named=feedback, fresh=broken)
    assert len(_conditional(mined)) == 1
