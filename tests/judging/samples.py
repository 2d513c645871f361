"""Labelled records whose embeddings separate the labels: the word "unsafe" marks Fail."""

from __future__ import annotations

from memalign import Feedback

WORDS = ["alpha", "bravo", "delta", "echo", "golf", "hotel", "india", "kilo", "lima", "mike"]


def separable_records(n: int = 40) -> list[Feedback]:
    return [
        Feedback(id=f"r{i}", outputs=f"{WORDS[i % 10]} {'unsafe' if i % 2 else 'tidy'}",
                 label="Fail" if i % 2 else "Pass")
        for i in range(n)
    ]  # fmt: skip
