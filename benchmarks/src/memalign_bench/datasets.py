"""Loaders for the offline benchmark data in ``shared/datasets`` (see its README for what is
real human data and what is a substitute). Each dataset names its judge spec, its own
``split`` field decides train/test, and datasets without natural-language feedback say so."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from memalign.errors import InputError
from memalign.judge_spec import JudgeSpec, Labels, Pairwise, Scale
from memalign.prompts.rendering import example_key
from memalign.records import Feedback

Row = dict[str, Any]


@dataclass(frozen=True)
class BenchDataset:
    name: str
    file: str
    spec: JudgeSpec
    provenance: str
    has_feedback: bool
    to_record: Callable[[Row], Feedback]

    def path(self, data_dir: Path) -> Path:
        return data_dir / self.file

    def file_sha256(self, data_dir: Path) -> str:
        return hashlib.sha256(self.path(data_dir).read_bytes()).hexdigest()

    def load(self, data_dir: Path) -> tuple[list[Feedback], list[Feedback]]:
        path = self.path(data_dir)
        if not path.is_file():
            raise InputError(
                "dataset file not found (is --data the datasets folder?)", file=str(path)
            )
        train: list[Feedback] = []
        test: list[Feedback] = []
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    record = self.to_record(row)
                except (json.JSONDecodeError, KeyError, ValueError) as exc:
                    raise InputError(
                        f"cannot read row: {exc}", file=str(path), line=number
                    ) from None
                (train if row["split"] == "train" else test).append(record)
        return train, test


def _policy(row: Row) -> Feedback:
    outputs = row.get("candidates") or row["outputs"]
    return Feedback(
        id=row["id"],
        inputs=row["inputs"],
        outputs=outputs,
        label=row["label"],
        feedback=row.get("feedback"),
    )


def _financebench(row: Row) -> Feedback:
    return Feedback(
        id=row["id"],
        inputs={"question": row["question"]},
        outputs=row["model_answer"],
        expectations={"gold_answer": row["gold_answer"]},
        label="correct" if row["is_correct"] in (True, "True") else "incorrect",
    )


def _autoj(row: Row) -> Feedback:
    return Feedback(
        id=row["id"],
        inputs=row["prompt"],
        outputs={"A": row["response 1"], "B": row["response 2"]},
        label=row["preferred"],
    )


def _hotpot_halueval(row: Row) -> Feedback:
    return Feedback(
        id=row["id"],
        inputs={"question": row["question"]},
        outputs=row["candidate_answer"],
        expectations={"reference_answer": row["reference_answer"]},
        label="correct" if row["is_correct"] in (True, "True") else "incorrect",
    )


def _halubench(row: Row) -> Feedback:
    return Feedback(
        id=row["id"],
        inputs={"passage": row["passage"], "question": row["question"]},
        outputs=row["answer"],
        label=row["label"],
    )


def _prometheus(row: Row) -> Feedback:
    return Feedback(
        id=row["id"],
        inputs={"instruction": row["orig_instruction"], "criteria": row["orig_criteria"]},
        outputs=row["orig_response"],
        expectations={"reference_answer": row["orig_reference_answer"]},
        label=int(row["score"]),
        feedback=row.get("feedback"),
    )


def _policy_spec(name: str, instructions: str, output: Any) -> JudgeSpec:
    return JudgeSpec(name=name, instructions=instructions, output=output)


DATASETS: dict[str, BenchDataset] = {
    d.name: d
    for d in (
        BenchDataset(
            "code_review_python",
            "policy_dev/code_review_python.jsonl",
            _policy_spec(
                "code_review_python",
                "Does the Python code in {{ outputs }} for the PR "
                "{{ inputs }} pass our code review?",
                Labels(("pass", "fail")),
            ),
            "SYNTHETIC (policy_dev): labels follow house rules by construction",
            True,
            _policy,
        ),
        BenchDataset(
            "marketing_email_compliance",
            "policy_dev/marketing_email_compliance.jsonl",
            _policy_spec(
                "marketing_email_compliance",
                "Is the marketing email in {{ outputs }} compliant for the campaign {{ inputs }}?",
                Labels(("pass", "fail")),
            ),
            "SYNTHETIC (policy_dev): labels follow house rules by construction",
            True,
            _policy,
        ),
        BenchDataset(
            "travel_agent_reply",
            "policy_dev/travel_agent_reply.jsonl",
            _policy_spec(
                "travel_agent_reply",
                "Score the travel agent's reply in {{ outputs }} "
                "to the request {{ inputs }} from 1 (poor) to 5 (excellent).",
                Scale(1, 5),
            ),
            "SYNTHETIC (policy_dev): score = 5 - rules broken, by construction",
            True,
            _policy,
        ),
        BenchDataset(
            "pairwise_summary_preference",
            "policy_dev/pairwise_summary_preference.jsonl",
            _policy_spec(
                "pairwise_summary_preference",
                "Which summary of {{ inputs }} is better: A or B?",
                Pairwise(allow_tie=False),
            ),
            "SYNTHETIC (policy_dev): preference follows house rules by construction",
            True,
            _policy,
        ),
        BenchDataset(
            "financebench",
            "financebench/answer_correctness.jsonl",
            _policy_spec(
                "financebench",
                "Is the answer in {{ outputs }} to the financial "
                "question {{ inputs }} correct, given {{ expectations }}?",
                Labels(("correct", "incorrect")),
            ),
            "REAL: human expert grades of model answers (FinanceBench)",
            False,
            _financebench,
        ),
        BenchDataset(
            "autoj",
            "autoj/pairwise_test_subset.jsonl",
            _policy_spec(
                "autoj",
                "Which response to {{ inputs }} is better, A or B, or is it a tie?",
                Pairwise(),
            ),
            "REAL: human preferences (Auto-J pairwise test set)",
            False,
            _autoj,
        ),
        BenchDataset(
            "hotpotqa",
            "hotpotqa/halueval_qa_answer_correctness.jsonl",
            _policy_spec(
                "hotpotqa",
                "Is the answer in {{ outputs }} to {{ inputs }} correct, given {{ expectations }}?",
                Labels(("correct", "incorrect")),
            ),
            "REAL questions, DERIVED labels (HaluEval QA over HotpotQA)",
            False,
            _hotpot_halueval,
        ),
        BenchDataset(
            "halubench",
            "halubench_substitute/halueval_qa_faithfulness.jsonl",
            _policy_spec(
                "halubench",
                "Is the answer in {{ outputs }} faithful to the passage in {{ inputs }}?",
                Labels(("PASS", "FAIL")),
            ),
            "SUBSTITUTE for HaluBench: HaluEval QA, labels by construction",
            False,
            _halubench,
        ),
        BenchDataset(
            "feedback_collection",
            "feedback_collection_substitute/prometheus_vicuna_mtbench_rubric.jsonl",
            _policy_spec(
                "feedback_collection",
                "Score {{ outputs }} for {{ inputs }} from 1 "
                "to 5 on the given criteria; {{ expectations }} would score 5.",
                Scale(1, 5),
            ),
            "SUBSTITUTE for Feedback-Collection: Prometheus rubric sets, GPT-4 scores",
            True,
            _prometheus,
        ),
    )
}


@dataclass(frozen=True)
class EmbeddedSplit:
    """A dataset's training records and first test records with their example embeddings (as
    the judge would store them), for studies that sample training sets without a model call."""

    train: list[Feedback]
    test: list[Feedback]
    train_vectors: dict[str, Any]
    test_matrix: Any
    keys: dict[str, str]  # by record id (train and test): the text embedded, the example key

    def sample(self, seed: int, size: int) -> tuple[list[Feedback], Any]:
        """The curves harness's first ``size`` records for ``seed``, and their vectors."""
        from memalign_bench.curves import shard_order

        records = shard_order(self.train, seed, [size])
        return records, np.stack([self.train_vectors[r.id] for r in records]).astype(np.float32)


