"""The linear model over stored example embeddings, alone ("embedding") and added to the
model's log-odds ("combined")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest

from memalign import Judge, JudgeSpec, Labels, MemoryConfig, Scale
from memalign.judging import embedding_model
from memalign.judging.embedding_model import (
    MIN_EXAMPLES,
    fit_embedding_model,
    fit_logistic,
    fit_ridge,
)
from memalign.records import Example
from memalign.testing import HashEmbedder

from .samples import WORDS, separable_records, unsure_llm


def _examples(n: int, label: Callable[[int], str]) -> tuple[list[Example], np.ndarray]:
    texts = [
        f"{WORDS[i % 10]} {WORDS[(i * 3) % 10]} {'unsafe' if i % 2 else 'tidy'}" for i in range(n)
    ]
    vectors = np.asarray(HashEmbedder(64).embed(texts), dtype=np.float32)
    examples = [Example(record_id=f"r{i}", key_text=t, case_text=t, label=label(i))
                for i, t in enumerate(texts)]  # fmt: skip
    return examples, vectors


def test_two_labels_are_separated_and_too_little_evidence_gives_no_model() -> None:
    output = Labels(("Pass", "Fail"))
    examples, matrix = _examples(40, lambda i: "Fail" if i % 2 else "Pass")
    model = fit_embedding_model(output, examples, matrix)
    assert model is not None and model.examples == 40
    query = np.asarray(HashEmbedder(64).embed(["kilo unsafe"])[0], dtype=np.float32)
    text = "kilo unsafe"
    assert model.predict(query, text) == "Fail" and model.first_logit(query, text) < 0
    few = MIN_EXAMPLES - 1
    assert fit_embedding_model(output, examples[:few], matrix[:few]) is None
    same, m = _examples(30, lambda i: "Pass")
    assert fit_embedding_model(output, same, m) is None  # one class: nothing to learn


def test_a_scale_is_predicted_by_ridge_within_its_range() -> None:
    examples, matrix = _examples(40, lambda i: "1" if i % 2 else "5")
    model = fit_embedding_model(Scale(1, 5), examples, matrix)
    assert model is not None
    low = np.asarray(HashEmbedder(64).embed(["unsafe"])[0], dtype=np.float32)
    high = np.asarray(HashEmbedder(64).embed(["tidy"])[0], dtype=np.float32)
    low_score, high_score = model.predict(low, "unsafe"), model.predict(high, "tidy")
    assert low_score < high_score and 1 <= low_score <= 5


@pytest.mark.parametrize("decision", ["embedding", "combined"])
def test_a_judge_decides_with_its_example_embeddings(
    make_judge: Callable[..., Judge], spec: JudgeSpec, decision: str
) -> None:
    llm = unsure_llm()  # even odds, leaning the wrong way on the unsafe case
    memory = MemoryConfig(decision=decision, checks=False)  # type: ignore[arg-type]
    judge = make_judge(replace(spec, memory=memory), llm=llm, embedder=HashEmbedder(64))
    judge.align(separable_records())
    verdict = judge.judge(outputs="kilo unsafe")
    assert verdict.value == "Fail" and "logistic model over the embedding" in verdict.decision
    assert "fitted on 40 examples" in verdict.decision
    assert verdict.usage.llm_calls == 1 and verdict.rationale  # the model still explains
    assert judge.judge(outputs="kilo tidy").value == "Pass"


def test_fewer_examples_than_dimensions_fit_the_same_model_in_the_examples_span() -> None:
    rng = np.random.default_rng(3)
    x = np.hstack([rng.normal(size=(30, 64)), np.ones((30, 1))])
    y = (rng.random(30) > 0.5).astype(float)
    w = np.zeros(65)
    penalty = 0.1 * np.eye(65)
    penalty[-1, -1] = 0.0
    for _ in range(100):  # the d×d Newton solve the shortcut avoids
        p = 1 / (1 + np.exp(-(x @ w)))
        w -= np.linalg.solve((x.T * (p * (1 - p))) @ x + penalty, x.T @ (p - y) + penalty @ w)
    assert np.allclose(fit_logistic(x, y, 0.1), w, atol=1e-6)


def test_a_word_rule_the_embedding_cannot_see_is_learnt_from_the_example_texts() -> None:
    # Embeddings that carry nothing: the label turns on one word pair of the text alone.
    rng = np.random.default_rng(5)
    texts = [f"{WORDS[i % 10]} {WORDS[(i * 7) % 10]} except{':' if i % 2 else ' ValueError:'}"
             for i in range(40)]  # fmt: skip
    examples = [Example(record_id=f"r{i}", key_text=t, case_text=t, label="Fail" if i % 2 else
                        "Pass") for i, t in enumerate(texts)]  # fmt: skip
    noise = rng.normal(size=(41, 64)).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)  # unit length, as embedders give
    model = fit_embedding_model(Labels(("Pass", "Fail")), examples, noise[:40])
    assert model is not None and model.words and "embedding and words" in model.describe()
    query = noise[40]
    assert model.predict(query, "lima except:") == "Fail"
    assert model.predict(query, "lima except ValueError:") == "Pass"
    alone = fit_embedding_model(Labels(("Pass", "Fail")), examples, noise[:40], words=(False,))
    assert alone is not None and not alone.words


def test_words_are_left_out_where_they_do_not_help_the_held_out_folds() -> None:
    # Every text the same: the words cannot separate anything, the embedding can.
    examples, matrix = _examples(40, lambda i: "Fail" if i % 2 else "Pass")
    same = [e.model_copy(update={"key_text": "one and the same"}) for e in examples]
    model = fit_embedding_model(Labels(("Pass", "Fail")), same, matrix)
    assert model is not None and not model.words


def test_ridge_in_the_examples_span_is_the_same_as_the_full_solve() -> None:
    rng = np.random.default_rng(4)
    x = np.hstack([rng.normal(size=(20, 64)), np.ones((20, 1))])
    y = rng.normal(size=20)
    penalty = 0.1 * np.eye(65)
    penalty[-1, -1] = 0.0
    full = np.linalg.solve(x.T @ x + penalty, x.T @ y)
    assert np.allclose(fit_ridge(x, y, 0.1), full, atol=1e-8)


def test_a_scale_is_scored_by_the_concordance_of_its_rounded_scores_not_squared_error() -> None:
    # What the ridge's L2 is chosen by. Strong L2 shrinks predictions toward the middle: lower
    # squared error than a spread, noisy fit, but rounding gives 3 to every case.
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0] * 8)
    shrunk = 3 + 0.2 * (y - 3)
    spread = y + np.where(np.arange(len(y)) % 2 == 0, 2.0, -2.0)
    assert np.mean((shrunk - y) ** 2) < np.mean((spread - y) ** 2)
    score = embedding_model._discordance(Scale(1, 5))
    folds = np.arange(len(y)) % 5
    assert score(shrunk, y, folds) == pytest.approx(1.0)  # one score for all: no concordance
    assert score(spread, y, folds) < 1.0


def test_two_labels_are_scored_by_balanced_accuracy_with_log_loss_only_breaking_ties() -> None:
    # What the logistic model's L2 is chosen by. A timid fit that always leans one way has the
    # lower log loss here; a fit that gets 9 in 10 right, its misses wildly confident, is better.
    y = np.array([1.0, 0.0] * 20)
    folds = np.arange(len(y)) % 5
    timid = np.full(len(y), -0.1)
    sharp = np.where(y == 1.0, 3.0, -3.0)
    sharp[::10] = -40.0 * (2 * y[::10] - 1)
    assert embedding_model._log_loss_by_fold(sharp, y, folds) > (
        embedding_model._log_loss_by_fold(timid, y, folds)
    )
    assert embedding_model._misclassified(sharp, y, folds) < (
        embedding_model._misclassified(timid, y, folds)
    )
    # Equal balanced accuracy (one miss each): the fit whose miss is less confident wins.
    calm = np.where(y == 1.0, 1.0, -1.0)
    calm[0] = -1.0
    assert embedding_model._misclassified(calm * 2, y, folds) < (
        embedding_model._misclassified(calm * 30, y, folds)
    )
