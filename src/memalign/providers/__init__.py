"""LLM providers: the ``LLMProvider`` plug point and ``ModelClient``, the one place that
adds retries, concurrency limits, probability read-out and cost metering around it.

Adapters (``openai_compat``, ``anthropic``, ``litellm``, ``local``) import their SDK inside
themselves, with an install hint; :mod:`memalign.models` picks one from a model string.
"""

from memalign.providers.base import Completion, CompletionRequest, LLMProvider, Message, Purpose
from memalign.providers.client import ModelClient, RetryPolicy

__all__ = [
    "Completion",
    "CompletionRequest",
    "LLMProvider",
    "Message",
    "ModelClient",
    "Purpose",
    "RetryPolicy",
]
