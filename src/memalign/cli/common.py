"""What every command shares: options, error handling, output, and opening judges."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console

from memalign.config import Settings
from memalign.errors import InputError, MemalignError, NotFoundError, SpecError
from memalign.judge import Judge
from memalign.models import build_models
from memalign.stores import MemoryStore, open_store

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Store path or sqlite:/// URL (default: per-user data dir).",
        envvar="MEMALIGN_STORE",
        show_envvar=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", help="Judge model: fake, local, local:0.5b, openai/<m>, URL#model…"),
]

console = Console()
err_console = Console(stderr=True)
P = ParamSpec("P")
R = TypeVar("R")
USAGE_ERRORS = (InputError, SpecError, NotFoundError)


def command(func: Callable[P, R]) -> Callable[P, R]:
    """Turn memalign errors into one line on stderr and an exit code: 2 for bad input, 1
    otherwise. Nothing is half-written: every store change is one transaction."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except MemalignError as exc:
            # Plain text: one line that is never wrapped, so it stays greppable.
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2 if isinstance(exc, USAGE_ERRORS) else 1) from None

    return wrapper


def settings() -> Settings:
    return Settings.load()


def store_for(path: str | None) -> MemoryStore:
    return open_store(path or settings().store)


def open_judge(store: MemoryStore, name: str, model: str | None = None) -> Judge:
    """Load a judge with its models: ``--model`` > the judge's own > settings. The embedder
    always stays the judge's own, since its memory vectors were made with it."""
    row = store.get_judge(name)
    config = settings()
    chosen = model or row.spec.model or config.model
    reflection = None if model else (row.spec.reflection_model or config.reflection_model)
    models = build_models(
        chosen,
        reflection_model=reflection,
        embedder=row.spec.embedder or config.embedder or ("hash" if chosen == "fake" else "local"),
        reference_price=config.reference_price,
        timeout=config.timeout_seconds,
    )
    return Judge(store, row, **models.as_kwargs())


def emit(data: Any, as_json: bool, render: Callable[[], None]) -> None:
    if as_json:
        payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
    else:
        render()
