from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from memalign import Case, Feedback, Judge, JudgeSpec, MemoryConfig
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


def _checked_batch() -> list[Feedback]:
    """Ten failures a mined check decides ('except:'), and thirty cases it leaves to the model."""
    rule = "A bare except: hides every error, so this fails review."
    caught = [
        Feedback(id=f"f{i}", outputs=f"try:\n    run({i})\nexcept: pass", label="Fail",
                 feedback=rule)
        for i in range(10)
    ]  # fmt: skip
    left = [
        Feedback(id=f"p{i}", outputs=f"with open(p{i}) as f:\n    read(f)", label="Pass",
                 feedback="Clean resource handling.")
        for i in range(20)
    ] + [
        Feedback(id=f"g{i}", outputs=f"print(globals()[{i}])", label="Fail",
                 feedback="Too clever by half.")
        for i in range(10)
    ]  # fmt: skip
    return caught + left


@pytest.mark.parametrize(("checks_decide", "fitted_on"), [(True, 30), (False, 40)])
def test_the_decision_is_fitted_on_the_cases_the_checks_leave_to_it(
    make_judge: Callable[..., Judge], spec: JudgeSpec, checks_decide: bool, fitted_on: int
) -> None:
    # A verdict the checks decide never reaches the fitted decision, so its example is not
    # evidence for it; when checks only inform, every example is.
    memory = MemoryConfig(decision="embedding", checks_decide=checks_decide)
    judge = make_judge(replace(spec, memory=memory))
    judge.align(_checked_batch())
    snapshot = judge.engine.snapshot()
    assert any(g.check is not None and g.check.term.startswith("except") for g in snapshot.checks)
    assert snapshot.embedding_model is not None
    assert snapshot.embedding_model.examples == fitted_on
