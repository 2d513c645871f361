"""What one judge call costs through llama-cpp-python's server, by what the call asks for.

The baselines (`memalign-bench baselines`) reach the local model over HTTP so that memalign and DSPy
are counted by one meter. There memalign's test calls took 2-8x the wall time of DSPy's per
prompt token. This script sends the same memalign judge prompts four ways to one server (with
and without the verdict's JSON schema as a grammar, with and without top-20 log-probabilities)
and once more to the in-process llama.cpp provider that `memalign judge` uses by default, and
prints the median seconds per call side by side. Cases run one after another, as in a real run,
so each call reuses only the shared system prefix of the one before.

    .venv/bin/python benchmarks/scripts/server_call_cost.py [--data ../shared/datasets] \
        [--dataset financebench]
        [--cases 10] [--model local:0.5b] [--align 0]

`--align N` first aligns on N training records (the shipped fake reflection model writes the
guidelines, MiniLM embeds) so the prompts carry memory, as after a shard of N records.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from memalign import Judge, open_store
from memalign.accounting import Meter
from memalign.embedders.onnx_minilm import MiniLMEmbedder
from memalign.judging.verdict import verdict_schema
from memalign.providers import Completion, CompletionRequest
from memalign.providers.local.llamacpp import LlamaCppProvider
from memalign.providers.openai_compat import OpenAICompatible
from memalign.testing import FakeLLM
from memalign_bench.datasets import DATASETS
from memalign_bench.llama_server import LlamaServer, model_path
from memalign_bench.provenance import cpu_model

PLAIN = "server, neither"  # the row every other is divided by


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "datasets"
    )
    parser.add_argument("--dataset", default="financebench", choices=sorted(DATASETS))
    parser.add_argument("--cases", type=int, default=10)
    parser.add_argument("--model", default="local:0.5b")
    parser.add_argument("--align", type=int, default=0)
    args = parser.parse_args()

    dataset = DATASETS[args.dataset]
    train, test = dataset.load(args.data)
    spec = dataset.spec
    judge = Judge.create(
        open_store(":memory:"),
        spec,
        llm=FakeLLM(),
        reflection_llm=FakeLLM(),
        embedder=MiniLMEmbedder(),
        use_cache=False,
    )
    if args.align:
        judge.align(train[: args.align], detect_disagreements=False)
    snapshot = judge.snapshot()
    prompts = [judge.working_memory(r.case, snapshot, Meter()).messages for r in test[: args.cases]]
    # Exactly the request the judge sends when only the value is scored (no rationale).
    schema = verdict_schema(spec.output, rationale=False)
    choices = spec.output.choices or None

    def run(complete: Callable[[CompletionRequest], Completion]) -> tuple[list[float], int]:
        seconds, tokens = [], 0
        for messages in prompts:
            request = CompletionRequest(
                messages=messages, schema=schema, choices=choices, max_tokens=40, rationale=False
            )
            start = time.perf_counter()
            completion = complete(request)
            seconds.append(time.perf_counter() - start)
            tokens += completion.prompt_tokens
        return seconds, tokens

    rows: list[tuple[str, list[float], int]] = []
    path = model_path(args.model)
    with LlamaServer(path, alias="judge") as server:
        variants = {
            "server, schema + logprobs (memalign in baselines)": ("json_object_schema", True),
            "server, logprobs only": ("none", True),
            "server, schema only": ("json_object_schema", False),
            f"{PLAIN} (as a DSPy call)": ("none", False),
        }
        for name, (structured, logprobs) in variants.items():
            provider = OpenAICompatible(
                "judge", base_url=f"{server.url}/v1", structured=structured, logprobs=logprobs,
                timeout=600.0,
            )  # fmt: skip
            provider.complete(CompletionRequest(messages=prompts[0], max_tokens=4))  # warm-up
            rows.append((name, *run(provider.complete)))
    local = LlamaCppProvider(str(path), rationale_tokens=0)
    local.complete(CompletionRequest(messages=prompts[0], max_tokens=4))  # load + warm-up
    rows.append(("in-process llama.cpp (memalign's default)", *run(local.complete)))

    print(
        f"machine: {platform.machine()}, {cpu_model() or 'unknown cpu'}; model: {path.name}; "
        f"dataset: {args.dataset}, cases: {len(prompts)}, aligned on: {args.align} records"
    )
    plain = next(seconds for name, seconds, _ in rows if name.startswith(PLAIN))
    baseline = statistics.median(plain)
    print(f"{'call':<52}{'median s':>10}{'mean s':>9}{'prompt tok/call':>17}{'vs neither':>12}")
    for name, seconds, tokens in rows:
        median = statistics.median(seconds)
        print(
            f"{name:<52}{median:>10.2f}{statistics.mean(seconds):>9.2f}"
            f"{tokens / len(seconds):>17.0f}{median / baseline:>11.2f}x"
        )


if __name__ == "__main__":
    main()
