"""The agreement page: the judge's learning curve, per-annotator figures, expert agreement."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from memalign.web import agreement
from memalign.web.app import Context
from memalign.web.routes_review import queue_url


def register(app: FastAPI, ctx: Context) -> None:
    @app.get("/judges/{name}/agreement", response_class=HTMLResponse)
    def agreement_page(request: Request, name: str) -> HTMLResponse:
        row = ctx.judge_row(name)
        records = ctx.store.get_records(row.judge_id)
        per_version, per_annotator = agreement.judge_vs_experts(
            row.spec, records, ctx.store.history(row.judge_id)
        )
        return ctx.render(
            request,
            "agreement.html",
            row=row,
            per_version=per_version,
            per_annotator=per_annotator,
            experts=agreement.between_experts(records),
            curve=agreement.curve_points(per_version),
            width=agreement.CURVE_WIDTH,
            height=agreement.CURVE_HEIGHT,
            queue_url=queue_url,
        )
