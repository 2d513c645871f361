from __future__ import annotations

import math

from memalign.providers.logprobs import choice_probs_from_top, token_at, value_offset


def test_prefix_tokens_map_to_unique_choices() -> None:
    top = [
        (' "Pass', math.log(0.5)),
        ("Pa", math.log(0.1)),
        ("F", math.log(0.3)),
        ("tie", math.log(0.05)),
        ("x", math.log(0.05)),
    ]
    probs = choice_probs_from_top(top, ("Pass", "Fail"))
    assert probs is not None
    assert math.isclose(probs["Pass"], 0.6) and math.isclose(probs["Fail"], 0.3)
    assert choice_probs_from_top([("zzz", 0.0)], ("Pass", "Fail")) is None


def test_ambiguous_prefixes_count_for_nobody_unless_exact() -> None:
    probs = choice_probs_from_top(
        [("Good", math.log(0.6)), ("G", math.log(0.4))], ("Good", "Great", "Bad")
    )
    assert probs is not None
    assert math.isclose(probs["Good"], 0.6) and probs["Great"] == 0.0 and probs["Bad"] == 0.0


def test_offsets() -> None:
    text = '{"rationale": "the value is Fail", "value": "Pass"}'
    assert text[value_offset(text, "Pass") or 0 :].startswith("Pass")
    assert token_at({0: 0, 1: 5, 2: 9}, 7) == 1
