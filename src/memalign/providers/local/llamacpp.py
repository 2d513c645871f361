"""The embedded local model: llama.cpp in-process via ``llama-cpp-python``.

Verdicts are read from token probabilities, not from sampled text: the prompt ends with the
start of a JSON answer (``{"value": "``) and one forward pass gives P(first token) for every
choice (multi-token choices are scored by their full sequence). A short rationale is then
generated with a hard token bound. Prompts are laid out so consecutive calls share a prefix;
the KV cache of the common prefix is reused instead of recomputed.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memalign.errors import DependencyError, ProviderError
from memalign.providers.base import Completion, CompletionRequest, Message
from memalign.providers.local.build import check_installed_llama_build
from memalign.providers.local.models import LOCAL_MODELS, ensure_model

_MODELS: dict[tuple[str, int], Any] = {}
_MODELS_LOCK = threading.Lock()
_CHATML_FALLBACK = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def grammar_schema(schema: Any) -> Any:
    """``schema`` with every string enum that llama-cpp-python's grammar converter mishandles
    left free (the caller checks the answer anyway). Measured on 0.3.36: a value with a quote
    gives a grammar llama.cpp cannot parse, and the process dies (SIGSEGV); a backslash or a
    control character is emitted raw, which is not valid JSON."""
    if isinstance(schema, list):
        return [grammar_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    safe: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            # Property names are data, not keywords: a property may be called "enum".
            safe[key] = {name: grammar_schema(sub) for name, sub in value.items()}
        elif key != "enum":
            safe[key] = grammar_schema(value)
        elif not any(isinstance(v, str) and _unsafe(v) for v in value):
            safe[key] = value
    return safe


def _unsafe(value: str) -> bool:
    return any(c in '"\\' or not c.isprintable() for c in value)


def _load(path: Path, n_ctx: int) -> Any:
    """One loaded model per file and context size, shared by every role that uses it."""
    try:
        from llama_cpp import Llama
    except ImportError:
        raise DependencyError(
            "llama-cpp-python", "pip install 'memalign[local]' (compiles llama.cpp, ~5 min)"
        ) from None
    key = (str(path), n_ctx)
    with _MODELS_LOCK:
        if key not in _MODELS:
            check_installed_llama_build()  # a clear error, not a segfault in the first decode
            _MODELS[key] = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=os.cpu_count() or 2,
                n_batch=512,
                logits_all=False,
                verbose=False,
            )
        return _MODELS[key]


@atexit.register
def _close_models() -> None:
    # Close before interpreter teardown: llama-cpp-python's __del__ fails once modules are gone.
    with _MODELS_LOCK:
        for model in _MODELS.values():
            model.close()
        _MODELS.clear()


class LlamaCppProvider:
    """``model`` is ``1.5b`` / ``0.5b`` (the shipped defaults) or a path to a GGUF file."""

    def __init__(self, model: str = "1.5b", *, n_ctx: int = 8192, rationale_tokens: int = 24):
        if model in LOCAL_MODELS:
            path = ensure_model(LOCAL_MODELS[model])
            self.name = f"local/qwen2.5-coder-{model}-instruct-q4_k_m"
        else:
            path = Path(model)
            if not path.is_file():
                raise ProviderError(f"no GGUF file at {path}", provider="local")
            self.name = f"local/{path.stem}"
        self.path = path
        self.rationale_tokens = rationale_tokens
        self._llm = _load(path, n_ctx)
        self._lock = threading.Lock()
        self._format = self._formatter()

    def _formatter(self) -> Any:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        metadata = self._llm.metadata
        template = metadata.get("tokenizer.chat_template") or _CHATML_FALLBACK

        def token_text(key: str) -> str:
            token_id = metadata.get(key)
            if token_id is None:
                return ""
            return bytes(self._llm.detokenize([int(token_id)])).decode("utf-8", "ignore")

        return Jinja2ChatFormatter(
            template=template,
            eos_token=token_text("tokenizer.ggml.eos_token_id"),
            bos_token=token_text("tokenizer.ggml.bos_token_id"),
        )

    def prompt_text(self, messages: Sequence[Message]) -> str:
        formatted = self._format(
            messages=[{"role": m.role, "content": m.content} for m in messages]
        )
        return str(formatted.prompt)

    def _tokens(self, text: str) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _prefill(self, tokens: list[int]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Evaluate ``tokens`` reusing the cached common prefix; log-softmax of the next token."""
        llm = self._llm
        common = 0
        for cached, new in zip(llm._input_ids.tolist(), tokens, strict=False):
            if cached != new:
                break
            common += 1
        common = min(common, len(tokens) - 1)  # always evaluate one token to get fresh logits
        llm.n_tokens = common
        llm.eval(tokens[common:])
        import llama_cpp

        logits = np.ctypeslib.as_array(
            llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),)
        ).astype(np.float32)
        shifted = logits - logits.max()
        result: np.ndarray[Any, np.dtype[np.float32]] = shifted - np.float32(
            math.log(float(np.exp(shifted).sum()))
        )
        return result

    def choice_probs(self, prompt: str, choices: Sequence[str]) -> tuple[dict[str, float], int]:
        prefix = self._tokens(prompt)
        first = self._prefill(prefix)
        scores: dict[str, float] = {}
        for choice in choices:
            full = self._tokens(prompt + choice)
            rest = full[len(prefix) :] if full[: len(prefix)] == prefix else self._tokens(choice)
            logprob = float(first[rest[0]])
            if len(rest) > 1:
                self._llm.n_tokens = len(prefix)
                for position, token in enumerate(rest[1:]):
                    step = self._prefill([*prefix, *rest[: position + 1]])
                    logprob += float(step[token])
            scores[choice] = logprob
        top = max(scores.values())
        weights = {c: math.exp(v - top) for c, v in scores.items()}
        total = sum(weights.values())
        return {c: w / total for c, w in weights.items()}, len(prefix)

    def _generate(
        self, prompt: str, max_tokens: int, schema: Any = None, stop: list[str] | None = None
    ) -> tuple[str, int, int]:
        grammar = None
        if schema is not None:
            from llama_cpp.llama_grammar import LlamaGrammar

            grammar = LlamaGrammar.from_json_schema(
                json.dumps(grammar_schema(schema)), verbose=False
            )
        out = self._llm.create_completion(
            prompt=prompt,
            max_tokens=max_tokens,
            temperature=0.0,
            grammar=grammar,
            stop=stop,
        )
        usage = out.get("usage", {})
        return (
            str(out["choices"][0]["text"]),
            int(usage.get("prompt_tokens", 0)),
            int(usage.get("completion_tokens", 0)),
        )

    def complete(self, request: CompletionRequest) -> Completion:
        prompt = self.prompt_text(request.messages)
        with self._lock:
            try:
                if request.choices:
                    return self._verdict(prompt, request.choices, request.rationale)
                text, used_in, used_out = self._generate(prompt, request.max_tokens, request.schema)
            except ValueError as exc:  # llama-cpp raises ValueError for context overflow
                raise ProviderError(str(exc), provider=self.name) from None
        return Completion(
            text=text, prompt_tokens=used_in, completion_tokens=used_out, model=self.name
        )

    def _verdict(self, prompt: str, choices: tuple[str, ...], rationale: bool) -> Completion:
        head = prompt + '{"value": "'
        probs, prompt_tokens = self.choice_probs(head, choices)
        value = max(choices, key=lambda c: probs[c])
        why, completion_tokens = "", 1
        if rationale and self.rationale_tokens > 0:
            why, _, generated = self._generate(
                head + value + '", "rationale": "', self.rationale_tokens, stop=['"', "\n"]
            )
            completion_tokens += generated
        text = json.dumps({"value": value, "rationale": why.strip()})
        return Completion(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            choice_probs=probs,
            model=self.name,
        )
