"""The embedding model's L2 chosen two ways, side by side on the same samples: by the model's
own loss on 5 held-out folds (before: squared error for a scale, log loss for labels) and by the
metric its rule is judged by (now: the concordance of the rounded scores; balanced accuracy,
log loss breaking ties; memalign.judging.embedding_model). Each sample is the curves harness's
seed order of N training records, scored on the first 100 test records by Lin's CCC or balanced
accuracy. No model call (the local MiniLM embeds), no checks.

    python benchmarks/scripts/l2_choice.py travel_agent_reply code_review_python \
      marketing_email_compliance financebench [--samples 8] [--size 50]
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from memalign.evaluation.metrics import balanced_accuracy
from memalign.judge_spec import Labels, Scale
from memalign.judging import embedding_model as em
from memalign_bench.datasets import DATASETS, embedded_split, sample_study_main

Criterion = Callable[[np.ndarray, np.ndarray, np.ndarray], float]


def _squared_by_fold(z: np.ndarray, y: np.ndarray, folds: np.ndarray) -> float:
    return sum(float(np.mean((z[folds == k] - y[folds == k]) ** 2)) for k in sorted(set(folds)))


def _setup(output: Any) -> tuple[Callable[[Any], float], dict[str, Criterion], Any, Any]:
    """(label → target, criteria by name, fit, score of predictions z against the truth)."""
    if isinstance(output, Scale):
        scale = output

        def ccc(z: np.ndarray, truth: np.ndarray) -> float:
            return em.concordance(np.clip(np.round(z), scale.low, scale.high), truth)

        criteria = {
            "squared error (before)": _squared_by_fold,
            "concordance (now)": em._discordance(scale),
        }
        return (lambda label: float(label)), criteria, em.fit_ridge, ccc
    assert isinstance(output, Labels) and len(output.labels) == 2, "a scale or two labels"
    first = output.labels[0]

    def balanced(z: np.ndarray, truth: np.ndarray) -> float:
        return balanced_accuracy(list(z >= 0), list(truth == 1.0))

    criteria = {
        "log loss (before)": em._log_loss_by_fold,
        "balanced accuracy (now)": em._misclassified,
    }
    return (
        (lambda label: 1.0 if str(label).lower() == first.lower() else 0.0),
        criteria,
        em.fit_logistic,
        balanced,
    )


def study(name: str, data: Path, samples: int, size: int, embed: Any) -> list[str]:
    dataset = DATASETS[name]
    target, criteria, fit, score = _setup(dataset.spec.output)
    split = embedded_split(dataset, data, embed, test_limit=100)
    queries = np.hstack([split.test_matrix, np.ones((len(split.test), 1))])
    truth = np.array([target(r.label) for r in split.test])
    lines = [f"### {name} ({samples} samples of {size} records)", "",
             f"| sample | {' | '.join(f'L2, score: {c}' for c in criteria)} |",
             f"|---|{'---|' * len(criteria)}"]  # fmt: skip
    scores: dict[str, list[float]] = {c: [] for c in criteria}
    for seed in range(samples):
        sample, vectors = split.sample(seed, size)
        x = np.hstack([vectors, np.ones((len(sample), 1))])
        y = np.array([target(r.label) for r in sample])
        cells = []
        for c, criterion in criteria.items():
            l2 = em._choose([x], y, fit, criterion)[1]
            scores[c].append(score(queries @ fit(x, y, l2), truth))
            cells.append(f"{l2:g}, {scores[c][-1]:.2f}")
        lines.append(f"| {seed} | {' | '.join(cells)} |")
    means = " | ".join(f"{np.mean(v):.2f} (worst {min(v):.2f})" for v in scores.values())
    return [*lines, f"| mean | {means} |", ""]


if __name__ == "__main__":
    sample_study_main(__doc__.splitlines()[0], study)
