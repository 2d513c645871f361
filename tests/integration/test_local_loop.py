"""The whole loop on the real local models: plumbing on the 0.5B, behaviour on the 1.5B."""

from __future__ import annotations

import numpy as np

from memalign import Feedback, Judge, JudgeSpec, Labels, Scale, open_store
from memalign.embedders.client import EmbeddingClient
from memalign.embedders.onnx_minilm import MiniLMEmbedder
from memalign.evaluation.metrics import auc
from memalign.providers import CompletionRequest, Message
from memalign.providers.local.llamacpp import LlamaCppProvider
from memalign.testing import HashEmbedder

SPEC = JudgeSpec(
    name="reply",
    instructions="Does this customer-support reply in {{ outputs }} meet our support policy?",
    output=Labels(("Pass", "Fail")),
)


def test_minilm_embeds_meaning(minilm: MiniLMEmbedder) -> None:
    vectors = EmbeddingClient(minilm).embed(
        ["The refund was issued today.", "We sent your money back today.", "SQL join on orders"]
    )
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2] + 0.2


def test_minilm_reads_a_long_text_whole(minilm: MiniLMEmbedder) -> None:
    # Past the model's 256 word pieces: a rule broken at the end of a long file still moves
    # its vector (truncated, the two would embed identically).
    body = "\n".join(f"def step_{i}(value):\n    return value + {i}" for i in range(60))
    clean, broken = body + "\n", body + "\ntry:\n    run()\nexcept:\n    print('failed')\n"
    vectors = EmbeddingClient(minilm).embed([clean, broken, "short text"])
    assert float(vectors[0] @ vectors[1]) < 0.9999
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Within 256 word pieces a text embeds alone exactly as in a batch with long ones.
    alone = EmbeddingClient(minilm).embed(["short text"])
    assert np.allclose(alone[0], vectors[2], atol=1e-5)


def test_align_and_judge_end_to_end_on_the_small_model(
    small_llm: LlamaCppProvider, minilm: MiniLMEmbedder
) -> None:
    judge = Judge.create(open_store(":memory:"), SPEC, llm=small_llm, embedder=minilm)
    report = judge.align(
        [
            Feedback(
                id="a",
                inputs="refund?",
                outputs="Your refund is on its way.",
                label="Fail",
                feedback="Every reply must quote the ticket number, like #1234.",
            ),
            Feedback(
                id="b",
                inputs="late parcel",
                outputs="Ticket #2201: it ships today.",
                label="Pass",
                feedback="Quotes the ticket number, as required.",
            ),
        ]
    )
    assert report.records_added == 2 and report.examples_added == 2
    # 2 disagreement checks and the distillation: no second (calibration) pass by default.
    assert 3 <= report.usage.llm_calls <= 4
    verdict = judge.judge(inputs="refund?", outputs="Ticket #9: refund sent.")
    assert verdict.ok and verdict.value in ("Pass", "Fail")
    assert verdict.probabilities is not None
    assert abs(sum(verdict.probabilities.values()) - 1.0) < 1e-6
    assert set(verdict.example_ids) == {"a", "b"}
    assert [h.operation for h in judge.history()] == ["align"]
    # The threshold's evidence is what the judge said on arrival, probabilities included.
    assert all(e.judge_probs for e in judge.examples())
    assert verdict.memory_version == report.memory_version == 1
    assert verdict.usage.llm_calls == 1


def test_scales_read_an_expected_score(small_llm: LlamaCppProvider) -> None:
    spec = JudgeSpec(
        name="score", instructions="Rate the politeness of {{ outputs }}.", output=Scale(1, 5)
    )
    judge = Judge.create(open_store(":memory:"), spec, llm=small_llm, embedder=HashEmbedder())
    verdict = judge.judge(inputs="hi", outputs="Thank you so much, dear customer!")
    assert verdict.value in range(1, 6)
    assert verdict.probabilities is not None and set(verdict.probabilities) == set("12345")


def _auc(positives: list[float], negatives: list[float]) -> float:
    return auc([*positives, *negatives], [True] * len(positives) + [False] * len(negatives))


# Minimal pairs: the same reply with and without an emoji. A generic judge barely tells them
# apart; the house rule below is one a small model can check, so the shift is far larger than
# the numeric noise between CPUs (an earlier version of this test, a ticket-number rule, moved
# P(Pass) by ~0.05 and flipped on another machine's llama.cpp build).
REPLIES = [
    "Sorry for the trouble! Your refund was issued today.",
    "Thanks for waiting. The replacement ships this week.",
    "Apologies for the double charge; we have reversed it.",
    "We are sorry about the delay; a courier is booked.",
    "Thanks, your address has been updated.",
    "The invoice you asked for is attached.",
]
GOOD = REPLIES
BAD = [reply + " \N{SMILING FACE WITH SMILING EYES}" for reply in REPLIES]


def test_a_learned_rule_moves_the_default_models_probabilities(
    default_llm: LlamaCppProvider,
) -> None:
    """Measured (2-core AMD EPYC): AUC of P(Pass) 1.00 with the rule; without it 0.53, 0.67 and
    0.81 on three runs of the same code (llama.cpp's CPU sums are not bit-stable under load), so
    the test asserts the separation the rule makes, not a rise over that noisy baseline. Mean
    P(Pass) gap between the pairs: 0.01-0.04 before, 0.23-0.26 after."""
    judge = Judge.create(
        open_store(":memory:"), SPEC, llm=default_llm, embedder=HashEmbedder(), use_cache=False
    )

    def p_pass(replies: list[str]) -> list[float]:
        verdicts = [judge.judge(inputs="customer complaint", outputs=r) for r in replies]
        return [v.probabilities["Pass"] for v in verdicts if v.probabilities]

    good, bad = p_pass(GOOD), p_pass(BAD)
    before_auc, before_gap = _auc(good, bad), float(np.mean(good) - np.mean(bad))
    judge.add_guideline("Replies must never contain emoji. A reply with any emoji fails.")
    good, bad = p_pass(GOOD), p_pass(BAD)
    after_auc, after_gap = _auc(good, bad), float(np.mean(good) - np.mean(bad))
    assert len(good) == len(bad) == len(REPLIES)
    assert after_auc >= 0.9, (before_auc, after_auc)
    assert after_gap > before_gap + 0.1, (before_gap, after_gap)


def test_a_quoted_record_id_in_the_answer_grammar_does_not_kill_the_process(
    small_llm: LlamaCppProvider,
) -> None:
    """llama-cpp-python 0.3.36 turns an enum value with a quote into a grammar llama.cpp cannot
    parse, and the process died (SIGSEGV); such ids are now left out of the grammar."""
    schema = {
        "type": "object",
        "properties": {
            "sources": {
                "type": "array",
                "maxItems": 2,
                "items": {"type": "string", "enum": ['ticket "7"', "r2"]},
            }
        },
        "required": ["sources"],
    }
    request = CompletionRequest(
        messages=(Message("user", 'Cite the ticket: reply {"sources": [...]}.'),),
        schema=schema,
        max_tokens=30,
    )
    # Free strings may run past 30 tokens, so the answer need not parse; it must come back.
    assert small_llm.complete(request).text.startswith('{"sources": [')