def embedded_split(
    dataset: BenchDataset, data_dir: Path, embed: Callable[[list[str]], Any], test_limit: int
) -> EmbeddedSplit:
    train, test = dataset.load(data_dir)
    test = test[:test_limit]
    keys = {r.id: example_key(r.case, dataset.spec) for r in [*train, *test]}
    vectors = dict(zip([r.id for r in train], embed([keys[r.id] for r in train]), strict=True))
    matrix = np.asarray(embed([keys[r.id] for r in test]), dtype=np.float32)
    return EmbeddedSplit(train, test, vectors, matrix, keys)


Study = Callable[[str, Path, int, int, Callable[[list[str]], Any]], list[str]]


def sample_study_main(description: str, study: Study) -> None:
    """The command line the no-model sample studies share (fold_bias.py, l2_choice.py,
    word_features.py): DATASET…, ``--samples``, ``--size`` and ``--data``; prints what
    ``study(name, data, samples, size, embed)`` returns for each dataset, embedding with the
    local MiniLM."""
    import argparse

    from memalign.embedders import EmbeddingClient
    from memalign.models import get_embedder

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("datasets", nargs="+", choices=sorted(DATASETS))
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--size", type=int, default=50)
    default_data = Path(__file__).resolve().parents[4] / "shared" / "datasets"
    parser.add_argument("--data", type=Path, default=default_data)
    args = parser.parse_args()
    embed = EmbeddingClient(get_embedder("local")).embed
    for name in args.datasets:
        print("\n".join(study(name, args.data, args.samples, args.size, embed)), flush=True)
