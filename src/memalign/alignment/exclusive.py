"""Alignment operations read memory, call models on what they read, then commit. Two of them
interleaved would each build on memory without the other's changes (two aligners storing the
same rule twice), so each holds the store's writer lock from its first read to its commit
(``stores.locking``: threads and processes alike; re-entrant, so one operation may call
another)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from memalign.judging import JudgeEngine

P = ParamSpec("P")
R = TypeVar("R")


def exclusive(
    operation: Callable[Concatenate[JudgeEngine, P], R],
) -> Callable[Concatenate[JudgeEngine, P], R]:
    @functools.wraps(operation)
    def holding_the_writer_lock(engine: JudgeEngine, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with engine.store.writer():
            return operation(engine, *args, **kwargs)

    return holding_the_writer_lock
