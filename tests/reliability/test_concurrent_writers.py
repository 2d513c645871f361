"""Two processes align and forget on one store at once: no lost update, no "database is locked"
reaching the user, memory versions strictly increasing with one history entry each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from memalign import Judge, JudgeSpec, Labels, open_store
from memalign.testing import FakeLLM, HashEmbedder

from .state import consistent, count, integrity_ok, memory

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_two_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    spec = JudgeSpec(name="shared", instructions="Fine?", output=Labels(("Pass", "Fail")))
    store = open_store(path)
    Judge.create(store, spec, llm=FakeLLM(), embedder=HashEmbedder())
    store.close()
    n = count(12, 100)
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.writer", str(path), role, str(n)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for role in ("a", "b")
    ]
    outputs = [w.communicate(timeout=600) for w in writers]
    for writer, (_, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err  # no "database is locked" or any other failure
    versions = [json.loads(out) for out, _ in outputs]
    for own in versions:
        assert own == sorted(own) and len(set(own)) == len(own)  # strictly increasing
    every = sorted(versions[0] + versions[1])
    assert every == list(range(1, 2 * n + 1))  # one version per operation, none lost

    assert integrity_ok(path) and consistent(path) == []
    state = memory(path)
    ids = {rid for rid, _ in state["records"]}
    expected_a = {f"a{i}-{j}" for i in range(n) for j in range(2)}
    expected_b = {f"b{i}" for i in range(0, n, 2) if i + 1 >= n}  # the last one if not forgotten
    assert ids == expected_a | expected_b
    assert {rid for rid, _, _ in state["examples"]} == ids
    assert len(state["history"]) == 2 * n
    store = open_store(path)
    judge = Judge.load(store, "shared", llm=FakeLLM(), embedder=HashEmbedder())
    judge.snapshot()
    assert len(judge.episodic) == len(ids)  # the vector index agrees with the store


def test_concurrent_align_commands_store_one_guideline_per_rule(tmp_path: Path) -> None:
    """Six `memalign align` processes at once, each with its own record restating one rule:
    without the writer lock, each consolidated against memory without the others' guideline
    and the rule was stored several times (in about a third of the rounds on 2 cores)."""
    store = tmp_path / "s.db"
    env = {**os.environ, "MEMALIGN_CONFIG": str(tmp_path / "none.toml")}
    rule = "Replies must open with an apology."
    for round_ in range(count(3, 20)):
        judge = f"j{round_}"
        subprocess.run(
            [sys.executable, "-c", "from memalign.cli import main; main()", "judge", "create",
             judge, "--output", "labels:Pass,Fail", "--instructions", "Is {{ outputs }} ok?",
             "--model", "fake", "--store", str(store)],
            check=True, env=env, capture_output=True,
        )  # fmt: skip
        # Each process imports first, then waits for one shared instant, so the aligns overlap.
        start = time.time() + 3
        go = [sys.executable, "-c", f"import time; from memalign.cli import main; "
              f"time.sleep(max(0, {start} - time.time())); main()"]  # fmt: skip
        runs = []
        for n in range(6):
            path = tmp_path / f"{judge}-{n}.jsonl"
            line = {"id": f"r{n}", "inputs": f"case {n}", "outputs": "x", "label": "Fail"}
            path.write_text(json.dumps({**line, "feedback": rule}) + "\n")
            runs.append(
                subprocess.Popen(
                    [*go, "align", judge, str(path), "--store", str(store)],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        for run in runs:
            _, err = run.communicate(timeout=300)
            assert run.returncode == 0, err
        opened = open_store(store)
        judge_id = opened.get_judge(judge).judge_id
        assert len(opened.get_records(judge_id)) == 6
        active = [g.text for g, _ in opened.guidelines(judge_id) if g.status == "active"]
        assert active == [rule], f"round {round_}"
        opened.close()
