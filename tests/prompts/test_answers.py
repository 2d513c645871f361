from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memalign import Labels, Pairwise, ParseError, Scale
from memalign.prompts.answers import (
    Proposal,
    parse_guidelines,
    parse_json_object,
    parse_verdict,
)
from memalign.records import Predicate

LABELS = Labels(("Pass", "Fail"))


@pytest.mark.parametrize(
    "text",
    [
        '{"rationale": "ok", "value": "Pass"}',
        'Sure! Here is my verdict:\n```json\n{"rationale": "ok", "value": "pass"}\n```',
        "{'rationale': 'ok', 'value': 'Pass'}",
        '{"rationale": "ok", "value": "Pass",}',
        '{rationale: "ok", value: "Pass"}',
        'thinking... {"rationale": "braces } inside", "value": "Pass"} trailing words',
        '{"rationale": "the model stopped mid-sentence", "value": "Pass"',
        "value: Pass",
        "Pass",
    ],
)
def test_ladder_reads_messy_answers(text: str) -> None:
    value, _ = parse_verdict(text, LABELS)
    assert value == "Pass"


def test_out_of_type_values_are_parse_errors_not_defaults() -> None:
    with pytest.raises(ParseError):
        parse_verdict('{"rationale": "x", "value": "Maybe"}', LABELS)
    with pytest.raises(ParseError):
        parse_verdict('{"rationale": "x", "value": 9}', Scale(1, 5))
    with pytest.raises(ParseError):
        parse_verdict("I cannot decide.", LABELS)


def test_scale_and_pairwise_values() -> None:
    assert parse_verdict('{"value": "4", "reason": "fine"}', Scale(1, 5)) == (4, "fine")
    assert parse_verdict('{"preference": "Response B"}', Pairwise())[0] == "B"


def test_guidelines_parse() -> None:
    text = '{"guidelines": [{"text": " Open  with an apology. ", "sources": ["r1"]}, {"x": 1}]}'
    assert parse_guidelines(text) == [Proposal("Open with an apology.", ["r1"])]


def test_a_proposed_check_is_read_as_a_predicate_and_a_bad_one_drops_only_the_check() -> None:
    check = (
        '{"where": "first line of outputs", "pattern": "sorry|apolog", "broken_when": "missing"}'
    )
    text = (
        '{"guidelines": ['
        f'{{"text": "Open with an apology.", "sources": ["r1"], "check": {check}}},'
        '{"text": "Quote the ticket.", "sources": ["r2"], "check": {"pattern": "(unclosed"}},'
        '{"text": "Be kind.", "sources": ["r3"], "check": {"pattern": ""}}]}'
    )
    first, second, third = parse_guidelines(text)
    assert first.check == Predicate(
        term="sorry|apolog", pattern=True, part="first_line", present=False
    )
    assert second == Proposal("Quote the ticket.", ["r2"])
    assert third.check is None


def test_a_truncated_guidelines_answer_keeps_the_guidelines_written_in_full() -> None:
    full = '{"text": "State the total price.", "sources": ["r1", "r2"]}'
    cut = f'{{"guidelines": [{full}, {full},\n {{"text": "State the tot'
    rule = Proposal("State the total price.", ["r1", "r2"])
    assert parse_guidelines(cut) == [rule, rule]
    assert parse_guidelines(f'{{"guidelines": [{full}') == [rule]
    with pytest.raises(ParseError):
        parse_guidelines('{"guidelines": [{"text": "State the tot')


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    payload=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    before=st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=40),
    after=st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=40),
)
def test_any_object_is_found_inside_prose(
    payload: dict[str, object], before: str, after: str
) -> None:
    text = f"{before}{json.dumps(payload)}{after}"
    assert parse_json_object(text) == payload


@given(st.text(max_size=200))
def test_parser_never_crashes_on_noise(text: str) -> None:
    try:
        value, rationale = parse_verdict(text, LABELS)
    except ParseError:
        return
    assert value in LABELS.labels
    assert isinstance(rationale, str)
