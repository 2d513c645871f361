"""Labelled records whose embeddings separate the labels (the word "unsafe" marks Fail), and a
model that cannot tell them apart."""

from __future__ import annotations

from memalign import Feedback
from memalign.providers import Completion, CompletionRequest
from memalign.testing import FakeLLM, ScriptedLLM

WORDS = ["alpha", "bravo", "delta", "echo", "golf", "hotel", "india", "kilo", "lima", "mike"]


def separable_records(n: int = 40) -> list[Feedback]:
    return [
        Feedback(id=f"r{i}", outputs=f"{WORDS[i % 10]} {'unsafe' if i % 2 else 'tidy'}",
                 label="Fail" if i % 2 else "Pass")
        for i in range(n)
    ]  # fmt: skip


def unsure_llm(first: str = "Pass", second: str = "Fail") -> ScriptedLLM:
    """A model with no idea of the rule: every judge call answers ``first`` at even odds
    (0.55 against 0.45); every other role is played by the fake model."""

    def answer(request: CompletionRequest) -> Completion | str:
        if request.purpose != "judge":
            return FakeLLM().complete(request)
        return Completion(text=f'{{"rationale": "unsure", "value": "{first}"}}',
                          choice_probs={first: 0.55, second: 0.45})  # fmt: skip

    return ScriptedLLM(answer)
