from __future__ import annotations

import pytest

from memalign import FloatScore, JudgeSpec, LabelError, Labels, Pairwise, Scale, SpecError
from memalign.judge_spec import MemoryConfig, parse_output


def test_labels_keep_the_users_case() -> None:
    output = Labels(("Pass", "Fail"))
    assert output.coerce("pass") == "Pass"
    assert output.coerce(" FAIL. ") == "Fail"
    with pytest.raises(LabelError):
        output.coerce("maybe")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("binary", Labels(("yes", "no"))),
        ("labels:Pass,Fail", Labels(("Pass", "Fail"))),
        ("scale:1-5", Scale(1, 5)),
        ("scale:0-10", Scale(0, 10)),
        ("float", FloatScore()),
        ("float:0-1", FloatScore(0.0, 1.0)),
        ("pairwise", Pairwise()),
    ],
)
def test_output_specs_parse_and_render(text: str, expected: object) -> None:
    parsed = parse_output(text)
    assert parsed == expected
    assert parse_output(parsed.render()) == parsed


@pytest.mark.parametrize("bad", ["labels:only", "scale:5-1", "scale:a-b", "nonsense", "labels:a,A"])
def test_bad_output_specs_are_refused(bad: str) -> None:
    with pytest.raises(SpecError):
        parse_output(bad)


def test_scale_coerces_integers_within_bounds() -> None:
    scale = Scale(1, 5)
    assert scale.coerce("4") == 4
    assert scale.coerce(3.0) == 3
    for bad in (0, 6, 2.5, "x", True):
        with pytest.raises(LabelError):
            scale.coerce(bad)


def test_float_and_pairwise_coercion() -> None:
    assert FloatScore(0, 1).coerce("0.25") == 0.25
    with pytest.raises(LabelError):
        FloatScore(0, 1).coerce(2)
    assert Pairwise().coerce("b") == "B"
    assert Pairwise().coerce("Tie") == "tie"
    with pytest.raises(LabelError):
        Pairwise(allow_tie=False).coerce("tie")


def test_binary_accepts_booleans() -> None:
    assert Labels(("yes", "no")).coerce(True) == "yes"
    with pytest.raises(LabelError):
        Labels(("Pass", "Fail")).coerce(True)


def test_spec_round_trips_through_dict() -> None:
    spec = JudgeSpec(
        name="q",
        instructions="Rate {{ outputs }}",
        output=Scale(1, 5),
        memory=MemoryConfig(k=3, require_approval=True),
        model="fake",
    )
    assert JudgeSpec.from_dict(spec.to_dict()) == spec


def test_placeholders_are_checked() -> None:
    with pytest.raises(SpecError, match="unknown placeholder"):
        JudgeSpec(name="q", instructions="Check {{ answer }}", output=Scale())
    spec = JudgeSpec(
        name="q", instructions="Check {{outputs}} against {{ expectations }}", output=Scale()
    )
    assert spec.placeholders == ("outputs", "expectations")
    assert spec.rendered_instructions() == "Check <outputs> against <expectations>"


def test_bad_names_and_configs() -> None:
    with pytest.raises(SpecError):
        JudgeSpec(name="has space", instructions="x", output=Scale())
    with pytest.raises(SpecError):
        MemoryConfig(merge_threshold=0.5, consolidate_threshold=0.8)
