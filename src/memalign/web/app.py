"""The app factory: one store, one writer thread, server-rendered pages.

Templates are Jinja2 with autoescape on everywhere: judged inputs and outputs are written by
whoever the judge is judging, and the page shows them to experts. Nothing is marked safe.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from memalign.checks import describe, spell_condition
from memalign.errors import MemalignError, NotFoundError
from memalign.judge import Judge
from memalign.records import Feedback
from memalign.stores import JudgeRow, MemoryStore
from memalign.web.config import JudgeOpener, ServeConfig
from memalign.web.messages import HIDDEN, public_message
from memalign.web.queue import ReviewQueue, open_queue
from memalign.web.security import HEADERS, CSRFError, Signer, guard, session_of
from memalign.web.worker import Worker

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
T = TypeVar("T")


class StillRunning(Exception):
    """A change handed to the writer did not finish within ``ServeConfig.wait_seconds``; it
    is still queued or running, and will be applied."""


def show(value: Any) -> str:
    """A case field as text: strings as they are, anything else as indented JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@dataclass
class Context:
    store: MemoryStore
    config: ServeConfig
    queue: ReviewQueue
    worker: Worker
    env: jinja2.Environment
    # A store on read-only media: pages are shown, nothing is changed (see ``guard``).
    read_only: bool = False
    # Per judge name: the stored reviews by case content, and the key they were read under
    # (see ``routes_review.stored_reviews``).
    reviews: dict[str, tuple[tuple[int, int, str], dict[str, list[Feedback]]]] = field(
        default_factory=dict
    )

    def judge_row(self, name: str) -> JudgeRow:
        return self.store.get_judge(name)

    async def change(self, judge: str, action: Callable[[Judge], T]) -> T:
        """Run ``action`` on the writer thread and wait for it without blocking the event
        loop (the writer may be busy with someone's alignment for a while)."""
        future = self.worker.call(judge, action)
        done, _ = await asyncio.wait(
            [asyncio.wrap_future(future)], timeout=self.config.wait_seconds
        )
        if not done:
            raise StillRunning()
        return future.result()

    def render(
        self, request: Request, template: str, status_code: int = 200, **values: Any
    ) -> HTMLResponse:
        session = session_of(request)
        page = self.env.get_template(template).render(
            request=request,
            csrf=session.csrf,
            annotator=session.annotator,
            user=session.user,
            read_only=self.read_only,
            **values,
        )
        return HTMLResponse(page, status_code=status_code)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["show"] = show
    env.globals["describe"] = describe
    env.globals["spell_condition"] = spell_condition
    return env


def create_app(
    store: MemoryStore,
    opener: JudgeOpener,
    config: ServeConfig | None = None,
    *,
    review_queue: ReviewQueue | None = None,
) -> FastAPI:
    """The review app over ``store``. ``opener`` loads a judge with its models (the CLI's
    honours ``--model``); every change to memory runs on the app's single writer thread."""
    from memalign.web import routes_agreement, routes_memory, routes_review

    config = config or ServeConfig()
    config.check()
    # A store on read-only media has no room beside it for the queue file.
    read_only = bool(getattr(store, "read_only", False))
    queue = review_queue or open_queue(store.location, read_only=read_only)
    worker = Worker(opener, queue, config.rejudge_limit)
    ctx = Context(
        store=store,
        config=config,
        queue=queue,
        worker=worker,
        env=environment(),
        read_only=read_only,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        worker.start()
        try:
            yield
        finally:
            worker.stop()
            if review_queue is None:  # a queue passed in belongs to the caller
                queue.close()

    # No interactive API docs: the app is pages for people, and fewer routes to secure.
    app = FastAPI(
        title="memalign review", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.ctx = ctx
    app.middleware("http")(guard(config, Signer(), read_only=read_only))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
        if getattr(request.state, "session", None) is None:
            return HTMLResponse(f"{status} {title}", status_code=status)
        return ctx.render(request, "error.html", status, title=title, message=message)

    @app.exception_handler(CSRFError)
    async def _csrf(request: Request, exc: CSRFError) -> HTMLResponse:
        return error_page(
            request, 403, "Form expired", "This form is no longer valid: reload the page."
        )

    @app.exception_handler(NotFoundError)
    async def _missing(request: Request, exc: NotFoundError) -> HTMLResponse:
        return error_page(request, 404, "Not found", public_message(exc))

    @app.exception_handler(MemalignError)
    async def _bad(request: Request, exc: MemalignError) -> HTMLResponse:
        message = public_message(exc)
        if message in HIDDEN:
            log.warning("%s on %s: %s", type(exc).__name__, request.url.path, exc)
        return error_page(request, 400, "Cannot do that", message)

    @app.exception_handler(StillRunning)
    async def _running(request: Request, exc: StillRunning) -> HTMLResponse:
        return error_page(
            request,
            202,
            "Still running",
            "Your change is queued behind other work and will be applied: reload in a moment.",
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> HTMLResponse:
        return error_page(request, exc.status_code, "Error", str(exc.detail))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> HTMLResponse:
        # Logged for the operator; the page never shows a trace, a path or a secret.
        log.exception("unhandled error on %s", request.url.path)
        page = error_page(request, 500, "Internal error", "Something went wrong on the server.")
        # This handler answers outside the middleware that adds them to every other response.
        page.headers.update(HEADERS)
        return page

    routes_review.register(app, ctx)
    routes_memory.register(app, ctx)
    routes_agreement.register(app, ctx)
    return app
