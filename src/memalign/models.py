"""From a model string to a provider or embedder: the only place that imports adapters.

Model strings: ``fake`` · ``local`` (= ``local:1.5b``) · ``local:0.5b`` · ``local:/path.gguf`` ·
``openai/<model>`` · ``azure/<deployment>`` · ``anthropic/<model>`` · ``litellm/<model>`` ·
``ollama/<model>`` · ``http(s)://host:port/v1#<model>`` (any OpenAI-compatible server).
Embedders: ``hash`` · ``local`` (MiniLM) · ``openai/<model>`` · ``http(s)://…#<model>``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from memalign.embedders import Embedder, EmbeddingClient
from memalign.errors import SpecError
from memalign.judge_spec import JudgeSpec
from memalign.providers import Completion, CompletionRequest, LLMProvider, ModelClient
from memalign.providers.pricing import pricing_for

T = TypeVar("T")


class _Deferred(Generic[T]):
    """An adapter built on first use. Loading a local model (weights, onnxruntime) costs
    seconds and needs the model extras; commands that only read or delete memory must work
    without them, so nothing is built until a call needs it."""

    def __init__(self, spec: str, build: Callable[[], T]) -> None:
        self.spec = spec
        self._build = build
        self._built: T | None = None
        self._lock = threading.Lock()

    def adapter(self) -> T:
        with self._lock:
            if self._built is None:
                self._built = self._build()
            return self._built

    @property
    def name(self) -> str:
        # Before the first call the model string names it; afterwards the adapter does.
        return str(getattr(self._built, "name", self.spec)) if self._built else self.spec


class DeferredProvider(_Deferred[LLMProvider]):
    def complete(self, request: CompletionRequest) -> Completion:
        return self.adapter().complete(request)


class DeferredEmbedder(_Deferred[Embedder]):
    def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        return self.adapter().embed(texts)


def _url(spec: str) -> tuple[str, str]:
    base, _, model = spec.partition("#")
    return base, model or "default"


def get_provider(spec: str, *, timeout: float = 60.0) -> LLMProvider:
    if spec == "fake":
        from memalign.testing import FakeLLM

        return FakeLLM()
    if spec == "local" or spec.startswith("local:"):
        from memalign.providers.local.llamacpp import LlamaCppProvider

        return LlamaCppProvider(spec.partition(":")[2] or "1.5b")
    if spec.startswith(("http://", "https://")):
        from memalign.providers.openai_compat import OpenAICompatible

        base, model = _url(spec)
        return OpenAICompatible(
            model, base_url=base, api_key_env="MEMALIGN_API_KEY", timeout=timeout
        )
    prefix, _, name = spec.partition("/")
    if not name:
        raise SpecError(f"unknown model {spec!r}; see memalign.models for the forms")
    if prefix in ("openai", "azure", "ollama"):
        from memalign.providers.openai_compat import OpenAICompatible

        if prefix == "ollama":
            return OpenAICompatible(name, base_url="http://localhost:11434/v1", timeout=timeout)
        return OpenAICompatible(name, azure=prefix == "azure", timeout=timeout)
    if prefix == "anthropic":
        from memalign.providers.anthropic import AnthropicProvider

        return AnthropicProvider(name, timeout=timeout)
    if prefix == "litellm":
        from memalign.providers.litellm import LiteLLMProvider

        return LiteLLMProvider(name, timeout=timeout)
    raise SpecError(f"unknown model provider {prefix!r} in {spec!r}")


def default_embedder(model: str) -> str:
    """The embedder a judge gets when none is named: it follows the model setting."""
    return "hash" if model == "fake" else "local"


def check_model_string(spec: str) -> None:
    """Refuse a model string no adapter reads (at once, not at the first judge call)."""
    if spec in ("fake", "local") or spec.startswith(("local:", "http://", "https://")):
        return
    prefix, _, name = spec.partition("/")
    if not name or prefix not in ("openai", "azure", "ollama", "anthropic", "litellm"):
        raise SpecError(f"unknown model {spec!r}; see memalign.models for the forms")


def check_embedder_string(spec: str) -> None:
    """Refuse an embedder string no adapter reads."""
    if spec in ("hash", "local", "minilm") or spec.startswith(("http://", "https://")):
        return
    prefix, _, name = spec.partition("/")
    if prefix != "openai" or not name:
        raise SpecError(
            f"unknown embedder {spec!r}; use hash, local, openai/<model> or a URL#model"
        )


def check_spec_models(spec: JudgeSpec) -> None:
    """A judge stores its model strings; one no adapter reads would only fail later, in every
    command that loads the judge."""
    for named in (spec.model, spec.reflection_model):
        if named is not None:
            check_model_string(named)
    if spec.embedder is not None:
        check_embedder_string(spec.embedder)


def get_embedder(spec: str) -> Embedder:
    check_embedder_string(spec)
    if spec == "hash":
        from memalign.testing import HashEmbedder

        return HashEmbedder()
    if spec in ("local", "minilm"):
        from memalign.embedders.onnx_minilm import MiniLMEmbedder

        return MiniLMEmbedder()
    from memalign.embedders.openai_compat import OpenAIEmbedder

    if spec.startswith(("http://", "https://")):
        base, model = _url(spec)
        return OpenAIEmbedder(model, base_url=base, api_key_env="MEMALIGN_API_KEY")
    prefix, _, name = spec.partition("/")
    if prefix == "openai" and name:
        return OpenAIEmbedder(name)
    raise SpecError(f"unknown embedder {spec!r}; use hash, local, openai/<model> or a URL#model")


@dataclass(frozen=True)
class Models:
    """The three roles a judge needs; pass as ``Judge(..., **models.as_kwargs())``."""

    llm: ModelClient
    reflection_llm: ModelClient
    embedder: EmbeddingClient

    def as_kwargs(self) -> dict[str, Any]:
        return {"llm": self.llm, "reflection_llm": self.reflection_llm, "embedder": self.embedder}


def build_models(
    model: str,
    *,
    reflection_model: str | None = None,
    embedder: str | None = None,
    reference_price: str | None = None,
    max_concurrency: int = 4,
    timeout: float = 60.0,
) -> Models:
    """Clients for each role. The reflection role shares the judge's provider unless named, and
    the embedder defaults to ``hash`` for the fake model and ``local`` otherwise. Adapters are
    built on first use (an unknown model string is refused at once).
    """
    for spec in (model, reflection_model):
        if spec is not None:
            check_model_string(spec)
    embedder_spec = embedder or default_embedder(model)
    judge = DeferredProvider(model, lambda: get_provider(model, timeout=timeout))
    reflection_spec = reflection_model or model
    reflection = (
        judge
        if reflection_spec == model
        else DeferredProvider(
            reflection_spec, lambda: get_provider(reflection_spec, timeout=timeout)
        )
    )
    return Models(
        llm=ModelClient(
            judge, max_concurrency=max_concurrency, pricing=pricing_for(model, reference_price)
        ),
        reflection_llm=ModelClient(
            reflection,
            max_concurrency=max_concurrency,
            pricing=pricing_for(reflection_spec, reference_price),
        ),
        embedder=EmbeddingClient(
            DeferredEmbedder(embedder_spec, lambda: get_embedder(embedder_spec))
        ),
    )
