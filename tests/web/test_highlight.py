"""Cutting case text around the spans where checks found their terms."""

from __future__ import annotations

from memalign.judging.decision import checks_fired
from memalign.patterns import whole
from memalign.records import Case, Check, CheckHit, Clause, Guideline, Predicate
from memalign.web.highlight import excerpt, fired_checks, original_span, segments


def test_segments_mark_the_spans_and_merge_overlaps() -> None:
    assert segments("a bare except: pass", [(7, 13)]) == [
        ("a bare ", False),
        ("except", True),
        (": pass", False),
    ]
    assert segments("abcdef", [(3, 5), (0, 2), (1, 4)]) == [("abcde", True), ("f", False)]
    assert segments("abc", []) == [("abc", False)]
    assert segments("abc", [(0, 3)]) == [("abc", True)]


def test_spans_in_the_lowercased_text_map_back_to_the_original() -> None:
    # "İ".lower() is two characters: the span the check reports is shifted by one per "İ".
    text = "İİxEXCEPT: y"
    lowered_at = text.lower().find("except")
    assert lowered_at == 5
    start, end = original_span(text, (lowered_at, lowered_at + 6)) or (0, 0)
    assert text[start:end] == "EXCEPT"
    assert original_span("plain Except", (6, 12)) == (6, 12)


def test_spans_that_do_not_fit_are_found_again_or_dropped() -> None:
    assert original_span("abc", (2, 99)) is None
    assert original_span("abc", (-1, 2)) is None
    # With the term known, a stale span is looked up again.
    assert original_span("xx except", (0, 6), "except") == (3, 9)
    assert original_span("nothing here", (0, 6), "except") is None


def test_an_excerpt_keeps_context_and_says_where_it_was_cut() -> None:
    text = "a" * 200 + "except" + "b" * 200
    parts = excerpt(text, (200, 206), context=10)
    assert parts == [("…", False), ("a" * 10, False), ("except", True), ("b" * 10, False),
                     ("…", False)]  # fmt: skip
    assert excerpt("except", (0, 6)) == [("except", True)]


def test_fired_checks_pair_hits_with_their_guidelines() -> None:
    case = Case(inputs={"q": "Except"}, outputs="try: x\nexcept: y")
    check = Check(term="except", label="Fail", active=True)
    guideline = Guideline(id="g1", text="Fail when 'except' is in the outputs", check=check)
    hits = [
        CheckHit(guideline_id="g1", label="Fail", field="outputs", span=(7, 13)),
        CheckHit(guideline_id="g2", label="Fail", field="inputs", span=(7, 13)),
        CheckHit(guideline_id="g3", label="Pass", field="outputs"),
    ]
    listed, spans = fired_checks(case, hits, {"g1": guideline})
    assert [c.guideline for c in listed] == [guideline, None, None]
    assert spans == {"outputs": [(7, 13)], "inputs": [(7, 13)]}
    assert listed[0].excerpt == [("try: x\n", False), ("except", True), (": y", False)]
    # Structured fields are searched as canonical JSON.
    assert listed[1].excerpt is not None and ("Except", True) in listed[1].excerpt
    assert listed[2].excerpt is None and not listed[2].present and listed[0].present


def test_a_hit_names_the_clause_that_fired() -> None:
    region = {v: Predicate(term=whole(v), pattern=True, field="inputs", key="region")
              for v in ("UK", "US")}  # fmt: skip
    check = Check(term="capital at risk", present=False, label="Fail", when=region["UK"],
                  alternatives=(Clause(term="fdic", present=False, when=region["US"]),),
                  active=True)  # fmt: skip
    guideline = Guideline(id="g1", text="regional disclaimer", check=check)
    case = Case(inputs={"region": "US"}, outputs="Capital at risk.")
    hits = checks_fired([guideline], case)
    assert [(h.clause, h.field) for h in hits] == [(1, "outputs")]
    listed, _ = fired_checks(case, hits, {"g1": guideline})
    # The US clause fired, on "fdic" missing: not the UK clause's "capital at risk".
    assert (listed[0].term, listed[0].present) == ("fdic", False)
