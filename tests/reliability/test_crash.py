"""SIGKILL during ``memalign align``: the store is intact and holds exactly the memory before or
after the align, never a mix, and re-running the align completes it."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from memalign import Judge, open_store
from memalign.testing import FakeLLM, HashEmbedder

from .state import consistent, count, integrity_ok, memory

pytestmark = pytest.mark.slow


def _cli(store: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "memalign", *args, "--store", str(store), "--model", "fake"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _batch(path: Path, start: int, n: int) -> Path:
    rows = [
        {
            "id": f"r{i:05d}",
            "inputs": f"customer question {i} about topic {i % 13}",
            "outputs": f"agent reply {i}, {'with' if i % 2 else 'without'} an apology",
            "label": "Pass" if i % 2 else "Fail",
            "feedback": f"Rule {i % 9}: replies on topic {i % 13} must open with an apology."
            if i % 3 == 0
            else None,
        }
        for i in range(start, start + n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _copy(src: Path, dst: Path) -> None:
    for item in src.parent.glob(src.name + "*"):
        target = dst.parent / item.name.replace(src.name, dst.name, 1)
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True)
        else:
            shutil.copy2(item, target)


def _index_matches(path: Path) -> bool:
    store = open_store(path)
    try:
        judge = Judge.load(store, "crash", llm=FakeLLM(), embedder=HashEmbedder())
        judge.snapshot()
        return len(judge.episodic) == store.example_count(judge.judge_id)
    finally:
        store.close()


def test_sigkill_during_align_leaves_before_or_after(tmp_path: Path) -> None:
    base = tmp_path / "base.db"
    assert (
        _cli(
            base,
            "judge",
            "create",
            "crash",
            "--output",
            "labels:Pass,Fail",
            "--instructions",
            "Does the reply follow policy?",
            "--embedder",
            "hash",
        ).wait()
        == 0
    )
    assert _cli(base, "align", "crash", str(_batch(tmp_path / "a.jsonl", 0, 60))).wait() == 0
    batch = _batch(tmp_path / "b.jsonl", 60, 300)
    after = tmp_path / "after.db"
    _copy(base, after)
    started = time.perf_counter()
    assert _cli(after, "align", "crash", str(batch)).wait() == 0
    duration = time.perf_counter() - started
    before_state, after_state = memory(base), memory(after)
    assert before_state != after_state

    rng = random.Random(0)
    outcomes = {"before": 0, "after": 0}
    for trial in range(count(6, 100)):
        store = tmp_path / f"t{trial}.db"
        _copy(base, store)
        process = _cli(store, "align", "crash", str(batch))
        # Most of a run is start-up and model calls; the kills cluster on its end, where the
        # transaction commits.
        time.sleep(duration * rng.uniform(0.5, 1.05))
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert integrity_ok(store), f"trial {trial}: integrity check failed"
        assert consistent(store) == [], f"trial {trial}"
        state = memory(store)
        assert state in (before_state, after_state), f"trial {trial}: a mixed state"
        outcomes["before" if state == before_state else "after"] += 1
        assert _index_matches(store), f"trial {trial}: index out of step"
        assert _cli(store, "align", "crash", str(batch)).wait() == 0
        assert memory(store) == after_state, f"trial {trial}: re-run did not complete it"
        for leftover in tmp_path.glob(f"t{trial}.db*"):
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    print(f"SIGKILL trials: {sum(outcomes.values())}, outcomes {outcomes}")
