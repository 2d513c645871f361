from __future__ import annotations

import contextlib
import time

import pytest

from memalign_bench.step_budget import BudgetExceeded, step_budget


def test_the_budget_interrupts_code_that_catches_every_exception() -> None:
    started = time.monotonic()
    with pytest.raises(BudgetExceeded, match="step budget of 0 s"), step_budget(0.2):
        while time.monotonic() - started < 10:
            with contextlib.suppress(Exception):  # as MIPROv2's trials do
                time.sleep(0.01)
    assert time.monotonic() - started < 5


def test_no_budget_and_a_finished_block_leave_no_alarm_behind() -> None:
    with step_budget(None):
        time.sleep(0.01)
    with step_budget(0.2):
        pass
    time.sleep(0.4)  # an alarm left armed would raise BudgetExceeded here
