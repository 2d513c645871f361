"""The judges, a judge's queue, loading cases into it, reviewing one case, and what a
submission changed."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from memalign.errors import InputError, LabelError, NotFoundError
from memalign.io.feedback import read_records
from memalign.judge_spec import FloatScore, JudgeSpec, Pairwise
from memalign.prompts.rendering import pairwise_responses
from memalign.records import Feedback, Value, Verdict, canonical_json, utcnow
from memalign.stores import JudgeRow
from memalign.web import highlight, triage
from memalign.web.app import Context
from memalign.web.config import MAX_ANNOTATOR_CHARS
from memalign.web.queue import case_hash
from memalign.web.security import checked_form, session_of
from memalign.web.worker import Job

UPLOAD_SUFFIXES = (".jsonl", ".json", ".csv")
PAGE_SIZE = 100


def case_url(name: str, case_id: str) -> str:
    return f"/judges/{quote(name, safe='')}/cases/{quote(case_id, safe='')}"


def queue_url(name: str) -> str:
    return f"/judges/{quote(name, safe='')}"


def review_id(case_id: str, annotator: str) -> str:
    """One record per case and expert. Both parts are percent-encoded so that ``@`` only ever
    separates them: case ``x@bob`` by ``corp`` and case ``x`` by ``bob@corp`` must not share
    an id, or the second review would replace the first."""
    return f"{quote(case_id, safe='')}@{quote(annotator, safe='')}"


def stored_reviews(ctx: Context, row: JudgeRow) -> dict[str, list[Feedback]]:
    """The judge's stored reviews by case content. Loading and hashing every record is the
    costly part of a page, so it is redone only when the records changed (their ids and
    content hashes, one cheap query) or memory moved on."""
    hashes = ctx.store.record_hashes(row.judge_id)
    digest = hashlib.sha256(canonical_json(hashes).encode()).hexdigest()
    key = (row.judge_id, row.version, digest)
    cached = ctx.reviews.get(row.spec.name)
    if cached is not None and cached[0] == key:
        return cached[1]
    grouped = triage.reviews_by_case(ctx.store.get_records(row.judge_id))
    ctx.reviews[row.spec.name] = (key, grouped)
    return grouped


def items_for(ctx: Context, name: str, row: JudgeRow | None = None) -> list[triage.Item]:
    """The queue in order; a submission counts as a review from the moment it is accepted,
    before its alignment has run (so "next" never offers a case the expert just did)."""
    row = row or ctx.judge_row(name)
    grouped = {digest: list(reviews) for digest, reviews in stored_reviews(ctx, row).items()}
    known = {r.id for reviews in grouped.values() for r in reviews}
    for pending in ctx.queue.pending():
        # A review waiting for a judge since deleted (even if one of the same name was made
        # since) is not this judge's: the writer drops it with a reason.
        if pending.judge != name or pending.judge_id not in (None, row.judge_id):
            continue
        if pending.record.id not in known:
            grouped.setdefault(case_hash(pending.record.case), []).append(pending.record)
    return triage.build(ctx.queue.cases(name), grouped)


def first_verdict(item: triage.Item) -> Value | None:
    """The verdict the case had before anyone reviewed it. Learning from the first review
    re-judges the case, so a second expert sees a verdict already taught by the first; scoring
    the judge on that would inflate its agreement."""
    earlier = sorted(
        (r for r in item.reviews if r.verdict is not None and r.created_at is not None),
        key=lambda r: r.created_at or utcnow(),
    )
    if earlier:
        return earlier[0].verdict
    verdict = item.verdict
    return verdict.value if verdict is not None and verdict.ok else None


async def _save_upload(upload: UploadFile, folder: Path, limit: int) -> Path:
    """An upload on disk (``read_records`` reads paths), refused past ``limit`` bytes."""
    filename = Path(upload.filename or "cases.jsonl").name
    suffix = Path(filename).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise InputError(f"upload a .jsonl or .csv file, not {filename!r}", field="cases")
    path = folder / f"upload{'.csv' if suffix == '.csv' else '.jsonl'}"
    size = 0
    with path.open("wb") as handle:
        while chunk := await upload.read(1 << 16):
            size += len(chunk)
            if size > limit:
                raise InputError("file too large", field="cases")
            handle.write(chunk)
    return path


def _run_verdicts(path: Path, name: str) -> dict[str, Verdict]:
    """Verdicts from a ``memalign run --out`` file, by case id."""
    verdicts: dict[str, Verdict] = {}
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
            verdicts[str(line["id"])] = Verdict.model_validate({**line, "judge": name})
        except (ValueError, KeyError, TypeError):
            raise InputError("unreadable verdict line", file="verdicts", line=number) from None
    return verdicts


def _label_field(spec: JudgeSpec) -> dict[str, Any]:
    if isinstance(spec.output, FloatScore):
        return {"kind": "number", "choices": []}
    return {"kind": "choice", "choices": list(spec.output.choices)[:9]}


def _case_view(ctx: Context, spec: JudgeSpec, item: triage.Item, judge_id: int) -> dict[str, Any]:
    case = item.queued.case
    pair = None
    if isinstance(spec.output, Pairwise) and case.outputs is not None:
        try:
            pair = pairwise_responses(case.outputs)
        except InputError:
            pair = None
    verdict = item.verdict
    used_guidelines = []
    used_examples = []
    checks: list[highlight.FiredCheck] = []
    marked: dict[str, list[highlight.Segment]] = {}
    if verdict is not None:
        by_id = {g.id: g for g, _ in ctx.store.guidelines(judge_id)}
        checks, spans = highlight.fired_checks(case, verdict.checks, by_id)
        # A check's guideline is listed with the check (its text explains it), not twice.
        shown = {hit.guideline_id for hit in verdict.checks}
        used_guidelines = [by_id[i] for i in verdict.guideline_ids if i in by_id and i not in shown]
        if verdict.example_ids:
            wanted = set(verdict.example_ids)
            used_examples = [e for e in ctx.store.examples(judge_id)[0] if e.record_id in wanted]
        for field, found in spans.items():
            value = getattr(case, field)
            # Spans index the text the check searched; a structured field is shown differently
            # (indented JSON), so its match is shown in the check's excerpt only.
            if isinstance(value, str) and not (field == "outputs" and pair is not None):
                marked[field] = highlight.segments(value, found)
    return {
        "case": case,
        "pair": pair,
        "verdict": verdict,
        "used_guidelines": used_guidelines,
        "used_examples": used_examples,
        "checks": checks,
        "marked": marked,
    }


def job_view(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "case_id": job.case_id,
        "latency": job.latency,
        "error": job.error,
        "result": job.result,
        "flipped": job.flipped,
        "flips_checked": job.flips_checked,
        "retryable": job.retryable,
    }


def _load_upload(ctx: Context, name: str, filename: str, path: Path, run_path: Path | None) -> str:
    """Read an uploaded file into the queue (blocking: run off the event loop); returns where
    to go next."""
    row = ctx.judge_row(name)
    try:
        rows = read_records(path, row.spec)
    except InputError as exc:
        # Name the file the expert chose, not the temporary copy.
        raise InputError(
            f"{filename}"
            + (f", line {exc.line}" if exc.line else "")
            + (f", field {exc.field}" if exc.field else "")
            + f": {exc.reason}"
        ) from None
    known = _run_verdicts(run_path, name) if run_path is not None else {}
    unjudged = ctx.queue.add_cases(name, [(r.record.id, r.record.case) for r in rows])
    for case_id, verdict in known.items():
        if ctx.queue.get(name, case_id) is not None:
            ctx.queue.set_verdict(name, case_id, verdict)
    todo = [case_id for case_id in unjudged if case_id not in known]
    target = queue_url(name)
    if todo:
        target += f"?job={ctx.worker.judge_cases(name, todo).id}"
    return target


def _submit(ctx: Context, request: Request, name: str, case_id: str, form: FormData) -> str:
    """Accept a review (blocking: run off the event loop); returns where to go next."""
    row = ctx.judge_row(name)
    items = items_for(ctx, name, row)
    item = next((i for i in items if i.case_id == case_id), None)
    if item is None:
        raise NotFoundError("case", case_id)
    # A signed-in expert (``--users``) reviews under their own name only.
    annotator = session_of(request).user or str(form.get("annotator") or "").strip()
    if not annotator or len(annotator) > MAX_ANNOTATOR_CHARS:
        raise InputError(f"give your name (1 to {MAX_ANNOTATOR_CHARS} characters)")
    raw_label = str(form.get("label") or "").strip()
    text = str(form.get("feedback") or "").strip()
    if len(text) > ctx.config.max_feedback_chars:
        raise InputError(f"feedback is longer than {ctx.config.max_feedback_chars} characters")
    if not raw_label and not text:
        raise InputError("pick a label, write feedback, or both")
    try:
        label = row.spec.output.coerce(raw_label) if raw_label else None
    except LabelError as exc:
        raise InputError(f"label: {exc.reason}") from None
    case = item.queued.case
    record = Feedback(
        id=review_id(case_id, annotator),
        inputs=case.inputs,
        outputs=case.outputs,
        expectations=case.expectations,
        label=label,
        feedback=text or None,
        annotator=annotator,
        verdict=first_verdict(item),
        created_at=utcnow(),
    )
    session_of(request).annotator = annotator
    job = ctx.worker.submit_review(name, case_id, record, row.judge_id)
    if form.get("next"):
        # The items were read before this submission; ``after`` skips the case just done.
        following = triage.next_for(items, annotator, after=case_id)
        if following is not None:
            return f"{case_url(name, following.case_id)}?job={job.id}"
        return f"{queue_url(name)}?job={job.id}"
    return f"{case_url(name, case_id)}?job={job.id}"


def register(app: FastAPI, ctx: Context) -> None:
    @app.get("/", response_class=HTMLResponse)
    def judges(request: Request) -> HTMLResponse:
        rows = []
        for row in ctx.store.list_judges():
            reviewed, total = triage.progress(items_for(ctx, row.spec.name, row))
            rows.append({"row": row, "reviewed": reviewed, "cases": total})
        return ctx.render(request, "judges.html", judges=rows)

    @app.get("/judges/{name}", response_class=HTMLResponse)
    def queue_page(
        request: Request,
        name: str,
        status: str = "todo",
        verdict: str = "",
        q: str = "",
        page: int = 1,
    ) -> HTMLResponse:
        row = ctx.judge_row(name)
        items = items_for(ctx, name, row)
        status = status if status in triage.STATUSES else "todo"
        shown = triage.select(items, status, verdict, q)
        pages = max(1, -(-len(shown) // PAGE_SIZE))
        page = min(max(1, page), pages)
        reviewed, total = triage.progress(items)
        annotator = session_of(request).annotator
        following = triage.next_for(items, annotator) if annotator else None
        return ctx.render(
            request,
            "queue.html",
            row=row,
            items=shown[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
            page=page,
            pages=pages,
            shown_count=len(shown),
            reviewed=reviewed,
            total=total,
            status=status,
            statuses=triage.STATUSES,
            verdict=verdict,
            q=q,
            choices=list(row.spec.output.choices),
            next_item=following,
            job=ctx.worker.job(request.query_params.get("job", "")),
            case_url=case_url,
            queue_url=queue_url,
        )

    @app.post("/judges/{name}/cases")
    async def upload(request: Request, name: str) -> Response:
        form = await checked_form(request)
        cases_file = form.get("cases")
        runs_file = form.get("verdicts")
        if not isinstance(cases_file, UploadFile) or not cases_file.filename:
            raise InputError("choose a cases file (.jsonl or .csv)", field="cases")
        with tempfile.TemporaryDirectory(prefix="memalign-upload-") as folder:
            path = await _save_upload(cases_file, Path(folder), ctx.config.max_body_bytes)
            run_path = None
            if isinstance(runs_file, UploadFile) and runs_file.filename:
                run_path = Path(folder) / "verdicts.jsonl"
                run_path.write_bytes(await runs_file.read(ctx.config.max_body_bytes + 1))
            target = await run_in_threadpool(
                _load_upload, ctx, name, cases_file.filename, path, run_path
            )
        return RedirectResponse(target, status_code=303)

    # ``:path``: case ids come from uploaded files and may hold a "/" (sent as %2F).
    @app.get("/judges/{name}/cases/{case_id:path}", response_class=HTMLResponse)
    def review_page(request: Request, name: str, case_id: str, job: str = "") -> HTMLResponse:
        row = ctx.judge_row(name)
        items = items_for(ctx, name, row)
        item = next((i for i in items if i.case_id == case_id), None)
        if item is None:
            raise NotFoundError("case", case_id)
        reviewed, total = triage.progress(items)
        annotator = session_of(request).annotator
        mine = next((r for r in item.reviews if r.annotator == annotator), None)
        return ctx.render(
            request,
            "review.html",
            row=row,
            item=item,
            mine=mine,
            label=_label_field(row.spec),
            reviewed=reviewed,
            total=total,
            job=ctx.worker.job(job),
            max_feedback=ctx.config.max_feedback_chars,
            case_url=case_url,
            queue_url=queue_url,
            **_case_view(ctx, row.spec, item, row.judge_id),
        )

    @app.post("/judges/{name}/cases/{case_id:path}")
    async def submit(request: Request, name: str, case_id: str) -> Response:
        form = await checked_form(request)
        target = await run_in_threadpool(_submit, ctx, request, name, case_id, form)
        return RedirectResponse(target, status_code=303)

    @app.get("/jobs/{job_id}.json")
    def job_json(job_id: str) -> JSONResponse:
        job = ctx.worker.job(job_id)
        if job is None:
            raise NotFoundError("job", job_id)
        return JSONResponse(jsonable_encoder(job_view(job)))

    @app.get("/jobs/{job_id}/panel", response_class=HTMLResponse)
    def job_panel(request: Request, job_id: str) -> HTMLResponse:
        job = ctx.worker.job(job_id)
        if job is None:
            raise NotFoundError("job", job_id)
        return ctx.render(request, "job_panel.html", job=job, case_url=case_url)

    @app.post("/jobs/{job_id}/retry")
    async def retry(request: Request, job_id: str) -> Response:
        """Try a failed job again (a model that was down, say) without restarting the server."""
        await checked_form(request)
        job = await run_in_threadpool(ctx.worker.retry, job_id)
        if job is None:
            raise InputError("nothing to retry: the job is unknown, running, done, or dropped")
        if job.kind == "review" and job.case_id is not None:
            return RedirectResponse(f"{case_url(job.judge, job.case_id)}?job={job.id}", 303)
        return RedirectResponse(f"{queue_url(job.judge)}?job={job.id}", 303)
