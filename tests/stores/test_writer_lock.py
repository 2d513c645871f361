from __future__ import annotations

import threading
import time
from pathlib import Path

from memalign import Feedback, Judge, JudgeSpec, Labels, open_store
from memalign.testing import FakeLLM, HashEmbedder

RULE = "Replies must open with an apology."


def test_the_writer_lock_excludes_other_store_handles_and_is_reentrant(tmp_path: Path) -> None:
    first, second = open_store(tmp_path / "s.db"), open_store(tmp_path / "s.db")
    events: list[str] = []
    entered = threading.Event()

    def other() -> None:
        entered.wait()
        with second.writer():  # another handle on the file: as another process would be
            events.append("second")

    thread = threading.Thread(target=other)
    thread.start()
    with first.writer(), first.writer():  # re-entrant in one thread
        entered.set()
        time.sleep(0.2)
        events.append("first")
    thread.join()
    assert events == ["first", "second"]
    memory = open_store(":memory:")
    with memory.writer(), memory.writer():
        pass


def test_concurrent_aligners_under_the_writer_lock_store_no_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    spec = JudgeSpec(name="j", instructions="Is {{ outputs }} ok?", output=Labels(("Pass", "Fail")))
    Judge.create(open_store(path), spec, llm=FakeLLM(), embedder=HashEmbedder())
    barrier = threading.Barrier(6)

    def aligner(n: int) -> None:
        store = open_store(path)  # each its own connection and lock file handle
        judge = Judge.load(store, "j", llm=FakeLLM(), embedder=HashEmbedder())
        barrier.wait()
        with store.writer():
            judge.align(
                [Feedback(id=f"r{n}", inputs=f"case {n}", outputs="x", label="Fail", feedback=RULE)]
            )

    threads = [threading.Thread(target=aligner, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store = open_store(path)
    judge_id = store.get_judge("j").judge_id
    assert len(store.get_records(judge_id)) == 6
    guidelines = [g for g, _ in store.guidelines(judge_id) if g.status == "active"]
    assert [g.text for g in guidelines] == [RULE]
    assert sorted(guidelines[0].sources) == [f"r{n}" for n in range(6)]
