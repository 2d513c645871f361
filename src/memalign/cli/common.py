"""What every command shares: options, error handling, output, and opening judges."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console

from memalign.config import Settings
from memalign.errors import InputError, MemalignError, NotFoundError, SpecError, StoreError
from memalign.judge import Judge
from memalign.models import build_models, default_embedder
from memalign.stores import JudgeRow, MemoryStore, open_store

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
JudgeArg = Annotated[str, typer.Argument(help="The judge's name.", show_default=False)]
FeedbackFileArg = Annotated[
    Path,
    typer.Argument(help="Expert feedback, JSONL or CSV (fields: see `memalign align --help`)."),
]
CasesFileArg = Annotated[
    Path, typer.Argument(help="Cases to judge, JSONL or CSV (the same fields as `align` reads).")
]
GuidelineIdArg = Annotated[
    str, typer.Argument(help="The guideline's id (`memalign memory NAME` lists them).")
]
GuidelineTextArg = Annotated[str, typer.Argument(help="The guideline, one or two sentences.")]
ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", min=1, help="Cases judged at once (model calls in flight).")
]

# Everything these consoles print may hold user text (feedback, guidelines, instructions,
# labels, judged text): never read it as rich markup or emoji codes. Styling is passed as
# ``style=``, never embedded in strings.
console = Console(markup=False, emoji=False, highlight=False)
err_console = Console(stderr=True, markup=False, emoji=False, highlight=False)
# Stores the running command opened, closed when it ends: the last connection to close merges
# SQLite's write-ahead log into the database file and removes it, so a store left by a command
# is one whole file (safe to copy, and byte-identical after a command that changed nothing).
_OPENED: list[MemoryStore] = []
P = ParamSpec("P")
R = TypeVar("R")
USAGE_ERRORS = (InputError, SpecError, NotFoundError, StoreError)


def error_payload(exc: BaseException) -> dict[str, Any]:
    """An error as data: its kind, message and, where known, where it was found."""
    payload: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    for key in ("file", "line", "field", "record_id", "location", "kind", "key"):
        value = getattr(exc, key, None)
        if value is not None:
            payload[key] = value
    return payload


def fail(exc: BaseException, code: int, as_json: bool) -> typer.Exit:
    if as_json:
        sys.stdout.write(json.dumps({"error": error_payload(exc)}, ensure_ascii=False) + "\n")
    # Plain text: one line that is never wrapped, so it stays greppable.
    message = " ".join(str(exc).split())
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def command(func: Callable[P, R]) -> Callable[P, R]:
    """Turn errors into one line on stderr (and a JSON object on stdout under ``--json``) and
    an exit code: 2 for bad input (a file, a path, an argument, an unknown judge), 1 for a
    failure elsewhere (a model or provider). Nothing is half-written: every store change is one
    transaction, and files are checked before anything is stored."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        as_json = bool(kwargs.get("as_json"))
        try:
            try:
                return func(*args, **kwargs)
            finally:
                while _OPENED:
                    _OPENED.pop().close()
        except MemalignError as exc:
            raise fail(exc, 2 if isinstance(exc, USAGE_ERRORS) else 1, as_json) from None
        except OSError as exc:
            # A path the user gave that cannot be read or written (missing folder, a directory
            # where a file was expected, no permission, a full disk).
            where = f"{exc.filename}: " if exc.filename else ""
            located = InputError(f"{where}{exc.strerror or exc}")
            raise fail(located, 2, as_json) from None
        except (typer.Exit, typer.TyperException):
            raise
        except Exception as exc:
            # A bug, not the user's doing: still one line (the traceback is one env var away).
            if os.environ.get("MEMALIGN_DEBUG"):
                raise
            internal = MemalignError(
                f"internal error ({type(exc).__name__}: {exc}); please report it, with the "
                "traceback MEMALIGN_DEBUG=1 prints"
            )
            raise fail(internal, 1, as_json) from None

    return wrapper


def settings() -> Settings:
    return Settings.load()


def store_for(path: str | None, *, create: bool = False) -> MemoryStore:
    """The store a command works on. Only commands that make a judge (``judge create``,
    ``import``) create a store; the others refuse a path where none exists, so a mistyped
    ``--store`` is named instead of silently becoming an empty database."""
    opened = open_store(path or settings().store, create=create)
    _OPENED.append(opened)
    return opened


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
        embedder=judge_embedder(row, chosen),
        reference_price=config.reference_price,
        timeout=config.timeout_seconds,
    )
    return Judge(store, row, **models.as_kwargs())


def judge_embedder(row: JudgeRow, model: str | None = None) -> str:
    """The embedder a judge's memory vectors were made with (``model``: the judging model, when
    the judge names no embedder)."""
    config = settings()
    chosen = model or row.spec.model or config.model
    return row.spec.embedder or config.embedder or default_embedder(chosen)


def emit(data: Any, as_json: bool, render: Callable[[], None]) -> None:
    if as_json:
        payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
    else:
        render()
