from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from memalign import Feedback, Judge, JudgeSpec, Labels, open_store
from memalign.stores import MemoryStore
from memalign.testing import FakeLLM, HashEmbedder


@pytest.fixture
def store(tmp_path: Path) -> MemoryStore:
    return open_store(tmp_path / "memory.db")


@pytest.fixture
def spec() -> JudgeSpec:
    return JudgeSpec(
        name="support_reply",
        instructions="Does the reply in {{ outputs }} follow our support policy for {{ inputs }}?",
        output=Labels(("Pass", "Fail")),
    )


@pytest.fixture
def make_judge(store: MemoryStore, spec: JudgeSpec) -> Callable[..., Judge]:
    def make(s: JudgeSpec | None = None, **models: object) -> Judge:
        models.setdefault("llm", FakeLLM())
        models.setdefault("embedder", HashEmbedder())
        return Judge.create(store, s or spec, **models)  # type: ignore[arg-type]

    return make


def feedback_batch() -> list[Feedback]:
    return [
        Feedback(
            id="r1",
            inputs="I was charged twice for my order",
            outputs="The duplicate charge will be refunded in 5 days.",
            label="fail",
            feedback="Replies must open with an apology before explaining the fix.",
            annotator="ann",
        ),
        Feedback(
            id="r2",
            inputs="Where is my parcel?",
            outputs="Sorry for the wait! Ticket #4411: your parcel ships tomorrow.",
            label="Pass",
            feedback="Quoting the ticket number is what we want in every reply.",
            annotator="bob",
        ),
        Feedback(
            id="r3",
            inputs="Can I pay with a voucher?",
            outputs="Yes, unlike CompetitorCo we accept vouchers.",
            label="FAIL",
            annotator="ann",
        ),
    ]


from .scripted_http import server  # noqa: E402, F401  (a fixture for every test package)
