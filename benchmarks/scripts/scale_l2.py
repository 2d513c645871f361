"""The scale's ridge model over example embeddings with its L2 chosen two ways, side by side on
the same samples: by squared error on 5 held-out folds (before) and by the concordance of the
rounded held-out scores (now, memalign.judging.embedding_model). Each sample is the curves
harness's seed order of N training records; scored by Lin's CCC on the first 100 test records.
No model call (the local MiniLM embeds).

    python benchmarks/scripts/scale_l2.py travel_agent_reply [--samples 8] [--size 50]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from memalign.embedders import EmbeddingClient
from memalign.judge_spec import Scale
from memalign.judging import embedding_model
from memalign.models import get_embedder
from memalign.prompts.rendering import example_key
from memalign_bench.curves import shard_order
from memalign_bench.datasets import DATASETS


def _squared_by_fold(z: np.ndarray, y: np.ndarray, folds: np.ndarray) -> float:
    return sum(float(np.mean((z[folds == k] - y[folds == k]) ** 2)) for k in sorted(set(folds)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--size", type=int, default=50)
    default_data = Path(__file__).resolve().parents[3] / "shared" / "datasets"
    parser.add_argument("--data", type=Path, default=default_data)
    args = parser.parse_args()
    dataset = DATASETS[args.dataset]
    output = dataset.spec.output
    assert isinstance(output, Scale), "a scale task, such as travel_agent_reply"
    embed = EmbeddingClient(get_embedder("local")).embed
    train, test = dataset.load(args.data)
    test = test[:100]
    keys = [example_key(r.case, dataset.spec) for r in train]
    vectors = dict(zip([r.id for r in train], embed(keys), strict=True))
    queries = np.hstack([np.asarray(embed([example_key(r.case, dataset.spec) for r in test])),
                         np.ones((len(test), 1))])  # fmt: skip
    truth = np.array([float(r.label) for r in test])
    criteria = {
        "squared error (before)": _squared_by_fold,
        "concordance (now)": embedding_model._discordance(output),
    }
    print(f"| sample | {' | '.join(f'L2, CCC by {name}' for name in criteria)} |")
    print(f"|---|{'---|' * len(criteria)}")
    scores: dict[str, list[float]] = {name: [] for name in criteria}
    for seed in range(args.samples):
        sample = shard_order(train, seed, [args.size])
        x = np.hstack([np.stack([vectors[r.id] for r in sample]), np.ones((len(sample), 1))])
        y = np.array([float(r.label) for r in sample])
        cells = []
        for name, criterion in criteria.items():
            l2 = embedding_model._choose_l2(x, y, embedding_model.fit_ridge, criterion)
            z = queries @ embedding_model.fit_ridge(x, y, l2)
            ccc = embedding_model.concordance(np.clip(np.round(z), output.low, output.high), truth)
            scores[name].append(ccc)
            cells.append(f"{l2:g}, {ccc:.2f}")
        print(f"| {seed} | {' | '.join(cells)} |")
    means = " | ".join(f"{np.mean(v):.2f} (worst {min(v):.2f})" for v in scores.values())
    print(f"| mean | {means} |")


if __name__ == "__main__":
    main()
