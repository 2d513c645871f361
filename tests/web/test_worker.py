from __future__ import annotations

import threading
from pathlib import Path

from fastapi.testclient import TestClient

from memalign.records import Feedback
from memalign.stores import MemoryStore
from memalign.web import create_app
from memalign.web.queue import open_queue
from memalign.web.worker import Worker
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
    lock = threading.Lock()

    def review(expert: Page, name: str, case_id: str) -> None:
        barrier.wait()
        response = expert.post(
            f"/judges/support/cases/{case_id}",
            {"annotator": name, "label": "Fail", "feedback": RULE, "next": "1"},
        )
        assert response.status_code == 303, response.text
        with lock:
            jobs.append(job_of(response))

    threads = [
        threading.Thread(target=review, args=(expert, f"expert{i}", case["id"]))
        for i, expert in enumerate(experts)
        for case in CASES[:2]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
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
        worker.call("support", lambda judge: None)  # everything queued before has run
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
    assert job.status == "failed" and "model down" in (job.error or "")
    assert [p.job_id for p in queue.pending()] == [job.id]
