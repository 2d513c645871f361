"""Would checks help a scale judge? Issue 22 asks that "for scales, check outcomes feed the
fitted decision". Before building it, this measures it with no model call on the one scale task
(travel_agent_reply: score = 5 - the number of house rules broken, SYNTHETIC policy_dev).

Checks are mined from the experts' words as for two labels, each record labelled by whether its
score is below the top ("4": at most 4, a rule broken) or at it; only checks implying "at most 4"
are kept. Their outcomes then reach the memory model (the product's ridge model over the
embedding and the case's words) two ways, each against the model without them on the same
samples:

- as features: one column per check (fired or not) beside the embedding and words, the L2 chosen
  as the product chooses it;
- as a cap: where a check fires, the score is at most 4.

Each sample is the curves harness's seed order of N training records, scored on the first 100
test records by Lin's CCC of the rounded scores.

    python benchmarks/scripts/scale_checks.py [--samples 8] [--size 50] [--data ../shared/datasets]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from memalign.checks import explain, mine_checks
from memalign.checks.matching import match
from memalign.judge_spec import Scale
from memalign.judging import embedding_model as em
from memalign.models import get_embedder
from memalign.records import Case, Check, Example
from memalign_bench.datasets import DATASETS, embedded_split

ARMS = ("ridge (the product)", "+ check features", "+ check cap", "+ both")


def fired(checks: Sequence[Check], cases: Sequence[Case]) -> np.ndarray:
    return np.array([[float(match(c, case)[0]) for c in checks] for case in cases]).reshape(
        len(cases), len(checks)
    )


def with_checks(design: np.ndarray, outcomes: np.ndarray) -> np.ndarray:
    """``design`` (its last column the constant) with the check outcomes before the constant."""
    return np.hstack([design[:, :-1], outcomes, design[:, -1:]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--size", type=int, default=50)
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "datasets"
    )
    args = parser.parse_args()
    dataset = DATASETS["travel_agent_reply"]
    output = dataset.spec.output
    assert isinstance(output, Scale)
    top, below = str(output.high), str(output.high - 1)
    split = embedded_split(dataset, args.data, get_embedder("local").embed, test_limit=100)
    truth = np.array([float(str(r.label)) for r in split.test])
    test_keys = [split.keys[r.id] for r in split.test]
    test_cases = [r.case for r in split.test]
    scores: dict[str, list[float]] = {arm: [] for arm in ARMS}
    for seed in range(args.samples):
        sample, vectors = split.sample(seed, args.size)
        labelled = [(r.case, top if int(str(r.label)) == output.high else below) for r in sample]
        notes = [r.feedback or "" for r in sample]
        checks = [
            c for c in mine_checks(notes, labelled, 0.75, named=notes, fresh=labelled)
            if c.label == below
        ]  # fmt: skip
        print(f"sample {seed}: {len(checks)} checks: " + "; ".join(explain(c) for c in checks))
        keys = [split.keys[r.id] for r in sample]
        sample_cases = [r.case for r in sample]
        examples = [
            Example(record_id=r.id, key_text=k, case_text="", label=r.label)
            for r, k in zip(sample, keys, strict=True)
        ]
        model = em.fit_embedding_model(output, examples, vectors)
        assert model is not None
        pairs = zip(split.test_matrix, test_keys, strict=True)
        plain = np.array([float(str(model.predict(v, t))) for v, t in pairs])
        # The product's chosen features, with the check columns before the constant.
        train_x = with_checks(em.design(vectors, keys, model.words), fired(checks, sample_cases))
        test_fired = fired(checks, test_cases)
        test_x = with_checks(em.design(split.test_matrix, test_keys, model.words), test_fired)
        y = np.array([float(str(r.label)) for r in sample])
        _, l2 = em._choose([train_x], y, em.fit_ridge, em._discordance(output))
        featured = np.clip(np.round(test_x @ em.fit_ridge(train_x, y, l2)), output.low, output.high)
        capped = test_fired.sum(axis=1) > 0
        arms = {
            ARMS[0]: plain,
            ARMS[1]: featured,
            ARMS[2]: np.where(capped, np.minimum(plain, output.high - 1), plain),
            ARMS[3]: np.where(capped, np.minimum(featured, output.high - 1), featured),
        }
        for arm, predicted in arms.items():
            scores[arm].append(em.concordance(predicted, truth))
        print("  CCC " + ", ".join(f"{a}: {s[-1]:.3f}" for a, s in scores.items()), flush=True)
    title = f"travel_agent_reply, {args.size} records, {args.samples} samples"
    print(f"\n| {title} | mean CCC | worst |")
    print("|---|---:|---:|")
    for arm, values in scores.items():
        print(f"| {arm} | {np.mean(values):.3f} | {min(values):.3f} |")


if __name__ == "__main__":
    main()
