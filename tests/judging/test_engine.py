from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from memalign import Case, Judge
from memalign.memory import EpisodicIndex

from ..conftest import feedback_batch


@pytest.fixture
def retrievals(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    original = EpisodicIndex.retrieve

    def counting(self: EpisodicIndex, query: Any, k: int, **kwargs: Any) -> Any:
        calls.append(kwargs.get("exclude", ()))
        return original(self, query, k, **kwargs)

    monkeypatch.setattr(EpisodicIndex, "retrieve", counting)
    return calls


def test_a_batch_retrieves_once_per_case_and_prompts_with_those_examples(
    make_judge: Callable[..., Judge], retrievals: list[Any]
) -> None:
    judge = make_judge()
    judge.align(feedback_batch())
    retrievals.clear()
    cases = [Case(inputs=f"question {i}", outputs=f"answer {i}") for i in range(5)]
    verdicts = judge.judge_many(cases, exclude=[("r1",)] * 5)
    # One retrieval per case: the one that orders the batch also builds the prompt.
    assert len(retrievals) == len(cases)
    assert all(v.ok and v.example_ids for v in verdicts)
    assert all("r1" not in v.example_ids for v in verdicts)


def test_one_case_retrieves_once(make_judge: Callable[..., Judge], retrievals: list[Any]) -> None:
    judge = make_judge()
    judge.align(feedback_batch())
    retrievals.clear()
    verdict = judge.judge(inputs="charged twice", outputs="Refund soon.")
    assert verdict.ok and verdict.example_ids
    assert len(retrievals) == 1


def test_exclude_needs_one_entry_per_case(make_judge: Callable[..., Judge]) -> None:
    from memalign import InputError

    with pytest.raises(InputError, match="one per case"):
        make_judge().judge_many([Case(inputs="q", outputs="a")], exclude=[(), ()])
