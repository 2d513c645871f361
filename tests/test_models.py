from __future__ import annotations

import pytest

import memalign.models as models_module
from memalign import SpecError
from memalign.models import DeferredEmbedder, build_models, get_embedder, get_provider
from memalign.providers import CompletionRequest, Message
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
    embedder = models.embedder.embedder
    assert isinstance(embedder, DeferredEmbedder)
    assert isinstance(embedder.adapter(), HashEmbedder)
    assert models.reflection_llm.provider is models.llm.provider


def test_adapters_are_built_on_first_use_and_model_strings_checked_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[str] = []

    def recording(spec: str, **_: object) -> FakeLLM:
        built.append(spec)
        return FakeLLM()

    monkeypatch.setattr(models_module, "get_provider", recording)
    models = build_models("local", embedder="hash")
    assert built == []  # reading or deleting memory needs no model loaded
    assert models.llm.provider.name == "local"
    models.llm.provider.complete(CompletionRequest(messages=(Message("user", "hi"),)))
    assert built == ["local"]
    with pytest.raises(SpecError):
        build_models("mystery/model")


def test_prices_come_from_genai_prices_and_local_is_free_unless_referenced() -> None:
    api = pricing_for("openai/gpt-4.1-mini")(("gpt-4.1-mini"), 1_000_000, 1_000_000)
    assert api == pytest.approx(0.40 + 1.60)
    assert pricing_for("local")("local/qwen", 1000, 1000) == 0.0
    reference = pricing_for("local", "openai/gpt-4.1-mini")("local/qwen", 1_000_000, 0)
    assert reference == pytest.approx(0.40)
    assert pricing_for("openai/no-such-model-xyz")("no-such-model-xyz", 10, 10) is None
