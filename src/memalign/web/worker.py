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

from memalign.errors import InputError, MemalignError, NotFoundError
from memalign.judge import Judge
from memalign.records import Feedback, Guideline, Verdict
from memalign.web.config import JudgeOpener
from memalign.web.messages import public_message
from memalign.web.queue import ReviewQueue

log = logging.getLogger(__name__)
T = TypeVar("T")
JobStatus = Literal["queued", "running", "done", "failed"]
MAX_JOBS_KEPT = 500
INTERNAL_ERROR = "internal error"
JUDGE_GONE = "the judge was deleted (or replaced) before this review was learned from"


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
    # Whether trying again may help: the submission is still pending (review jobs) or the
    # cases are still unjudged (judge jobs).
    retryable: bool = False
    result: dict[str, Any] = field(default_factory=dict)
    # Other queued cases whose verdict changed under the new memory (filled after ``done``).
    flipped: list[str] = field(default_factory=list)
    flips_checked: bool = False
    # The cases a judge job judges, kept so that a failed one can be tried again.
    case_ids: list[str] = field(default_factory=list)


Task = Callable[[], None]


class JudgeGone(Exception):
    """The judge a queued task was for no longer exists under its name (deleted, or deleted
    and created again): the task is dropped with a reason, never retried."""


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
            self._tasks.put(functools.partial(self._review, job, item.record, item.judge_id))

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
        """The worker's own judge for ``name`` (only ever used on the writer thread), opened
        again when the store's judge of that name is no longer the one cached: the CLI may
        delete a judge and create another under its name while the server runs."""
        cached = self._judges.get(name)
        if cached is not None:
            try:
                current = cached.store.get_judge(name).judge_id
            except NotFoundError:
                del self._judges[name]
                raise
            if current == cached.judge_id:
                return cached
            del self._judges[name]
        judge = self._opener(name)
        self._judges[name] = judge
        return judge

    # -- what requests hand over ----------------------------------------------------------

    def submit_review(
        self, judge: str, case_id: str, record: Feedback, judge_id: int | None = None
    ) -> Job:
        job = self._new_job("review", judge, case_id)
        self._queue.add_pending(job.id, judge, case_id, record, judge_id)
        self._tasks.put(lambda: self._review(job, record, judge_id))
        return job

    def judge_cases(self, judge: str, case_ids: list[str]) -> Job:
        job = self._new_job("judge", judge, None)
        job.case_ids = list(case_ids)
        self._tasks.put(lambda: self._judge_cases(job))
        return job

    def retry(self, job_id: str) -> Job | None:
        """Queue a failed job again; None when there is nothing to retry."""
        job = self.job(job_id)
        if job is None or job.status != "failed" or not job.retryable:
            return None
        if job.kind == "judge":
            task: Task = lambda: self._judge_cases(job)  # noqa: E731
        else:
            found = self._queue.get_pending(job.id)
            if found is None:
                return None
            task = functools.partial(self._review, job, found.record, found.judge_id)
        job.status, job.error, job.retryable = "queued", None, False
        job.submitted = time.perf_counter()
        self._tasks.put(task)
        return job

    def call(self, judge: str, action: Callable[[Judge], T], *, writes: bool = True) -> Future[T]:
        """Run ``action`` on the writer thread with the judge; the future holds its result.
        Callers wait on it without holding up anything else (see ``Context.change``).
        ``writes=False``: a read (the judge's fitted decision) that needs no store lock, so it
        works on a read-only store too."""
        future: Future[T] = Future()

        def task() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                bound = self.judge_for(judge)
                if not writes:
                    future.set_result(action(bound))
                    return
                with bound.store.writer():
                    future.set_result(action(bound))
            except BaseException as exc:
                future.set_exception(exc)

        self._tasks.put(task)
        return future

    # -- the work -------------------------------------------------------------------------

    def _fail(self, job: Job, exc: BaseException, *, retryable: bool) -> None:
        if isinstance(exc, MemalignError):
            # The detail (a store path, a provider's words) is for the operator only.
            log.warning("%s job %s failed: %s", job.kind, job.id, exc)
            job.error = public_message(exc)
        else:
            log.exception("%s job %s failed", job.kind, job.id)
            job.error = INTERNAL_ERROR
        job.retryable = retryable
        job.status = "failed"

    def _judge_cases(self, job: Job) -> None:
        job.status = "running"
        try:
            judge = self.judge_for(job.judge)
            cases = self._queue.cases(job.judge, job.case_ids)
            verdicts = judge.judge_many([c.case for c in cases])
            for queued, verdict in zip(cases, verdicts, strict=True):
                _log_error(job.judge, queued.case_id, verdict)
                self._queue.set_verdict(job.judge, queued.case_id, verdict)
            job.result = {"judged": len(cases)}
            job.status = "done"
        except NotFoundError as exc:
            self._fail(job, exc, retryable=False)
        except Exception as exc:
            self._fail(job, exc, retryable=True)

    def _open_for(self, job: Job, judge_id: int | None) -> Judge:
        try:
            judge = self.judge_for(job.judge)
        except NotFoundError:
            raise JudgeGone() from None
        if judge_id is not None and judge.judge_id != judge_id:
            raise JudgeGone()
        return judge

    def _review(self, job: Job, record: Feedback, judge_id: int | None = None) -> None:
        job.status = "running"
        try:
            judge = self._open_for(job, judge_id)
            # The store's writer lock also keeps out aligners in other processes (the CLI).
            with judge.store.writer():
                before = {g.id: g for g in judge.guidelines()}
                report = judge.align([record])
                after = judge.guidelines()
            queued = self._queue.get(job.judge, job.case_id or "")
            old = queued.verdict if queued else None
            verdict = judge.judge(record.case)
            _log_error(job.judge, job.case_id, verdict)
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
        except JudgeGone:
            # Dead-lettered: retrying could only fail again (or teach another judge).
            self._queue.drop_pending(job.id)
            job.error, job.retryable, job.status = JUDGE_GONE, False, "failed"
            return
        except InputError as exc:
            # Checked before it was accepted, so this is a record the store refuses: keeping
            # it pending would refuse it again on every start.
            self._queue.drop_pending(job.id)
            self._fail(job, exc, retryable=False)
            return
        except Exception as exc:
            # A model or store failure, or a bug: the submission stays pending, to be retried
            # from the panel or at the next start.
            self._fail(job, exc, retryable=True)
            return
        self._flag_flips(job, judge)

    def _flag_flips(self, job: Job, judge: Judge) -> None:
        """Re-judge other queued cases under the new memory, so verdicts it flips are flagged.

        The quick pass runs without rationales; a stored verdict is replaced only where its
        value changed (then judged again with a rationale), so the others keep theirs."""
        others = [
            c for c in self._queue.cases(job.judge) if c.case_id != job.case_id and c.verdict
        ][: self._rejudge_limit]
        try:
            quick = judge.judge_many([c.case for c in others], rationale=False) if others else []
            changed = [
                queued
                for queued, verdict in zip(others, quick, strict=True)
                if verdict.ok and not _same(queued.verdict, verdict)
            ]
            full = judge.judge_many([c.case for c in changed]) if changed else []
        except Exception as exc:
            log.warning("re-judging queued cases failed: %s", exc)
            changed, full = [], []
        for queued, verdict in zip(changed, full, strict=True):
            if not verdict.ok:
                continue
            if self._queue.set_verdict(job.judge, queued.case_id, verdict):
                job.flipped.append(queued.case_id)
        job.flips_checked = True


def _log_error(judge: str, case_id: str | None, verdict: Verdict) -> None:
    # The page names only the error's kind; its text (a provider's words) is for the operator.
    if verdict.error is not None:
        log.warning("judge %s, case %s: no verdict: %s", judge, case_id, verdict.error)


def _same(old: Verdict | None, new: Verdict) -> bool:
    return old is not None and old.ok and old.value == new.value


def _changed(old: Guideline, new: Guideline) -> bool:
    return (old.text, old.sources, old.status) != (new.text, new.sources, new.status)
