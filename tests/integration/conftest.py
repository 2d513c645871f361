"""Integration tests run the real local models. They are marked ``integration``; the README's
test command runs them (deselect with ``-m "not integration"`` for a quick loop)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from memalign.embedders.onnx_minilm import MiniLMEmbedder
from memalign.providers.local.llamacpp import LlamaCppProvider


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def small_llm() -> Iterator[LlamaCppProvider]:
    yield LlamaCppProvider("0.5b", n_ctx=4096, rationale_tokens=24)


@pytest.fixture(scope="session")
def default_llm() -> Iterator[LlamaCppProvider]:
    yield LlamaCppProvider("1.5b", n_ctx=4096, rationale_tokens=0)


@pytest.fixture(scope="session")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder()
