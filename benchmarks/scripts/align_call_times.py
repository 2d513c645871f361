"""Where one alignment's time goes, call by call, with and without the checks judging first
(design/checks.md, "The checks judge first") and with reflection reading the cases or only the
experts' words (``MemoryConfig.reflection_cases``): the same 50 records (the baselines' seed-0
shard order; ``--records`` for fewer) aligned into fresh stores one after the other, in one
process, against one local model served as the baselines serve it; each model call timed and
summed by purpose.

    python benchmarks/scripts/align_call_times.py [--dataset code_review_python] \
      [--model local:0.5b] [--modes checks-first,reflection-cases,model-only] \
      [--data ../shared/datasets]

"checks-first" is the product's default; "reflection-cases" is it with reflection also reading
each explained record's case; "model-only" has the model judge every record first.
"""

from __future__ import annotations

import argparse
import collections
import importlib
import tempfile
import time
from pathlib import Path
from typing import Any

from memalign.embedders import EmbeddingClient
from memalign.judge import Judge
from memalign.models import get_embedder
from memalign.providers.base import Completion, CompletionRequest
from memalign.providers.client import ModelClient
from memalign.providers.openai_compat import OpenAICompatible
from memalign.stores import open_store
from memalign_bench.curves import shard_order
from memalign_bench.datasets import DATASETS
from memalign_bench.llama_server import LlamaServer, model_path

# The module, not the function of the same name that memalign.alignment exports.
ALIGN = importlib.import_module("memalign.alignment.align")


class Timed:
    """A provider that times each call it forwards."""

    def __init__(self, inner: OpenAICompatible) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: list[tuple[str, float, int]] = []

    def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        answer = self.inner.complete(request)
        self.calls.append((request.purpose, time.perf_counter() - started, answer.prompt_tokens))
        return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="code_review_python")
    parser.add_argument("--model", default="local:0.5b")
    parser.add_argument("--modes", default="checks-first,model-only")
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "datasets"
    )
    args = parser.parse_args()
    dataset = DATASETS[args.dataset]
    train, _ = dataset.load(args.data)
    seen = shard_order(train, 0, [0, args.records])
    embedder = EmbeddingClient(get_embedder("local"))
    checks_first = ALIGN.settled
    print(
        "| mode | wall s | judged by checks | guidelines | "
        "model calls by purpose: n, s, prompt tokens |"
    )
    print("|---|---:|---:|---:|---|")
    with (
        LlamaServer(model_path(args.model), alias="model") as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        for mode in args.modes.split(","):
            # "model-only": the disagreement pass asks the model about every record, as before.
            ALIGN.settled = checks_first if mode != "model-only" else (lambda *_a, **_k: {})
            provider = Timed(
                OpenAICompatible(
                    "model", base_url=f"{server.url}/v1", timeout=600.0,
                    structured="json_object_schema",
                )
            )  # fmt: skip
            client = ModelClient(provider, max_concurrency=1)
            store = open_store(Path(tmp) / f"{mode}.db")
            spec = dataset.spec.with_memory(reflection_cases=mode == "reflection-cases")
            judge = Judge.create(store, spec, llm=client, reflection_llm=client, embedder=embedder)
            started = time.perf_counter()
            report = judge.align(seen)
            wall = time.perf_counter() - started
            by: dict[str, list[Any]] = collections.defaultdict(lambda: [0, 0.0, 0])
            for purpose, seconds, tokens in provider.calls:
                by[purpose][0] += 1
                by[purpose][1] += seconds
                by[purpose][2] += tokens
            parts = "; ".join(f"{p}: {n}, {s:.0f} s, {t:,}" for p, (n, s, t) in by.items())
            kept = report.guidelines_added
            print(
                f"| {mode} | {wall:.0f} | {report.decided_by_checks} | {kept} | {parts} |",
                flush=True,
            )
            store.close()
    ALIGN.settled = checks_first


if __name__ == "__main__":
    main()
