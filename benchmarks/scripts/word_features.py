"""The memory model's features side by side on the same samples: the embedding alone (before),
the embedding and the word features always, and the product's choice between the two by
held-out folds (now; memalign.judging.words, memalign.judging.embedding_model). Each sample is
the curves harness's seed order of N training records, scored on the first 100 test records by
balanced accuracy, or Lin's CCC for a scale. No model call (the local MiniLM embeds), no checks.

    python benchmarks/scripts/word_features.py code_review_python marketing_email_compliance \
      travel_agent_reply financebench [--samples 8] [--size 50]
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from memalign.evaluation.metrics import balanced_accuracy
from memalign.judge_spec import Scale
from memalign.judging import embedding_model as em
from memalign.records import Example
from memalign_bench.datasets import DATASETS, embedded_split, sample_study_main

FEATURES = {
    "embedding (before)": (False,),
    "embedding + words": (True,),
    "chosen (now)": (False, True),
}


def study(name: str, data: Path, samples: int, size: int, embed: Any) -> list[str]:
    dataset = DATASETS[name]
    output = dataset.spec.output
    split = embedded_split(dataset, data, embed, test_limit=100)
    truth = [r.label for r in split.test]
    texts = [split.keys[r.id] for r in split.test]
    metric = "CCC" if isinstance(output, Scale) else "balanced accuracy"
    scores: dict[str, list[float]] = {f: [] for f in FEATURES}
    chosen, seconds = 0, []
    for seed in range(samples):
        sample, vectors = split.sample(seed, size)
        examples = [
            Example(record_id=r.id, key_text=split.keys[r.id], case_text="", label=r.label)
            for r in sample
        ]
        for feature, words in FEATURES.items():
            started = time.perf_counter()
            model = em.fit_embedding_model(output, examples, vectors, words)
            assert model is not None, "50 labelled records of two labels fit a model"
            if len(words) == 2:
                seconds.append(time.perf_counter() - started)
                chosen += model.words
            predicted = [model.predict(v, t) for v, t in zip(split.test_matrix, texts, strict=True)]
            if isinstance(output, Scale):
                x = np.array([float(str(p)) for p in predicted])
                scores[feature].append(em.concordance(x, np.array([float(t) for t in truth])))
            else:
                scores[feature].append(balanced_accuracy(predicted, truth))
    cells = " | ".join(f"{np.mean(v):.2f} (worst {min(v):.2f})" for v in scores.values())
    return [
        f"### {name} ({metric}; {samples} samples of {size} records, 100 unseen)",
        "",
        f"| {' | '.join(FEATURES)} | words chosen | fit s (median) |",
        f"|{'---|' * (len(FEATURES) + 2)}",
        f"| {cells} | {chosen} of {samples} | {np.median(seconds):.2f} |",
        "",
    ]


if __name__ == "__main__":
    sample_study_main(__doc__.splitlines()[0], study)
