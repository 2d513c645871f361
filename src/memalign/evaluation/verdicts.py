"""What a batch of verdicts cost and how much of it the validated checks decided."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from memalign.records import Verdict


def verdict_usage(verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """Model calls and seconds spent, and the verdicts the checks decided with no model call.

    ``judge_calls_saved`` counts one call per check-decided verdict: the least each would have
    cost the model (its rationale, when asked for, is a second)."""
    by_checks = sum(1 for v in verdicts if v.ok and v.decision == "checks")
    decided = sum(1 for v in verdicts if v.ok)
    return {
        "llm_calls": sum(v.usage.llm_calls for v in verdicts),
        "seconds": round(sum(v.usage.seconds for v in verdicts), 3),
        "decided_by_checks": by_checks,
        "share_decided_by_checks": round(by_checks / decided, 4) if decided else None,
        "judge_calls_saved": by_checks,
    }


def usage_line(usage: dict[str, Any]) -> str:
    """``verdict_usage`` in one line of plain words."""
    calls = usage["llm_calls"]
    line = f"{calls} model call{'' if calls == 1 else 's'}, {usage['seconds']:.1f} s"
    decided = usage["decided_by_checks"]
    if decided:
        line += (
            f"; {decided} verdict{'' if decided == 1 else 's'} "
            f"({usage['share_decided_by_checks']:.0%}) decided by checks with no model call"
        )
    return line
