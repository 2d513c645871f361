from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memalign import Feedback, InputError, Judge, JudgeSpec, Labels, open_store
from memalign.accounting import Meter
from memalign.prompts.rendering import example_key
from memalign.testing import FakeLLM, HashEmbedder

from ..conftest import feedback_batch

CANARY = "Zanzibar-canary-7731 replies must mention the purple escalation form"


def _store_bytes(path: Path) -> bytes:
    # The store file, its WAL and shared memory, and the vector index saved beside it.
    return b"".join(
        p.read_bytes() for p in sorted(path.parent.rglob(path.name + "*")) if p.is_file()
    )


def test_forget_cascades_to_examples_guidelines_and_cache(make_judge: Callable[..., Judge]) -> None:
    judge = make_judge()
    judge.align(feedback_batch())
    judge.judge(inputs="cached", outputs="case")
    report = judge.forget(["r1", "missing"])
    assert report.records_removed == ["r1"] and report.records_not_found == ["missing"]
    assert report.examples_removed == 1 and len(report.guidelines_removed) == 1
    assert {e.record_id for e in judge.examples()} == {"r2", "r3"}
    assert all("r1" not in g.sources for g in judge.guidelines())
    assert judge.judge(inputs="cached", outputs="case").usage.llm_calls == 1  # cache dropped
    assert judge.history()[-1].operation == "forget"


def test_redistillation_keeps_no_text_from_forgotten_feedback(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    spec = JudgeSpec(name="j", instructions="x", output=Labels(("Pass", "Fail")))
    judge = Judge.create(
        open_store(path),
        spec.with_memory(merge_threshold=0.3, consolidate_threshold=0.3),
        llm=FakeLLM(),
        embedder=HashEmbedder(dim=8),
    )
    judge.align(
        [Feedback(id="a", inputs="q", outputs="x", label="Fail", feedback=CANARY)],
        detect_disagreements=False,
    )
    judge.align(
        [
            Feedback(
                id="b",
                inputs="q2",
                outputs="y",
                label="Fail",
                feedback="Escalations need the form.",
            )
        ],
        detect_disagreements=False,
    )
    (guideline,) = judge.guidelines()
    assert guideline.sources == ["a", "b"]
    report = judge.forget(["a"])
    assert report.guidelines_redistilled == [guideline.id]
    (after,) = judge.guidelines()
    assert after.sources == ["b"] and after.text == "Escalations need the form."
    assert CANARY.encode() not in _store_bytes(path)


def test_canary_is_gone_from_the_store_files_after_forget(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    spec = JudgeSpec(name="j", instructions="x", output=Labels(("Pass", "Fail")))
    judge = Judge.create(open_store(path), spec, llm=FakeLLM(), embedder=HashEmbedder())
    judge.align(
        [
            *feedback_batch(),
            Feedback(
                id="secret",
                inputs=f"customer said {CANARY}",
                outputs=CANARY,
                label="Fail",
                feedback=CANARY,
            ),
        ]
    )
    judge.judge(inputs=CANARY, outputs="cached verdict mentioning nothing")
    assert CANARY.encode() in _store_bytes(path)
    secret_vector = judge.embedder.embed(
        [example_key(judge.store.get_records(judge.judge_id, ["secret"])[0].case, spec)], Meter()
    )[0]
    judge.episodic.save()
    assert secret_vector.tobytes() in _store_bytes(path)  # the index file holds vectors
    judge.forget(["secret"])
    assert CANARY.encode() not in _store_bytes(path)
    assert secret_vector.tobytes() not in _store_bytes(path)
    assert b"apology" in _store_bytes(path)  # the rest of memory is still there


def test_forget_by_annotator_and_by_time(make_judge: Callable[..., Judge]) -> None:
    judge = make_judge()
    old = datetime(2025, 1, 1, tzinfo=UTC)
    batch = feedback_batch()
    batch[1] = batch[1].model_copy(update={"created_at": old})
    judge.align(batch)
    assert judge.forget(annotator="ann", dry_run=True).records_removed == ["r1", "r3"]
    assert len(judge.examples()) == 3  # dry run changed nothing
    assert judge.forget(before=old + timedelta(days=1)).records_removed == ["r2"]
    assert judge.forget(annotator="ann").records_removed == ["r1", "r3"]
    assert judge.examples() == [] and judge.guidelines() == []
    with pytest.raises(InputError):
        judge.forget()


def test_manual_guidelines_survive_and_non_strict_mode_keeps_words(
    make_judge: Callable[..., Judge], spec: JudgeSpec
) -> None:
    judge = make_judge(
        spec.with_memory(strict_forget=False, merge_threshold=0.3, consolidate_threshold=0.3)
    )
    manual = judge.add_guideline("Be kind.")
    judge.align(
        [Feedback(id="a", inputs="q", outputs="x", label="Fail", feedback="Be kind!")],
        detect_disagreements=False,
    )
    judge.forget(["a"])
    (kept,) = judge.guidelines()
    assert kept.id == manual.id and kept.sources == [] and kept.text == "Be kind."


records = st.lists(
    st.tuples(st.sampled_from(["alpha", "beta", "gamma", "delta"]), st.integers(0, 30)),
    min_size=1,
    max_size=12,
    unique=True,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(items=records, data=st.data())
def test_retrieval_never_returns_a_forgotten_record(
    tmp_path: Path, items: list[tuple[str, int]], data: st.DataObject
) -> None:
    store = open_store(":memory:")
    spec = JudgeSpec(
        name="p",
        instructions="x",
        output=Labels(("Pass", "Fail")),
    ).with_memory(k=5)
    judge = Judge.create(store, spec, llm=FakeLLM(), embedder=HashEmbedder(dim=32))
    batch = [Feedback(id=f"{w}-{n}", inputs=f"{w} {n}", outputs=w, label="Pass") for w, n in items]
    judge.align(batch, detect_disagreements=False)
    forgotten = set(data.draw(st.lists(st.sampled_from([r.id for r in batch]), unique=True)))
    judge.forget(sorted(forgotten) or [batch[0].id])
    forgotten = forgotten or {batch[0].id}
    query = data.draw(st.sampled_from(items))
    verdict = judge.judge(inputs=f"{query[0]} {query[1]}", outputs=query[0])
    assert not forgotten & set(verdict.example_ids)
    assert len(verdict.example_ids) == min(5, len(batch) - len(forgotten))
