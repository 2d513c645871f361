"""Usage metering: every model and embedding call of an operation adds to one ``Meter``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from memalign.records import Usage

# (model name, prompt tokens, completion tokens) -> USD, or None when the price is unknown.
Pricing = Callable[[str, int, int], float | None]


def flat_pricing(input_per_million: float, output_per_million: float) -> Pricing:
    """A fixed list price, e.g. to price a local model at a reference model's rate."""

    def price(_model: str, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * input_per_million + completion_tokens * output_per_million) / 1e6

    return price


class Meter:
    """A thread-safe running total of usage for one operation (a judge call, an alignment)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usage = Usage()

    def record_llm(self, prompt_tokens: int, completion_tokens: int, cost: float | None) -> None:
        with self._lock:
            self._usage.add(
                Usage(
                    llm_calls=1,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                    cost_usd=cost,
                )
            )

    def record_embedding(self, n_texts: int) -> None:
        with self._lock:
            self._usage.add(Usage(embed_calls=1, embedded_texts=n_texts))

    def merge(self, usage: Usage) -> None:
        with self._lock:
            self._usage.add(usage.model_copy(update={"seconds": 0.0}))

    @contextmanager
    def timed(self) -> Iterator[Meter]:
        start = time.perf_counter()
        try:
            yield self
        finally:
            with self._lock:
                self._usage.seconds += time.perf_counter() - start

    def snapshot(self) -> Usage:
        with self._lock:
            return self._usage.model_copy()
