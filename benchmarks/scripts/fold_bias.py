"""How far the folds of decision="auto" under- or over-rate the rules that learn from memory:
the embedding model and the retrieved examples' vote (k=5), scored by cross-validation on a
sample of training records under four fold schemes, beside the same rules fitted on the whole
sample and scored on unseen test records. No model call (the local MiniLM embeds), no checks.

    python benchmarks/scripts/fold_bias.py code_review_python marketing_email_compliance \
      [--samples 8] [--data ../shared/datasets]

Schemes: five folds cut in arrival order (before), five and ten stratified by label
(memalign.judging.folds), leave-one-out. Each sample is the curves harness's seed order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from memalign.evaluation.metrics import balanced_accuracy
from memalign.judging.decision import example_vote
from memalign.judging.embedding_model import fit_embedding_model
from memalign.judging.folds import stratified_folds
from memalign.records import Example, Feedback
from memalign_bench.datasets import DATASETS, embedded_split, sample_study_main

SCHEMES = ("arrival-5", "stratified-5", "stratified-10", "leave-one-out")


def _predict(
    output: Any,
    train: list[Feedback],
    x: np.ndarray,
    queries: np.ndarray,
    texts: list[str],
    keys: dict[str, str],
) -> dict[str, list[Any]]:
    """``texts``: the queries' example keys; ``keys``: the training records' by id."""
    examples = [
        Example(record_id=r.id, key_text=keys[r.id], case_text="", label=r.label) for r in train
    ]
    model = fit_embedding_model(output, examples, x)
    assert model is not None
    linear = [model.predict(q, text) for q, text in zip(queries, texts, strict=True)]
    votes = []
    for q, fallback in zip(queries, linear, strict=True):
        similarity = x @ q
        nearest = np.argsort(-similarity, kind="stable")[:5]
        vote = example_vote(output, [(examples[n], float(similarity[n])) for n in nearest])
        votes.append(
            output.labels[0] if vote and vote > 0 else output.labels[1] if vote else fallback
        )
    return {"embedding": linear, "vote": votes}


def _folds(labels: list[Any], scheme: str) -> np.ndarray:
    if scheme == "arrival-5":
        return np.arange(len(labels)) % 5
    if scheme == "leave-one-out":
        return np.arange(len(labels))
    return stratified_folds(labels, int(scheme.rsplit("-", 1)[1]))


def study(name: str, data: Path, samples: int, size: int, embed: Any) -> list[str]:
    output = DATASETS[name].spec.output
    split = embedded_split(DATASETS[name], data, embed, test_limit=100)
    unseen_x, truth = split.test_matrix, [r.label for r in split.test]
    unseen_texts, keys = [split.keys[r.id] for r in split.test], split.keys
    cv: dict[str, dict[str, list[float]]] = {s: {"embedding": [], "vote": []} for s in SCHEMES}
    unseen: dict[str, list[float]] = {"embedding": [], "vote": []}
    for seed in range(samples):
        sample, x = split.sample(seed, size)
        labels = [r.label for r in sample]
        for rule, values in _predict(output, sample, x, unseen_x, unseen_texts, keys).items():
            unseen[rule].append(balanced_accuracy(values, truth))
        for scheme in SCHEMES:
            folds = _folds(labels, scheme)
            held: dict[str, list[Any]] = {"embedding": [None] * size, "vote": [None] * size}
            for fold in sorted(set(folds.tolist())):
                fit = [i for i in range(size) if folds[i] != fold]
                out = [i for i in range(size) if folds[i] == fold]
                texts = [keys[sample[i].id] for i in out]
                for rule, values in _predict(
                    output, [sample[i] for i in fit], x[fit], x[out], texts, keys
                ).items():
                    for i, value in zip(out, values, strict=True):
                        held[rule][i] = value
            for rule, values in held.items():
                cv[scheme][rule].append(balanced_accuracy(values, labels))
    head = f"### {name} ({samples} samples of {size} records; SYNTHETIC policy_dev)"
    lines = [head, "", "| mean balanced accuracy | embedding model | vote (k=5) |", "|---|---|---|"]
    rows = [(f"folds: {scheme}", cv[scheme]) for scheme in SCHEMES]
    for label, scores in [*rows, ("unseen (100 test records)", unseen)]:
        lines.append(
            f"| {label} | {np.mean(scores['embedding']):.2f} | {np.mean(scores['vote']):.2f} |"
        )
    return [*lines, ""]


if __name__ == "__main__":
    sample_study_main(__doc__.splitlines()[0], study)
