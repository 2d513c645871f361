"""A wall-clock budget for one optimisation step, and what a stopped step reports."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import Any


class BudgetExceeded(BaseException):
    """An optimiser ran past its step budget. A ``BaseException``, as ``KeyboardInterrupt``
    is: MIPROv2's trials catch ``Exception`` and would swallow it (found on the first real run,
    where a 600 s budget did not stop MIPROv2)."""


class StepInterrupted(Exception):
    """An optimiser stopped before it finished; ``partial`` holds what it had spent."""

    def __init__(self, partial: dict[str, Any], *, fatal: bool) -> None:
        super().__init__("step interrupted")
        self.partial = partial
        self.fatal = fatal


@contextlib.contextmanager
def step_budget(seconds: float | None) -> Iterator[None]:
    """Raise :class:`BudgetExceeded` in this (main) thread after ``seconds``; None: no limit.
    SIGALRM, because the optimisers run their own thread pools and cannot be asked to stop."""
    if not seconds:
        yield
        return

    def expire(_signum: int, _frame: object) -> None:
        raise BudgetExceeded(f"over the step budget of {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
