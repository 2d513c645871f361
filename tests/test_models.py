from __future__ import annotations

import pytest

from memalign import SpecError
from memalign.models import build_models, get_embedder, get_provider
from memalign.providers.openai_compat import OpenAICompatible
from memalign.providers.pricing import pricing_for
from memalign.testing import FakeLLM, HashEmbedder


def test_one_string_switches_models(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(get_provider("fake"), FakeLLM)
    assert isinstance(get_embedder("hash"), HashEmbedder)
    server = get_provider("http://127.0.0.1:8080/v1#qwen")
    assert isinstance(server, OpenAICompatible) and server.model == "qwen"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert get_provider("openai/gpt-4.1-mini").name == "gpt-4.1-mini"
    with pytest.raises(SpecError):
        get_provider("nonsense")
    with pytest.raises(SpecError):
        get_provider("mystery/model")


def test_build_models_defaults_the_fake_to_the_hash_embedder() -> None:
    models = build_models("fake")
    assert isinstance(models.embedder.embedder, HashEmbedder)
    assert models.reflection_llm.provider is models.llm.provider


def test_prices_come_from_genai_prices_and_local_is_free_unless_referenced() -> None:
    api = pricing_for("openai/gpt-4.1-mini")(("gpt-4.1-mini"), 1_000_000, 1_000_000)
    assert api == pytest.approx(0.40 + 1.60)
    assert pricing_for("local")("local/qwen", 1000, 1000) == 0.0
    reference = pricing_for("local", "openai/gpt-4.1-mini")("local/qwen", 1_000_000, 0)
    assert reference == pytest.approx(0.40)
    assert pricing_for("openai/no-such-model-xyz")("no-such-model-xyz", 10, 10) is None
