from __future__ import annotations

from memalign.providers.http_status import from_status, retry_after


def test_retry_after_forms() -> None:
    assert retry_after({"Retry-After": "3"}) == 3.0
    assert retry_after({"retry-after-ms": "1500"}) == 1.5
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after({}) is None


def test_status_classes() -> None:
    assert from_status("p", 429, "x").retryable
    assert from_status("p", 503, "x").retryable
    assert not from_status("p", 401, "x").retryable
