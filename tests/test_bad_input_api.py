"""The Python API's share of the bad-input matrix: each fault is one typed error that says
where it is, and leaves the store as it was."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from memalign import (
    Feedback,
    InputError,
    Judge,
    JudgeSpec,
    MemoryStore,
    RecordConflictError,
    SpecError,
    open_store,
)
from memalign.testing import FakeLLM, HashEmbedder

from .conftest import feedback_batch


def test_a_model_no_adapter_reads_is_refused_before_the_judge_exists(
    store: MemoryStore, spec: JudgeSpec
) -> None:
    for bad in (
        replace(spec, model="gpt-5"),
        replace(spec, reflection_model="openai"),
        replace(spec, embedder="word2vec"),
    ):
        with pytest.raises(SpecError, match="unknown"):
            Judge.create(store, bad, llm=FakeLLM(), embedder=HashEmbedder())
    assert store.list_judges() == []
    with pytest.raises(SpecError, match="unknown model"):
        Judge.create(store, spec, model="no-such-model")


def test_reused_ids_are_named_or_refused(make_judge: Callable[..., Judge]) -> None:
    judge = make_judge()
    judge.align(feedback_batch())
    version = judge.version
    changed = feedback_batch()[0].model_copy(update={"feedback": "Another reason entirely."})
    new = changed.model_copy(update={"id": "brand-new"})
    with pytest.raises(RecordConflictError, match="r1") as info:
        judge.align([new, changed], on_existing="refuse")
    assert isinstance(info.value, InputError) and info.value.field == "id"
    assert info.value.ids == ("r1",) and info.value.record_id == "r1"
    assert judge.version == version and "brand-new" not in {e.record_id for e in judge.examples()}
    located = info.value.located(file="batch.jsonl", line=2)
    assert located.ids == ("r1",) and str(located).startswith("batch.jsonl:2, record 'r1'")
    report = judge.align([changed])
    assert report.records_replaced == ["r1"] and report.records_updated == 1


def test_a_record_without_a_case_is_refused(make_judge: Callable[..., Judge]) -> None:
    judge = make_judge()
    with pytest.raises(InputError, match="no case") as info:
        judge.align([Feedback(id="q", label="Pass", feedback="Looks right.")])
    assert info.value.record_id == "q" and judge.version == 0


def test_stores_that_cannot_be_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unsupported store URL scheme 'postgres'"):
        open_store("postgres://db.example/memalign")
    assert not (tmp_path / "postgres:").exists()
    from memalign import StoreError

    with pytest.raises(StoreError, match="no store here"):
        open_store(tmp_path / "typo.db", create=False)
    assert not (tmp_path / "typo.db").exists()
    with pytest.raises(StoreError, match="directory"):
        open_store(tmp_path)
