from __future__ import annotations

from pathlib import Path

from memalign.records import Case, Feedback, Verdict
from memalign.web.queue import case_hash, open_queue, sidecar_path


def test_cases_keep_their_verdicts_and_flag_flips(tmp_path: Path) -> None:
    queue = open_queue(str(tmp_path / "s.db"))
    assert Path(sidecar_path(str(tmp_path / "s.db"))).exists()
    a, b = Case(inputs="a", outputs="x"), Case(inputs="b", outputs={"A": 1, "B": 2})
    assert queue.add_cases("j", [("a", a), ("b", b)]) == ["a", "b"]
    assert not queue.set_verdict("j", "a", Verdict(judge="j", value="Pass"))
    assert queue.add_cases("j", [("a", a)]) == []  # known, judged, unchanged
    assert queue.set_verdict("j", "a", Verdict(judge="j", value="Fail"))
    # An error is not a flip.
    assert not queue.set_verdict("j", "a", Verdict(judge="j", value=None, error="x"))
    item = queue.get("j", "a")
    assert item is not None and item.flipped_from == "Pass" and item.hash == case_hash(a)
    # New content for a known id drops its verdict.
    assert queue.add_cases("j", [("a", Case(inputs="changed"))]) == ["a"]
    assert queue.get("j", "a").verdict is None  # type: ignore[union-attr]
    assert queue.get("other", "a") is None


def test_pending_submissions_round_trip(tmp_path: Path) -> None:
    queue = open_queue(str(tmp_path / "s.db"))
    record = Feedback(id="a@x", inputs="a", label="Pass", annotator="x")
    queue.add_pending("1", "j", "a", record)
    queue.close()
    again = open_queue(str(tmp_path / "s.db"))
    assert [(p.job_id, p.case_id, p.record) for p in again.pending()] == [("1", "a", record)]
    again.drop_pending("1")
    assert again.pending() == []
    assert open_queue(":memory:").location == ":memory:"


def test_a_queue_file_from_before_judge_ids_gains_the_column(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "s.db.review.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE pending (job_id TEXT PRIMARY KEY, judge TEXT NOT NULL, case_id TEXT NOT "
        "NULL, record_json TEXT NOT NULL, submitted_at TEXT NOT NULL)"
    )
    record = Feedback(id="a@x", inputs="a", label="Pass", annotator="x")
    old.execute(
        "INSERT INTO pending VALUES ('1', 'j', 'a', ?, '2026-01-01')", (record.model_dump_json(),)
    )
    old.commit()
    old.close()
    queue = open_queue(str(tmp_path / "s.db"))
    assert [(p.job_id, p.judge_id) for p in queue.pending()] == [("1", None)]
    queue.add_pending("2", "j", "b", record, judge_id=7)
    assert [p.judge_id for p in queue.pending()] == [None, 7]
    assert queue.get_pending("2") is not None and queue.get_pending("3") is None


def test_a_read_only_store_gets_a_queue_in_memory(tmp_path: Path) -> None:
    queue = open_queue(str(tmp_path / "s.db"), read_only=True)
    assert queue.location == ":memory:"
    assert not Path(sidecar_path(str(tmp_path / "s.db"))).exists()
