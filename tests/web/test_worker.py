from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from memalign import Judge
from memalign.records import Feedback
from memalign.stores import MemoryStore
from memalign.testing import FakeLLM, HashEmbedder
from memalign.web import create_app
from memalign.web.messages import MODEL_FAILED
from memalign.web.queue import open_queue
from memalign.web.worker import JUDGE_GONE, Worker
from tests.web.conftest import CASES, Page, job_of, opener

RULE = "Replies must open with an apology."


def test_concurrent_experts_lose_nothing_and_never_duplicate_guidelines(
    loaded: Page, store: MemoryStore
) -> None:
    # Six browsers (sessions) on one server, two cases each, all submitted at the same moment.
    app = loaded.client.app
    experts = [Page(TestClient(app, base_url="http://127.0.0.1", follow_redirects=False))]
    experts += [
        Page(TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)) for _ in range(5)
    ]
    for expert in experts:
        expert.get("/judges/support")
    barrier = threading.Barrier(len(experts) * 2)
    jobs: list[str] = []
    # An assert in a thread only kills that thread; the failures are checked below.
    errors: list[str] = []
    lock = threading.Lock()

    def review(expert: Page, name: str, case_id: str) -> None:
        try:
            barrier.wait()
            response = expert.post(
                f"/judges/support/cases/{case_id}",
                {"annotator": name, "label": "Fail", "feedback": RULE, "next": "1"},
            )
            with lock:
                if response.status_code != 303:
                    errors.append(f"{response.status_code}: {response.text[:200]}")
                else:
                    jobs.append(job_of(response))
        except Exception as exc:
            with lock:
                errors.append(repr(exc))

    threads = [
        threading.Thread(target=review, args=(expert, f"expert{i}", case["id"]))
        for i, expert in enumerate(experts)
        for case in CASES[:2]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(jobs) == len(threads)
    for job_id in jobs:
        assert loaded.wait_job(job_id)["status"] == "done"
    judge_id = store.get_judge("support").judge_id
    records = store.get_records(judge_id)
    assert len(records) == len(threads)
    texts = [g.text for g, _ in store.guidelines(judge_id) if g.status == "active"]
    assert texts == [RULE]
    (guideline, _), *_ = store.guidelines(judge_id)
    assert sorted(guideline.sources) == sorted(r.id for r in records)


def test_pending_submissions_survive_a_restart(store: MemoryStore, tmp_path: Path) -> None:
    queue = open_queue(store.location)
    queue.add_cases("support", [("c1", Feedback(**CASES[0]).case)])
    record = Feedback(
        id="c1@ann",
        inputs=CASES[0]["inputs"],
        outputs=CASES[0]["outputs"],
        label="Fail",
        feedback=RULE,
        annotator="ann",
    )
    # Accepted, then the server stopped before the writer ran it.
    queue.add_pending("job1", "support", "c1", record)
    app = create_app(store, opener(store), review_queue=queue)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        worker: Worker = app.state.ctx.worker
        job = worker.job("job1")
        assert job is not None
        worker.call("support", lambda judge: None).result(10)  # everything before has run
        assert job.status == "done"
        assert client.get("/jobs/job1.json").json()["result"]["after"] == "Fail"
    assert queue.pending() == []
    assert [r.id for r in store.get_records(store.get_judge("support").judge_id)] == ["c1@ann"]


def test_a_failed_alignment_keeps_the_submission_pending(store: MemoryStore) -> None:
    queue = open_queue(store.location)
    queue.add_cases("support", [("c1", Feedback(id="c1", inputs="a", outputs="b").case)])

    def broken(name: str) -> object:
        from memalign.errors import ProviderError

        raise ProviderError("model down")

    worker = Worker(broken, queue, rejudge_limit=5)  # type: ignore[arg-type]
    worker.start()
    try:
        job = worker.submit_review(
            "support", "c1", Feedback(id="c1@ann", inputs="a", outputs="b", label="Fail")
        )
    finally:
        worker.stop()
    # The provider's own words stay in the log.
    assert job.status == "failed" and job.error == MODEL_FAILED and job.retryable
    assert [p.job_id for p in queue.pending()] == [job.id]


def ctx_of(page: Page) -> Any:
    return page.client.app.state.ctx  # type: ignore[attr-defined]


def test_an_exploding_judge_fails_the_job_keeps_the_review_and_can_be_retried(
    loaded: Page, store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug in /srv/secret/code.py")

    monkeypatch.setattr(Judge, "align", boom)
    response = loaded.post(
        "/judges/support/cases/c1", {"annotator": "ann", "label": "Pass", "feedback": RULE}
    )
    job_id = job_of(response)
    job = loaded.wait_job(job_id, timeout=5)  # once, it stayed "running" for ever
    assert (job["status"], job["error"], job["retryable"]) == ("failed", "internal error", True)
    assert ctx_of(loaded).queue.get_pending(job_id) is not None  # kept for a retry
    panel = loaded.get(f"/jobs/{job_id}/panel").text
    assert "data-poll" not in panel and 'id="job-retry"' in panel and "/srv/secret" not in panel

    monkeypatch.undo()  # the bug is fixed; the expert presses "Try again"
    retried = loaded.post(f"/jobs/{job_id}/retry")
    assert retried.status_code == 303
    assert retried.headers["location"] == f"/judges/support/cases/c1?job={job_id}"
    assert loaded.wait_job(job_id)["status"] == "done"
    assert ctx_of(loaded).queue.get_pending(job_id) is None
    records = store.get_records(store.get_judge("support").judge_id)
    assert [r.id for r in records] == ["c1@ann"]
    # Nothing left to retry: a done job, an unknown one, or a POST without the form token.
    assert loaded.post(f"/jobs/{job_id}/retry").status_code == 400
    assert loaded.post("/jobs/nope/retry").status_code == 400
    assert loaded.client.post(f"/jobs/{job_id}/retry", data={}).status_code == 403


def test_a_failed_judging_of_uploaded_cases_can_be_retried(
    page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    from memalign.errors import ProviderError

    def down(*args: object, **kwargs: object) -> None:
        raise ProviderError("503 from https://internal.example/v1 key=sk-123")

    monkeypatch.setattr(Judge, "judge_many", down)
    job_id = job_of(page.upload("support", CASES))
    job = page.wait_job(job_id)
    assert job["status"] == "failed" and "internal.example" not in job["error"]
    monkeypatch.undo()
    assert page.post(f"/jobs/{job_id}/retry").headers["location"] == f"/judges/support?job={job_id}"
    assert page.wait_job(job_id)["result"] == {"judged": len(CASES)}


def test_rejudging_the_queue_keeps_verdicts_that_did_not_flip(loaded: Page) -> None:
    queue = ctx_of(loaded).queue
    before = {c.case_id: c.verdict for c in queue.cases("support")}
    assert all(v.rationale for v in before.values())
    response = loaded.post(
        "/judges/support/cases/c1",
        {"annotator": "ann", "label": "Pass", "feedback": "A refund promise is enough here."},
    )
    job = loaded.wait_job(job_of(response), flips=True)
    kept = [c for c in queue.cases("support") if c.case_id not in job["flipped"] + ["c1"]]
    assert kept
    for queued in kept:
        # Once overwritten by the quick re-judging, without its rationale.
        assert queued.verdict == before[queued.case_id]
    for case_id in job["flipped"]:
        flipped = queue.get("support", case_id)
        assert flipped.verdict.rationale and flipped.flipped_from is not None


def recreate(store: MemoryStore) -> None:
    spec = store.get_judge("support").spec
    store.delete_judge("support")
    Judge.create(store, spec, llm=FakeLLM(), embedder=HashEmbedder())


def test_a_judge_deleted_and_created_again_by_the_cli_is_reopened(
    loaded: Page, store: MemoryStore
) -> None:
    first = loaded.post(
        "/judges/support/cases/c1",
        {"annotator": "ann", "label": "Pass", "feedback": "A refund promise is enough here."},
    )
    loaded.wait_job(job_of(first), flips=True)  # the writer now holds this judge open
    old_id = store.get_judge("support").judge_id
    recreate(store)
    new_id = store.get_judge("support").judge_id
    assert new_id != old_id
    second = loaded.post(
        "/judges/support/cases/c2", {"annotator": "ann", "label": "Fail", "feedback": RULE}
    )
    assert loaded.wait_job(job_of(second), flips=True)["status"] == "done"
    assert [r.id for r in store.get_records(new_id)] == ["c2@ann"]
    # Judged under the new judge's memory, not a snapshot cached from the deleted one.
    verdict = ctx_of(loaded).queue.get("support", "c2").verdict
    assert verdict.guideline_ids
    assert set(verdict.guideline_ids) <= {g.id for g, _ in store.guidelines(new_id)}


def test_reviews_for_a_judge_deleted_meanwhile_are_dropped_with_a_reason(
    loaded: Page, store: MemoryStore
) -> None:
    ctx = ctx_of(loaded)
    release = threading.Event()
    ctx.worker._tasks.put(lambda: release.wait(10))  # the writer is busy
    try:
        response = loaded.post("/judges/support/cases/c3", {"annotator": "ann", "label": "Pass"})
        job_id = job_of(response)
        assert "1 of 4 reviewed" in loaded.get("/judges/support").text
        recreate(store)
        # The new judge of the same name did not receive that review.
        assert "0 of 4 reviewed" in loaded.get("/judges/support").text
    finally:
        release.set()
    job = loaded.wait_job(job_id)
    assert job["status"] == "failed" and not job["retryable"]
    assert job["error"] == JUDGE_GONE
    assert ctx.queue.get_pending(job_id) is None  # not retried at every start
    assert store.get_records(store.get_judge("support").judge_id) == []
    assert "0 of 4 reviewed" in loaded.get("/judges/support").text
