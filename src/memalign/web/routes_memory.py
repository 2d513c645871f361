"""A judge's memory: guidelines (edit, pin, retire, approve, add), the rule that decides what
the checks leave (shown with the held-out scores it was chosen on, and pinned or handed back to
``auto`` here), examples, the history of versions, and forgetting records or an annotator after
a dry-run preview of what will go.

Every change runs on the writer thread (``Context.change``), after any submission queued
before it, so a hand edit never interleaves with an alignment. The request awaits it without
blocking the server, and says "still running" if the writer is slow to get to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from memalign.alignment.learned_checks import uses_checks
from memalign.checks import spelled_check
from memalign.errors import InputError, MemalignError
from memalign.judge import Judge
from memalign.judge_spec import DECISION_WORDS, DECISIONS, Labels
from memalign.judging import MemorySnapshot
from memalign.judging.selection import MARGIN, MIN_ROWS
from memalign.records import Check, ForgetReport, Guideline
from memalign.web.app import Context
from memalign.web.routes_review import queue_url
from memalign.web.security import checked_form

MAX_GUIDELINE_CHARS = 2000
# How long the memory page waits for the writer thread to hand over the judge's fitted
# decision (cached per memory version; an alignment may hold the writer): the page says so
# rather than wait longer. The first fit of a version takes up to about 6 s with 200 examples
# since the memory model may read words (design/decision.md), so the wait covers it.
DECISION_WAIT_SECONDS = 10.0


def check_from_form(form: Mapping[str, Any]) -> Check:
    """The check a memory page form spells; InputError naming the field that is wrong."""

    def text(name: str) -> str:
        return str(form.get(name) or "").strip()

    values = {
        "term": text("term"),
        "label": text("label") or "?",
        "present": not form.get("absent"),
        "field": text("field") or "outputs",
        "key": text("key") or None,
        "part": text("part") or "all",
        "pattern": bool(form.get("pattern")),
    }
    return spelled_check(values, when=text("when"), within=text("within"))


MAX_FORGET_IDS = 1000
ACTIONS: dict[str, Callable[[Judge, str, str], Guideline]] = {
    "edit": lambda judge, gid, text: judge.edit_guideline(gid, text),
    "pin": lambda judge, gid, _: judge.pin_guideline(gid, True),
    "unpin": lambda judge, gid, _: judge.pin_guideline(gid, False),
    "retire": lambda judge, gid, _: judge.retire_guideline(gid),
    "approve": lambda judge, gid, _: judge.approve_guideline(gid),
}


def memory_url(name: str) -> str:
    return queue_url(name) + "/memory"


def _targets(ids_text: str, annotator: str) -> tuple[list[str] | None, str | None]:
    ids = [part.strip() for part in ids_text.replace(",", "\n").splitlines() if part.strip()]
    if len(ids) > MAX_FORGET_IDS:
        raise InputError(f"at most {MAX_FORGET_IDS} ids at once")
    if not ids and not annotator:
        raise InputError("name record ids, an annotator, or both")
    return ids or None, annotator or None


def fitted_decision(ctx: Context, name: str) -> MemorySnapshot | None:
    """The judge's memory as judging reads it, with the decision fitted on it; None when the
    writer is busy past ``DECISION_WAIT_SECONDS`` or the models cannot be opened here."""
    future = ctx.worker.call(name, lambda judge: judge.snapshot(), writes=False)
    try:
        return future.result(timeout=DECISION_WAIT_SECONDS)
    except (TimeoutError, MemalignError, OSError):
        return None


def register(app: FastAPI, ctx: Context) -> None:
    @app.get("/judges/{name}/memory", response_class=HTMLResponse)
    def memory_page(request: Request, name: str) -> HTMLResponse:
        row = ctx.judge_row(name)
        guidelines = [g for g, _ in ctx.store.guidelines(row.judge_id)]
        order = {"pending": 0, "active": 1, "retired": 2}
        guidelines.sort(key=lambda g: (order[g.status], not g.pinned, g.created_at))
        examples = ctx.store.examples(row.judge_id)[0]
        return ctx.render(
            request,
            "memory.html",
            row=row,
            guidelines=guidelines,
            # Checks imply a label: offered only where the judge's output has labels.
            check_labels=(
                row.spec.output.labels
                if isinstance(row.spec.output, Labels) and uses_checks(row.spec)
                else ()
            ),
            snapshot=fitted_decision(ctx, name),
            decisions=DECISIONS,
            decision_words=DECISION_WORDS,
            min_rows=MIN_ROWS,
            margin=MARGIN,
            examples=examples[-200:][::-1],
            example_count=len(examples),
            history=ctx.store.history(row.judge_id)[::-1],
            queue_url=queue_url,
            memory_url=memory_url,
        )

    @app.post("/judges/{name}/guidelines/{guideline_id}")
    async def change_guideline(request: Request, name: str, guideline_id: str) -> Response:
        form = await checked_form(request)
        await run_in_threadpool(ctx.judge_row, name)
        action = str(form.get("action") or "")
        text = str(form.get("text") or "").strip()
        if action not in ACTIONS:
            raise InputError(f"unknown action {action!r}")
        if action == "edit" and not 0 < len(text) <= MAX_GUIDELINE_CHARS:
            raise InputError(f"a guideline is 1 to {MAX_GUIDELINE_CHARS} characters")
        change = ACTIONS[action]
        await ctx.change(name, lambda judge: change(judge, guideline_id, text))
        return RedirectResponse(memory_url(name) + f"#g-{guideline_id}", status_code=303)

    @app.post("/judges/{name}/guidelines/{guideline_id}/check")
    async def set_check(request: Request, name: str, guideline_id: str) -> Response:
        """``action=set`` gives the guideline the check the form spells (validated on the
        labelled records before it acts); ``action=remove`` takes its check away."""
        form = await checked_form(request)
        await run_in_threadpool(ctx.judge_row, name)
        check = None if form.get("action") == "remove" else check_from_form(form)
        await ctx.change(name, lambda judge: judge.set_check(guideline_id, check))
        return RedirectResponse(memory_url(name) + f"#g-{guideline_id}", status_code=303)

    @app.post("/judges/{name}/decision")
    async def set_decision(request: Request, name: str) -> Response:
        """Pin the rule that decides what the checks leave, or hand it back to ``auto``."""
        form = await checked_form(request)
        await run_in_threadpool(ctx.judge_row, name)
        rule = str(form.get("decision") or "")
        await ctx.change(name, lambda judge: judge.set_decision(rule))
        return RedirectResponse(memory_url(name) + "#decision", status_code=303)

    @app.post("/judges/{name}/guidelines")
    async def add_guideline(request: Request, name: str) -> Response:
        form = await checked_form(request)
        await run_in_threadpool(ctx.judge_row, name)
        text = str(form.get("text") or "").strip()
        if not 0 < len(text) <= MAX_GUIDELINE_CHARS:
            raise InputError(f"a guideline is 1 to {MAX_GUIDELINE_CHARS} characters")
        pinned = bool(form.get("pinned"))
        await ctx.change(name, lambda judge: judge.add_guideline(text, pinned=pinned))
        return RedirectResponse(memory_url(name), status_code=303)

    @app.post("/judges/{name}/forget", response_class=HTMLResponse)
    async def forget(request: Request, name: str) -> Response:
        """``action=preview`` shows what would go (a dry run); ``action=forget`` does it."""
        form = await checked_form(request)
        row = await run_in_threadpool(ctx.judge_row, name)
        ids_text = str(form.get("ids") or "")
        annotator = str(form.get("annotator") or "").strip()
        ids, who = _targets(ids_text, annotator)
        dry_run = form.get("action") != "forget"
        report: ForgetReport = await ctx.change(
            name, lambda judge: judge.forget(ids, annotator=who, dry_run=dry_run)
        )
        if dry_run:
            return ctx.render(
                request,
                "forget.html",
                row=row,
                report=report,
                ids_text=ids_text,
                forget_annotator=annotator,
                queue_url=queue_url,
                memory_url=memory_url,
            )
        return ctx.render(
            request,
            "forget.html",
            row=row,
            report=report,
            ids_text="",
            forget_annotator="",
            queue_url=queue_url,
            memory_url=memory_url,
        )
