from __future__ import annotations

from memalign.evaluation import usage_line, verdict_usage
from memalign.records import Usage, Verdict


def _verdict(decision: str | None, calls: int, *, error: str | None = None) -> Verdict:
    return Verdict(
        judge="j",
        value=None if error else "Pass",
        decision=decision,
        usage=Usage(llm_calls=calls, seconds=1.25 * calls),
        error=error,
    )


def test_the_share_the_checks_decided_counts_only_good_verdicts() -> None:
    verdicts = [
        _verdict("checks", 0),
        _verdict("checks", 0),
        _verdict("argmax", 1),
        _verdict(None, 2, error="ProviderError: down"),
    ]
    usage = verdict_usage(verdicts)
    assert usage["llm_calls"] == 3 and usage["seconds"] == 3.75
    assert usage["decided_by_checks"] == 2 and usage["judge_calls_saved"] == 2
    assert usage["share_decided_by_checks"] == round(2 / 3, 4)
    assert usage_line(usage) == (
        "3 model calls, 3.8 s; 2 verdicts (67%) decided by checks with no model call"
    )


def test_no_verdicts_and_no_checks() -> None:
    assert verdict_usage([])["share_decided_by_checks"] is None
    usage = verdict_usage([_verdict("argmax", 1)])
    assert usage["decided_by_checks"] == 0 and usage_line(usage) == "1 model call, 1.2 s"
    one = verdict_usage([_verdict("checks", 0), _verdict("argmax", 1)])
    assert usage_line(one).endswith("; 1 verdict (50%) decided by checks with no model call")
