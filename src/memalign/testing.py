"""Deterministic stand-ins for models, public so users can test their own judges offline.

- :class:`ScriptedLLM`: answers from a queue or a function of the request.
- :class:`HashEmbedder`: a bag-of-words hashing embedder (texts sharing words are similar).
- :class:`FakeLLM`: a rule-following fake for the whole loop (``--model fake`` in the CLI): as a
  reflection model it turns each feedback text into a guideline citing its record; as a judge it
  copies the label of the most similar example shown, or answers from a hash of the case.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Sequence

import numpy as np

from memalign.prompts.rendering import estimate_tokens
from memalign.providers import Completion, CompletionRequest

Script = Sequence[str | Completion] | Callable[[CompletionRequest], str | Completion]


def _prompt_tokens(request: CompletionRequest) -> int:
    return sum(estimate_tokens(m.content) for m in request.messages)


class ScriptedLLM:
    """Replays ``script``: a list consumed in order, or a function called per request.
    Every request is kept in ``requests`` for assertions."""

    def __init__(self, script: Script, *, name: str = "scripted") -> None:
        self.name = name
        self._script = script
        self._queue = list(script) if not callable(script) else []
        self.requests: list[CompletionRequest] = []
        self._lock = threading.Lock()

    @property
    def calls(self) -> int:
        return len(self.requests)

    def complete(self, request: CompletionRequest) -> Completion:
        with self._lock:
            self.requests.append(request)
            if not callable(self._script):
                if not self._queue:
                    raise AssertionError("ScriptedLLM ran out of scripted answers")
                answer = self._queue.pop(0)
        if callable(self._script):
            # Outside the lock, so a script that sleeps stands in for a concurrent provider.
            answer = self._script(request)
        if isinstance(answer, Completion):
            return answer
        return Completion(
            text=answer,
            prompt_tokens=_prompt_tokens(request),
            completion_tokens=estimate_tokens(answer),
            model=self.name,
        )


class HashEmbedder:
    """Feature hashing of lower-cased words into ``dim`` signed buckets; deterministic across
    processes and platforms."""

    def __init__(self, dim: int = 256, *, name: str = "hash") -> None:
        self.dim = dim
        self.name = name
        self.calls = 0
        self.texts = 0

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        self.texts += len(texts)
        out = []
        for text in texts:
            vector = np.zeros(self.dim, dtype=np.float32)
            for word in re.findall(r"[a-z0-9]+", text.casefold()):
                digest = hashlib.sha256(word.encode()).digest()
                index = int.from_bytes(digest[:4], "little") % self.dim
                vector[index] += 1.0 if digest[4] % 2 else -1.0
            if not vector.any():
                vector[0] = 1.0
            out.append(vector.tolist())
        return out


_ITEM = re.compile(r'<item id="([^"]+)">(.*?)</item>', re.DOTALL)
_FEEDBACK = re.compile(r"^Expert feedback: (.+)$", re.MULTILINE)
_LABEL = re.compile(r"^Expert label: (.+)$", re.MULTILINE)
_EXAMPLE = re.compile(r"^Example \d+ \[[^\]]*\]:$", re.MULTILINE)
_CASE_MARK = "Case to judge."
_BOUNDARY = re.compile(r"data-[0-9a-f]{16}")
_PAIR = re.compile(r"^Pair (\d+):\nOLD: .*\nNEW: (.*)$", re.MULTILINE)


class FakeLLM:
    """A deterministic model that plays every role well enough to exercise the full loop."""

    def __init__(self, *, name: str = "fake") -> None:
        self.name = name
        self.calls = 0
        self._lock = threading.Lock()

    def complete(self, request: CompletionRequest) -> Completion:
        with self._lock:
            self.calls += 1
        prompt = "\n".join(m.content for m in request.messages)
        if request.purpose in ("distill", "redistill"):
            text = self._reflect(prompt, request.purpose == "redistill")
        elif request.purpose == "consolidate":
            decisions = [
                {"pair": int(n), "decision": "same", "text": new}
                for n, new in _PAIR.findall(prompt)
            ]
            text = json.dumps({"decisions": decisions})
        else:
            text = self._judge(request)
        return Completion(
            text=text,
            prompt_tokens=_prompt_tokens(request),
            completion_tokens=estimate_tokens(text),
            model=self.name,
        )

    @staticmethod
    def _reflect(prompt: str, single: bool) -> str:
        guidelines = []
        for record_id, body in _ITEM.findall(prompt):
            feedback = _FEEDBACK.search(body)
            if feedback:
                guidelines.append({"text": feedback.group(1).strip(), "sources": [record_id]})
        if single and guidelines:
            guidelines = [
                {"text": guidelines[0]["text"], "sources": [g["sources"][0] for g in guidelines]}
            ]
        return json.dumps({"guidelines": guidelines})

    @staticmethod
    def _nearest_label(user: str, case: str) -> str | None:
        """The expert label of the shown example that shares the most words with the case."""
        words = set(re.findall(r"[a-z0-9]+", case.casefold()))
        best, best_overlap = None, -1.0
        for block in _EXAMPLE.split(user[: user.rfind(_CASE_MARK)])[1:]:
            label = _LABEL.search(block)
            if not label:
                continue
            theirs = set(re.findall(r"[a-z0-9]+", block.casefold()))
            overlap = len(words & theirs) / max(1, len(words | theirs))
            if overlap > best_overlap:
                best, best_overlap = label.group(1).strip(), overlap
        return best

    @classmethod
    def _judge(cls, request: CompletionRequest) -> str:
        user = request.messages[-1].content if request.messages else ""
        schema = (request.schema or {}).get("properties", {}).get("value", {})
        choices = [str(c) for c in schema.get("enum", [])]
        # The delimited case, its per-call random boundary renamed so the fake stays
        # deterministic.
        section = user[user.rfind(_CASE_MARK) :]
        case = _BOUNDARY.sub("case", section[section.find("\n") + 1 :])
        label = cls._nearest_label(user, case)
        digest = int(hashlib.sha256(case.encode()).hexdigest(), 16)
        value: object
        if label and (not choices or label in choices):
            value, why = label, "like the most similar example"
        elif choices:
            value, why = choices[digest % len(choices)], "no similar example"
        else:
            value, why = round((digest % 1000) / 1000, 3), "no similar example"
        if isinstance(value, str) and schema.get("type") == "integer":
            value = int(value)
        return json.dumps({"rationale": f"Fake judge: {why}.", "value": value})
