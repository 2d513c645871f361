"""The LLM plug point: a provider implements one method, ``complete``.

Retries, parsing, probability read-out, caching and cost accounting live once in the core
(:mod:`memalign.providers.client`), not in each adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]
Purpose = Literal["judge", "distill", "consolidate", "redistill", "other"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class CompletionRequest:
    messages: tuple[Message, ...]
    # JSON schema the answer must follow; adapters use the provider's structured-output mode when
    # it has one and otherwise ignore it (the core parses and validates either way).
    schema: Mapping[str, Any] | None = None
    # When set, adapters that can read token probabilities return P(choice) for each choice as
    # the first thing the model would write after the prompt (see ``Completion.choice_probs``).
    choices: tuple[str, ...] | None = None
    max_tokens: int = 400
    # False when only the value matters (internal scoring passes): adapters that read
    # probabilities may then skip generating a rationale.
    rationale: bool = True
    temperature: float = 0.0
    # Why the core is calling: used for metering per role and by the deterministic fakes.
    purpose: Purpose = "other"
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    choice_probs: Mapping[str, float] | None = None
    cost_usd: float | None = None
    model: str = ""


@runtime_checkable
class LLMProvider(Protocol):
    """Anything that turns messages into text. ``name`` identifies the model for pricing/logs."""

    @property
    def name(self) -> str: ...

    def complete(self, request: CompletionRequest) -> Completion: ...
