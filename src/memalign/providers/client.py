"""The core around an LLM provider: retries with backoff, a concurrency limit, and metering."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from memalign.accounting import Meter, Pricing
from memalign.errors import ProviderError
from memalign.providers.base import Completion, CompletionRequest, LLMProvider


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        backoff = self.base_delay * (2 ** (attempt - 1))
        return float(min(backoff * (0.5 + random.random() / 2), self.max_delay))


class ModelClient:
    """Wraps one provider for one role (judge or reflection)."""

    def __init__(
        self,
        provider: LLMProvider,
        *,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 4,
        pricing: Pricing | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.provider = provider
        self.retry = retry or RetryPolicy()
        self.pricing = pricing
        self.max_concurrency = max(1, max_concurrency)
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        self._sleep = sleep

    @property
    def name(self) -> str:
        return self.provider.name

    def complete(self, request: CompletionRequest, meter: Meter | None = None) -> Completion:
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._slots:
                    completion = self.provider.complete(request)
            except ProviderError as exc:
                if not exc.retryable or attempt >= self.retry.max_attempts:
                    raise
                self._sleep(self.retry.delay(attempt, exc.retry_after))
                continue
            if meter is not None:
                cost = completion.cost_usd
                if cost is None and self.pricing is not None:
                    cost = self.pricing(
                        completion.model or self.provider.name,
                        completion.prompt_tokens,
                        completion.completion_tokens,
                    )
                meter.record_llm(completion.prompt_tokens, completion.completion_tokens, cost)
            return completion
