from __future__ import annotations

import pytest

from memalign import ProviderError
from memalign.accounting import Meter, flat_pricing
from memalign.providers import Completion, CompletionRequest, Message
from memalign.providers.client import ModelClient, RetryPolicy

REQUEST = CompletionRequest(messages=(Message("user", "hi"),))


class Flaky:
    name = "flaky"

    def __init__(self, failures: list[ProviderError]) -> None:
        self.failures = failures
        self.calls = 0

    def complete(self, request: CompletionRequest) -> Completion:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return Completion(text="ok", prompt_tokens=1000, completion_tokens=100)


def test_retries_honour_retry_after_then_meter_one_success() -> None:
    slept: list[float] = []
    provider = Flaky(
        [
            ProviderError("429", status=429, retryable=True, retry_after=2.5),
            ProviderError("503", status=503, retryable=True),
        ]
    )
    client = ModelClient(provider, sleep=slept.append, pricing=flat_pricing(0.40, 1.60))
    meter = Meter()
    assert client.complete(REQUEST, meter).text == "ok"
    assert provider.calls == 3 and slept[0] == 2.5 and len(slept) == 2
    usage = meter.snapshot()
    assert usage.llm_calls == 1 and usage.prompt_tokens == 1000
    assert usage.cost_usd == pytest.approx((1000 * 0.40 + 100 * 1.60) / 1e6)


def test_non_retryable_errors_and_exhausted_retries_raise() -> None:
    provider = Flaky([ProviderError("400", status=400)])
    with pytest.raises(ProviderError):
        ModelClient(provider, sleep=lambda _: None).complete(REQUEST)
    assert provider.calls == 1
    always = Flaky([ProviderError("503", retryable=True) for _ in range(10)])
    with pytest.raises(ProviderError):
        ModelClient(always, retry=RetryPolicy(max_attempts=3), sleep=lambda _: None).complete(
            REQUEST
        )
    assert always.calls == 3
