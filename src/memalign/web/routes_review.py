"""The judges, a judge's queue, loading cases into it, reviewing one case, and what a
submission changed."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from memalign.errors import InputError, LabelError, NotFoundError
from memalign.io.feedback import read_records
from memalign.judge_spec import FloatScore, JudgeSpec, Pairwise
from memalign.prompts.rendering import pairwise_responses
from memalign.records import Feedback, Verdict, utcnow
from memalign.web import triage
from memalign.web.app import Context
from memalign.web.security import checked_form, session_of
from memalign.web.worker import Job

UPLOAD_SUFFIXES = (".jsonl", ".json", ".csv")
MAX_ANNOTATOR_CHARS = 80


def case_url(name: str, case_id: str) -> str:
    return f"/judges/{quote(name, safe='')}/cases/{quote(case_id, safe='')}"


def queue_url(name: str) -> str:
    return f"/judges/{quote(name, safe='')}"


def items_for(ctx: Context, name: str) -> list[triage.Item]:
    """The queue in order; a submission counts as a review from the moment it is accepted,
    before its alignment has run (so "next" never offers a case the expert just did)."""
    row = ctx.judge_row(name)
    stored = ctx.store.get_records(row.judge_id)
    known = {r.id for r in stored}
    pending = [p.record for p in ctx.queue.pending() if p.judge == name]
    return triage.build(ctx.queue.cases(name), stored + [r for r in pending if r.id not in known])


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
    if verdict is not None:
        by_id = {g.id: g for g, _ in ctx.store.guidelines(judge_id)}
        used_guidelines = [by_id[i] for i in verdict.guideline_ids if i in by_id]
        if verdict.example_ids:
            wanted = set(verdict.example_ids)
            used_examples = [e for e in ctx.store.examples(judge_id)[0] if e.record_id in wanted]
    return {
        "case": case,
        "pair": pair,
        "verdict": verdict,
        "used_guidelines": used_guidelines,
        "used_examples": used_examples,
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
    }


def register(app: FastAPI, ctx: Context) -> None:
    @app.get("/", response_class=HTMLResponse)
    def judges(request: Request) -> HTMLResponse:
        rows = []
        for row in ctx.store.list_judges():
            reviewed, total = triage.progress(items_for(ctx, row.spec.name))
            rows.append({"row": row, "reviewed": reviewed, "cases": total})
        return ctx.render(request, "judges.html", judges=rows)

    @app.get("/judges/{name}", response_class=HTMLResponse)
    def queue_page(
        request: Request, name: str, status: str = "todo", verdict: str = "", q: str = ""
    ) -> HTMLResponse:
        row = ctx.judge_row(name)
        items = items_for(ctx, name)
        status = status if status in triage.STATUSES else "todo"
        shown = triage.select(items, status, verdict, q)
        reviewed, total = triage.progress(items)
        annotator = session_of(request).annotator
        following = triage.next_for(items, annotator) if annotator else None
        return ctx.render(
            request,
            "queue.html",
            row=row,
            items=shown[:500],
            more=max(0, len(shown) - 500),
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
        row = ctx.judge_row(name)
        cases_file = form.get("cases")
        runs_file = form.get("verdicts")
        if not isinstance(cases_file, UploadFile) or not cases_file.filename:
            raise InputError("choose a cases file (.jsonl or .csv)", field="cases")
        with tempfile.TemporaryDirectory(prefix="memalign-upload-") as folder:
            path = await _save_upload(cases_file, Path(folder), ctx.config.max_body_bytes)
            try:
                rows = read_records(path, row.spec)
            except InputError as exc:
                # Name the file the expert chose, not the temporary copy.
                raise InputError(
                    f"{cases_file.filename}"
                    + (f", line {exc.line}" if exc.line else "")
                    + (f", field {exc.field}" if exc.field else "")
                    + f": {exc.reason}"
                ) from None
            known: dict[str, Verdict] = {}
            if isinstance(runs_file, UploadFile) and runs_file.filename:
                run_path = Path(folder) / "verdicts.jsonl"
                run_path.write_bytes(await runs_file.read(ctx.config.max_body_bytes + 1))
                known = _run_verdicts(run_path, name)
        unjudged = ctx.queue.add_cases(name, [(r.record.id, r.record.case) for r in rows])
        for case_id, verdict in known.items():
            if ctx.queue.get(name, case_id) is not None:
                ctx.queue.set_verdict(name, case_id, verdict)
        todo = [case_id for case_id in unjudged if case_id not in known]
        target = queue_url(name)
        if todo:
            target += f"?job={ctx.worker.judge_cases(name, todo).id}"
        return RedirectResponse(target, status_code=303)

    @app.get("/judges/{name}/cases/{case_id}", response_class=HTMLResponse)
    def review_page(request: Request, name: str, case_id: str, job: str = "") -> HTMLResponse:
        row = ctx.judge_row(name)
        items = items_for(ctx, name)
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

    @app.post("/judges/{name}/cases/{case_id}")
    async def submit(request: Request, name: str, case_id: str) -> Response:
        form = await checked_form(request)
        row = ctx.judge_row(name)
        queued = ctx.queue.get(name, case_id)
        if queued is None:
            raise NotFoundError("case", case_id)
        annotator = str(form.get("annotator") or "").strip()
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
        verdict = queued.verdict
        record = Feedback(
            # One record per case and expert: a second submission replaces the first.
            id=f"{case_id}@{annotator}",
            inputs=queued.case.inputs,
            outputs=queued.case.outputs,
            expectations=queued.case.expectations,
            label=label,
            feedback=text or None,
            annotator=annotator,
            verdict=verdict.value if verdict is not None and verdict.ok else None,
            created_at=utcnow(),
        )
        session_of(request).annotator = annotator
        job = ctx.worker.submit_review(name, case_id, record)
        if form.get("next"):
            following = triage.next_for(items_for(ctx, name), annotator, after=case_id)
            if following is not None:
                target = case_url(name, following.case_id)
                return RedirectResponse(f"{target}?job={job.id}", status_code=303)
            return RedirectResponse(f"{queue_url(name)}?job={job.id}", status_code=303)
        return RedirectResponse(f"{case_url(name, case_id)}?job={job.id}", status_code=303)

    @app.get("/jobs/{job_id}.json")
    def job_json(job_id: str) -> JSONResponse:
        job = ctx.worker.job(job_id)
        if job is None:
            raise NotFoundError("job", job_id)
        return JSONResponse(json.loads(json.dumps(job_view(job), default=_jsonable)))

    @app.get("/jobs/{job_id}/panel", response_class=HTMLResponse)
    def job_panel(request: Request, job_id: str) -> HTMLResponse:
        job = ctx.worker.job(job_id)
        if job is None:
            raise NotFoundError("job", job_id)
        return ctx.render(request, "job_panel.html", job=job, case_url=case_url)


def _jsonable(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) else str(value)
