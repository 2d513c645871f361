"""Forget: 20 random canary strings placed in feedback (and cases) are gone from every byte of
the store after ``forget``: database, WAL, verdict cache and saved vector index; no guideline
that rested on them keeps their text."""

from __future__ import annotations

import secrets
from pathlib import Path

from memalign import Feedback, Judge, JudgeSpec, Labels, open_store
from memalign.testing import FakeLLM, HashEmbedder


def _store_bytes(path: Path) -> bytes:
    return b"".join(
        p.read_bytes() for p in sorted(path.parent.rglob(path.name + "*")) if p.is_file()
    )


def test_twenty_canaries_leave_no_trace(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    spec = JudgeSpec(name="j", instructions="Good reply?", output=Labels(("Pass", "Fail")))
    judge = Judge.create(open_store(path), spec, llm=FakeLLM(), embedder=HashEmbedder())
    canaries = [f"canary{secrets.token_hex(6)}" for _ in range(20)]
    kept = [
        Feedback(
            id=f"keep{i}",
            inputs=f"question {i}",
            outputs=f"reply {i}",
            label="Pass" if i % 2 else "Fail",
            feedback=f"Replies must cite policy {i}.",
        )
        for i in range(10)
    ]
    secret = [
        Feedback(
            id=f"secret{i}",
            inputs=f"question {i} from {c}",
            outputs=f"reply naming {c}",
            label="Fail",
            feedback=f"Replies must never mention {c} or policy {i}.",
        )
        for i, c in enumerate(canaries)
    ]
    judge.align(kept + secret)
    judge.judge(inputs=f"question about {canaries[0]}", outputs="cached verdict")
    judge.snapshot()
    judge.episodic.save()
    before = _store_bytes(path)
    assert all(c.encode() in before for c in canaries)

    report = judge.forget([r.id for r in secret])

    after = _store_bytes(path)
    assert sorted(report.records_removed) == sorted(r.id for r in secret)
    leaked = [c for c in canaries if c.encode() in after]
    assert leaked == []
    for guideline in judge.guidelines():
        assert not set(guideline.sources) & {r.id for r in secret}
        assert not any(c in guideline.text for c in canaries)
    assert {e.record_id for e in judge.examples()} == {r.id for r in kept}
    assert b"cite policy" in after  # what was kept is still there
