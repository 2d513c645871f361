"""The one writer: a single thread per served store that runs every change to memory in turn.

Alignment reads memory (the guidelines it consolidates against) before it commits; two
alignments interleaved would each consolidate against memory without the other's guidelines
and store the same rule twice. Running submissions, curation and forgetting one at a time on
this thread is what keeps two experts submitting at once from losing feedback or duplicating
guidelines. Each submission is written to the queue file before it is accepted, so a crash
loses nothing: pending submissions are aligned when the server starts again.
"""

from __future__ import annotations

import functools
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from memalign.errors import InputError, MemalignError
from memalign.judge import Judge
from memalign.records import Feedback, Guideline
from memalign.web.config import JudgeOpener
from memalign.web.queue import ReviewQueue

log = logging.getLogger(__name__)
T = TypeVar("T")
JobStatus = Literal["queued", "running", "done", "failed"]
MAX_JOBS_KEPT = 500


@dataclass
class Job:
    id: str
    kind: Literal["review", "judge"]
    judge: str
    case_id: str | None = None
    status: JobStatus = "queued"
    submitted: float = field(default_factory=time.perf_counter)
    # Seconds from submission to the case's new verdict (review jobs).
    latency: float | None = None
    error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    # Other queued cases whose verdict changed under the new memory (filled after ``done``).
    flipped: list[str] = field(default_factory=list)
    flips_checked: bool = False


Task = Callable[[], None]


class Worker:
    def __init__(self, opener: JudgeOpener, review_queue: ReviewQueue, rejudge_limit: int) -> None:
        self._opener = opener
        self._queue = review_queue
        self._rejudge_limit = rejudge_limit
        self._tasks: queue.Queue[Task | None] = queue.Queue()
        self._judges: dict[str, Judge] = {}
        self._jobs: dict[str, Job] = {}
        self._jobs_lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="memalign-writer", daemon=True)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        for item in self._queue.pending():
            # Accepted before a restart but not aligned: align them now, in their order.
            job = self._new_job("review", item.judge, item.case_id, job_id=item.job_id)
            self._tasks.put(functools.partial(self._review, job, item.record))

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread.is_alive():
            self._tasks.put(None)
            self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            try:
                task()
            except Exception:  # the writer must outlive any one task
                log.exception("memalign web worker task failed")

    # -- jobs -----------------------------------------------------------------------------

    def _new_job(
        self, kind: Literal["review", "judge"], judge: str, case_id: str | None, job_id: str = ""
    ) -> Job:
        job = Job(id=job_id or secrets.token_hex(8), kind=kind, judge=judge, case_id=case_id)
        with self._jobs_lock:
            self._jobs[job.id] = job
            while len(self._jobs) > MAX_JOBS_KEPT:
                self._jobs.pop(next(iter(self._jobs)))
        return job

    def job(self, job_id: str) -> Job | None:
        with self._jobs_lock:
            return self._jobs.get(job_id)

    def judge_for(self, name: str) -> Judge:
        """The worker's own judge for ``name`` (only ever used on the writer thread)."""
        if name not in self._judges:
            self._judges[name] = self._opener(name)
        return self._judges[name]

    # -- what requests hand over ----------------------------------------------------------

    def submit_review(self, judge: str, case_id: str, record: Feedback) -> Job:
        job = self._new_job("review", judge, case_id)
        self._queue.add_pending(job.id, judge, case_id, record)
        self._tasks.put(lambda: self._review(job, record))
        return job

    def judge_cases(self, judge: str, case_ids: list[str]) -> Job:
        job = self._new_job("judge", judge, None)
        self._tasks.put(lambda: self._judge_cases(job, case_ids))
        return job

    def call(self, judge: str, action: Callable[[Judge], T], timeout: float = 600.0) -> T:
        """Run ``action`` on the writer thread with the judge and wait for its result."""
        future: Future[T] = Future()

        def task() -> None:
            try:
                bound = self.judge_for(judge)
                with bound.store.writer():
                    future.set_result(action(bound))
            except BaseException as exc:
                future.set_exception(exc)

        self._tasks.put(task)
        return future.result(timeout)

    # -- the work -------------------------------------------------------------------------

    def _judge_cases(self, job: Job, case_ids: list[str]) -> None:
        job.status = "running"
        try:
            judge = self.judge_for(job.judge)
            cases = self._queue.cases(job.judge, case_ids)
            verdicts = judge.judge_many([c.case for c in cases])
            for queued, verdict in zip(cases, verdicts, strict=True):
                self._queue.set_verdict(job.judge, queued.case_id, verdict)
            job.result = {"judged": len(cases)}
            job.status = "done"
        except MemalignError as exc:
            job.error, job.status = str(exc), "failed"

    def _review(self, job: Job, record: Feedback) -> None:
        job.status = "running"
        try:
            judge = self.judge_for(job.judge)
            # The store's writer lock also keeps out aligners in other processes (the CLI).
            with judge.store.writer():
                before = {g.id: g for g in judge.guidelines()}
                report = judge.align([record])
                after = judge.guidelines()
            queued = self._queue.get(job.judge, job.case_id or "")
            old = queued.verdict if queued else None
            verdict = judge.judge(record.case)
            if queued is not None:
                self._queue.set_verdict(job.judge, queued.case_id, verdict)
            job.latency = time.perf_counter() - job.submitted
            job.result = {
                "memory_version": report.memory_version,
                "added": [g for g in after if g.id not in before],
                "changed": [g for g in after if g.id in before and _changed(before[g.id], g)],
                "merged": report.guidelines_merged,
                "examples_added": report.examples_added,
                "dropped": [d.text for d in report.guidelines_dropped],
                "before": old.value if old and old.ok else None,
                "after": verdict.value if verdict.ok else None,
                "rationale": verdict.rationale,
            }
            job.status = "done"
            self._queue.drop_pending(job.id)
        except InputError as exc:
            # Checked before it was accepted, so this is a record the store refuses: keeping
            # it pending would refuse it again on every start.
            self._queue.drop_pending(job.id)
            job.error, job.status = str(exc), "failed"
            return
        except MemalignError as exc:
            # A model or store failure: the submission stays pending for the next start.
            job.error, job.status = str(exc), "failed"
            return
        self._flag_flips(job, judge)

    def _flag_flips(self, job: Job, judge: Judge) -> None:
        """Re-judge other queued cases under the new memory, so verdicts it flips are flagged."""
        others = [
            c for c in self._queue.cases(job.judge) if c.case_id != job.case_id and c.verdict
        ][: self._rejudge_limit]
        if others:
            try:
                verdicts = judge.judge_many([c.case for c in others], rationale=False)
            except MemalignError as exc:
                log.warning("re-judging queued cases failed: %s", exc)
                verdicts = []
            for queued, verdict in zip(others, verdicts, strict=False):
                if self._queue.set_verdict(job.judge, queued.case_id, verdict):
                    job.flipped.append(queued.case_id)
        job.flips_checked = True

    def pending_count(self) -> int:
        return self._tasks.qsize()


def _changed(old: Guideline, new: Guideline) -> bool:
    return (old.text, old.sources, old.status) != (new.text, new.sources, new.status)
