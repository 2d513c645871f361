"""Cost per call from a maintained price library (``genai-prices``), never a hand-kept table.

Local models cost nothing, but can be priced at a reference model's list price so local runs
can be compared with API runs (``reference="openai/gpt-4.1-mini"``)."""

from __future__ import annotations

from functools import cache

from memalign.accounting import Pricing

# Provider ids that genai-prices knows under a different name than our model prefixes.
_PROVIDER_IDS = {"openai": "openai", "azure": "azure", "anthropic": "anthropic"}


def _zero(_model: str, _prompt: int, _completion: int) -> float:
    return 0.0


@cache
def genai_pricing(provider_id: str | None, model_ref: str | None = None) -> Pricing:
    """Prices ``model_ref`` (or the model each call reports) with genai-prices; None when the
    library does not know the model, so unknown cost is never reported as zero."""

    def price(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        try:
            from genai_prices import Usage, calc_price
        except ImportError:
            return None
        try:
            result = calc_price(
                Usage(input_tokens=prompt_tokens, output_tokens=completion_tokens),
                model_ref=model_ref or model,
                provider_id=provider_id,
            )
        except LookupError:
            return None
        return float(result.total_price)

    return price


def pricing_for(model_spec: str, reference: str | None = None) -> Pricing:
    """Pricing for a model spec such as ``openai/gpt-4.1-mini``, ``local`` or ``fake``."""
    prefix, _, name = model_spec.partition("/")
    if prefix in ("local", "fake") or model_spec.startswith(("local:", "http://", "https://")):
        if reference is None:
            return _zero
        ref_prefix, _, ref_name = reference.partition("/")
        return genai_pricing(_PROVIDER_IDS.get(ref_prefix), ref_name or ref_prefix)
    if prefix in _PROVIDER_IDS and name:
        return genai_pricing(_PROVIDER_IDS[prefix])
    return genai_pricing(None)
