from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from memalign import Feedback, Judge, JudgeSpec, open_store
from memalign.memory.episodic import EpisodicIndex
from memalign.testing import FakeLLM, HashEmbedder


def _records(n: int, start: int = 0) -> list[Feedback]:
    return [
        Feedback(
            id=f"r{i:04d}",
            inputs=f"question {i} about topic {i % 7}",
            outputs=f"answer {i}",
            label="Pass" if i % 2 else "Fail",
        )
        for i in range(start, start + n)
    ]


def _judge(path: Path, spec: JudgeSpec) -> Judge:
    store = open_store(path)
    try:
        return Judge.load(store, spec.name, llm=FakeLLM(), embedder=HashEmbedder())
    except Exception:
        return Judge.create(store, spec, llm=FakeLLM(), embedder=HashEmbedder())


def _hits(judge: Judge, text: str) -> list[str]:
    return judge.judge(inputs=text, outputs="x").example_ids


def test_index_follows_aligns_and_forgets_without_rebuilding(
    tmp_path: Path, spec: JudgeSpec
) -> None:
    judge = _judge(tmp_path / "m.db", spec.with_memory(detect_disagreements=False))
    judge.align(_records(30))
    judge.snapshot()
    index = judge.episodic
    first = index._index
    judge.align(_records(5, start=30))
    judge.forget(["r0001", "r0031"])
    judge.snapshot()
    assert index._index is first  # caught up in place
    assert len(index) == 33
    stored = {e.record_id for e in judge.examples()}
    hits = index.retrieve(judge.embedder.embed(["question 31 about topic 3"])[0], 40)
    assert {e.record_id for e, _ in hits} == stored


def test_a_new_process_loads_the_saved_index_and_replays_the_log(
    tmp_path: Path, spec: JudgeSpec
) -> None:
    path = tmp_path / "m.db"
    spec = spec.with_memory(detect_disagreements=False)
    writer = _judge(path, spec)
    writer.align(_records(40))
    writer.snapshot()
    writer.episodic.save()
    saved_seq = writer.episodic.seq
    writer.align(_records(3, start=40))  # logged, not yet saved
    reader = _judge(path, spec)
    reader.snapshot()
    assert reader.episodic.seq > saved_seq and len(reader.episodic) == 43
    assert _hits(reader, "question 41 about topic 6") == _hits(writer, "question 41 about topic 6")


def test_an_index_newer_than_the_store_is_rebuilt(tmp_path: Path, spec: JudgeSpec) -> None:
    path = tmp_path / "m.db"
    judge = _judge(path, spec.with_memory(detect_disagreements=False))
    judge.align(_records(10))
    judge.snapshot()
    judge.episodic.save()
    index_file = judge.store.index_path(judge.judge_id)
    assert index_file is not None
    index_file.write_text(index_file.read_text().replace('"seq": ', '"seq": 1000'))
    fresh = EpisodicIndex(judge.store, judge.judge_id, index_file)
    fresh.sync()
    assert len(fresh) == 10 and fresh.seq < 1000


def test_retrieval_leaves_out_excluded_and_prefers_disagreements(
    make_judge: Callable[..., Judge],
) -> None:
    judge = make_judge()
    judge.align(_records(12))
    query = judge.embedder.embed(["question 3 about topic 3"])[0]
    judge.snapshot()
    top = judge.episodic.retrieve(query, 3)
    assert top[0][0].record_id == "r0003"
    without = judge.episodic.retrieve(query, 3, exclude={"r0003"})
    assert "r0003" not in {e.record_id for e, _ in without} and len(without) == 3


def test_deleting_a_judge_removes_its_index_files(tmp_path: Path, spec: JudgeSpec) -> None:
    judge = _judge(tmp_path / "m.db", spec.with_memory(detect_disagreements=False))
    judge.align(_records(5))
    judge.snapshot()
    judge.episodic.save()
    index_file = judge.store.index_path(judge.judge_id)
    assert index_file is not None and index_file.exists()
    judge.store.delete_judge(spec.name)
    assert not list(index_file.parent.glob(index_file.name + "*"))


def test_a_store_from_before_example_keys_migrates(tmp_path: Path, spec: JudgeSpec) -> None:
    from memalign.stores.sqlite.migrations import MIGRATIONS
    from memalign.stores.sqlite.store import _statements

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for statement in _statements(MIGRATIONS[0][1]):
        db.execute(statement)
    db.execute("INSERT INTO schema_migrations VALUES ('0001_initial', 'then')")
    db.commit()
    db.close()
    judge = _judge(path, spec.with_memory(detect_disagreements=False))
    judge.align(_records(6))
    assert "0002_example_keys_and_log" in judge.store.applied_migrations()  # type: ignore[attr-defined]
    assert len(_hits(judge, "question 2 about topic 2")) == 5
