"""memalign next to DSPy's MIPROv2, GEPA and SIMBA: same seed judge, same shards, same model,
same test split, same metric code, and one meter for every LLM call.

The model is served over HTTP (the local GGUF by llama-cpp-python's server, or any
OpenAI-compatible URL) behind :class:`CountingProxy`; each method and phase talks to it under
its own tag, so calls, tokens and time are counted identically for all of them. memalign aligns
incrementally, shard after shard, in one store; DSPy has no incremental mode, so each shard is
optimised from scratch on all records seen so far. Results are checkpointed after every step.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

from memalign.embedders import EmbeddingClient
from memalign.errors import InputError, NotFoundError
from memalign.judge import Judge
from memalign.judge_spec import JudgeSpec, Value
from memalign.models import get_embedder
from memalign.providers import ModelClient
from memalign.providers.openai_compat import OpenAICompatible
from memalign.providers.pricing import pricing_for
from memalign.records import Feedback
from memalign.stores import open_store
from memalign_bench.curves import (
    balanced_quality,
    dataset_record,
    metric_name,
    quality,
    shard_order,
    write_checkpoint,
)
from memalign_bench.datasets import DATASETS
from memalign_bench.dspy_judge import (
    METHODS,
    Method,
    OptimiserSettings,
    case_inputs,
    compile_program,
    examples,
    lenient,
    load_dspy,
    predicted,
    program,
)
from memalign_bench.meter import CountingProxy, Tally
from memalign_bench.provenance import code_commit, cpu_model, versions
from memalign_bench.step_budget import BudgetExceeded, StepInterrupted, step_budget
from memalign_bench.upstream import Upstream, upstream, warm_up

# memalign-reviewed: the review flow. The expert labels the judge's own verdicts, so the records
# arrive carrying them and alignment needs no judge pass of its own; the verdicts are made in a
# separate "review" phase, counted apart from alignment (in use they come from the judge's
# ordinary runs, before anyone aligns).
MEMALIGN_METHODS = ("memalign", "memalign-reviewed")
ALL_METHODS = (*MEMALIGN_METHODS, *METHODS)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BaselineConfig:
    dataset: str
    model: str = "local"  # local, local:0.5b, local:/path.gguf or an OpenAI-compatible URL#model
    methods: tuple[str, ...] = ALL_METHODS
    shards: tuple[int, ...] = (10, 50)
    seed: int = 0
    test_limit: int | None = None
    # Parallel requests per method; None: the server's slots (1 for the local server).
    threads: int | None = None
    reference_price: str = "openai/gpt-4.1-mini"
    # Seconds a DSPy optimiser may run before it is stopped and reported as interrupted, with
    # what it had spent so far (a lower bound); None: no limit.
    step_budget: float | None = None

    def __post_init__(self) -> None:
        unknown = set(self.methods) - set(ALL_METHODS)
        if unknown:
            raise InputError(
                f"unknown method(s) {sorted(unknown)}; use {ALL_METHODS}", field="--methods"
            )

    @property
    def run_name(self) -> str:
        model = self.model.split("#")[-1] if "://" in self.model else self.model
        model = model.replace("/", "_").replace(":", "_")
        return f"{self.dataset}__baselines__{model}__seed{self.seed}"


class _Runner:
    def __init__(
        self,
        config: BaselineConfig,
        proxy: CountingProxy,
        up: Upstream,
        spec: JudgeSpec,
        out_dir: Path,
    ) -> None:
        self.config = config
        self.proxy = proxy
        self.up = up
        self.spec = spec
        self.out_dir = out_dir
        self.threads = up.threads if up.local else (config.threads or up.threads)
        self.pricing = pricing_for("local", config.reference_price)

    def phase(self, tag: str, seconds: float) -> dict[str, Any]:
        tally: Tally = self.proxy.tally(tag)
        return {
            "tag": tag,
            "llm_calls": tally.requests,
            "failed_calls": tally.failed,
            "prompt_tokens": tally.prompt_tokens,
            "completion_tokens": tally.completion_tokens,
            "usd_at_reference_price": self.pricing(
                self.up.alias, tally.prompt_tokens, tally.completion_tokens
            ),
            "wall_seconds": seconds,
        }

    def _merge(self, *phases: dict[str, Any]) -> dict[str, Any]:
        total: dict[str, Any] = {"tags": [p["tag"] for p in phases]}
        for key in ("llm_calls", "failed_calls", "prompt_tokens", "completion_tokens"):
            total[key] = sum(p[key] for p in phases)
        total["usd_at_reference_price"] = sum(p["usd_at_reference_price"] or 0 for p in phases)
        total["wall_seconds"] = max(p["wall_seconds"] for p in phases)
        return total

    # -- memalign: one store, aligned incrementally ------------------------------------------

    def memalign_judge(self, store: Any, tag: str, embedder: EmbeddingClient) -> Judge:
        provider = OpenAICompatible(
            self.up.alias,
            base_url=self.proxy.base_url(tag),
            timeout=600.0,
            structured="json_object_schema" if self.up.local else "json_schema",
        )
        client = ModelClient(provider, max_concurrency=self.threads, pricing=self.pricing)
        models: dict[str, Any] = {"llm": client, "reflection_llm": client, "embedder": embedder}
        try:
            return Judge.load(store, self.spec.name, **models)
        except NotFoundError:
            return Judge.create(store, self.spec, **models)

    def scores(self, test: list[Feedback], values: list[Value | None]) -> dict[str, Any]:
        """The test-split numbers every method reports, from the same code; the answers are
        kept so a step can be re-scored by another measure without a model call."""
        labels = [r.label for r in test]
        return {
            "unseen_quality": quality(self.spec.output, labels, values),
            "unseen_balanced": balanced_quality(self.spec.output, labels, values),
            "invalid_answers": sum(1 for v in values if v is None),
            "answers": values,
        }

    def memalign_step(
        self, store: Any, embedder: EmbeddingClient, shard: int, seen: list[Feedback],
        test: list[Feedback], *, method: str = "memalign",
    ) -> dict[str, Any]:  # fmt: skip
        align_tag, test_tag = f"{method}.{shard}.align", f"{method}.{shard}.test"
        review: dict[str, Any] | None = None
        if method == "memalign-reviewed" and seen:
            review_tag = f"{method}.{shard}.review"
            judge = self.memalign_judge(store, review_tag, embedder)
            started = time.perf_counter()
            judged = judge.judge_many([r.case for r in seen], rationale=False)
            review = self.phase(review_tag, time.perf_counter() - started)
            seen = [
                r.model_copy(update={"verdict": v.value}) for r, v in zip(seen, judged, strict=True)
            ]
        judge = self.memalign_judge(store, align_tag, embedder)
        started = time.perf_counter()
        report = judge.align(seen) if seen else None
        align = self.phase(align_tag, time.perf_counter() - started)
        if report is not None:
            align["memalign_meter"] = report.usage.model_dump()
        judge = self.memalign_judge(store, test_tag, embedder)
        started = time.perf_counter()
        verdicts = judge.judge_many([r.case for r in test], rationale=False)
        scored = self.phase(test_tag, time.perf_counter() - started)
        values = [v.value for v in verdicts]
        return {
            "align": align,
            **({"review": review} if review is not None else {}),
            "test": scored,
            **self.scores(test, values),
            "memory": {
                "guidelines": len(judge.guidelines(include_retired=False)),
                "examples": len(judge.examples()),
                "decision": next((v.decision for v in verdicts if v.decision), None),
            },
        }

    # -- DSPy: each shard optimised from scratch -------------------------------------------

    def lm(self, tag: str, *, temperature: float, max_tokens: int) -> Any:
        dspy = load_dspy()
        return dspy.LM(
            f"openai/{self.up.alias}",
            api_base=self.proxy.base_url(tag),
            api_key="memalign-bench",
            engine="litellm",  # the default engine sends max_completion_tokens, which
            cache=False,  # llama.cpp servers ignore
            temperature=temperature,
            max_tokens=max_tokens,
        )

    def evaluate(self, compiled: Any, test: list[Feedback]) -> list[tuple[Value | None, bool]]:
        """Each test record's value, and whether it was read leniently (see ``lenient``)."""
        dspy = load_dspy()

        from dspy.utils.exceptions import AdapterParseError

        def one(record: Feedback) -> tuple[Value | None, bool]:
            # DSPy's settings are per thread: each worker names the adapter itself.
            with dspy.context(adapter=dspy.JSONAdapter()):
                try:
                    answer = compiled(**case_inputs(record, self.spec))
                    return predicted(self.spec, answer), False
                except AdapterParseError as exc:
                    return lenient(self.spec, str(exc.lm_response)), True
                except Exception:  # no answer at all counts as wrong, as in memalign
                    return None, False

        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            return list(pool.map(one, test))

    def dspy_step(
        self, method: str, shard: int, seen: list[Feedback], test: list[Feedback]
    ) -> dict[str, Any]:
        dspy = load_dspy()
        fields = list(case_inputs(test[0], self.spec))
        student = program(self.spec, fields)
        align_tag, reflect_tag = f"{method}.{shard}.align", f"{method}.{shard}.reflect"
        task_lm = self.lm(align_tag, temperature=0.0, max_tokens=1024)
        started = time.perf_counter()
        settings = None
        if method == "seed" or not seen:
            compiled = student
        else:
            settings = OptimiserSettings(cast(Method, method), self.threads, self.config.seed)
            reflection = self.lm(reflect_tag, temperature=1.0, max_tokens=2048)
            try:
                # An answer DSPy cannot parse scores 0 instead of aborting the optimiser after
                # dspy's default of 10 errors: small models often break the format.
                with (
                    step_budget(self.config.step_budget),
                    dspy.context(lm=task_lm, adapter=dspy.JSONAdapter(), max_errors=1_000_000),
                ):
                    compiled = compile_program(
                        settings, self.spec, student, examples(seen, self.spec), reflection
                    )
            except (KeyboardInterrupt, BudgetExceeded, Exception) as stop:
                # Stopped (budget, Ctrl-C) or crashed: keep what it spent, and make sure its
                # leftover worker threads cannot call the model any more.
                seconds = time.perf_counter() - started
                self.proxy.close_tag(align_tag)
                self.proxy.close_tag(reflect_tag)
                if isinstance(stop, BudgetExceeded):
                    why = "step budget"
                elif isinstance(stop, KeyboardInterrupt):
                    why = "interrupt"
                else:
                    why = f"{type(stop).__name__}: {str(stop)[:500]}"
                align = self._merge(
                    self.phase(align_tag, seconds), self.phase(reflect_tag, seconds)
                )
                partial = {
                    "align": align,
                    "test": None,
                    "unseen_quality": None,
                    "invalid_answers": None,
                    "optimiser": settings.describe(len(seen)),
                    "step_budget": self.config.step_budget,
                    "stopped_by": why,
                }
                fatal = isinstance(stop, KeyboardInterrupt)
                raise StepInterrupted(partial, fatal=fatal) from None
        seconds = time.perf_counter() - started
        align = self._merge(self.phase(align_tag, seconds), self.phase(reflect_tag, seconds))
        test_tag = f"{method}.{shard}.test"
        compiled.set_lm(self.lm(test_tag, temperature=0.0, max_tokens=1024))
        started = time.perf_counter()
        answers = self.evaluate(compiled, test)
        values = [value for value, _ in answers]
        scored = self.phase(test_tag, time.perf_counter() - started)
        return {
            "align": align,
            "test": scored,
            **self.scores(test, values),
            "read_leniently": sum(1 for v, loose in answers if loose and v is not None),
            "optimiser": settings.describe(len(seen)) if settings else None,
            "instructions": [p.signature.instructions for p in compiled.predictors()],
            "demos": sum(len(p.demos) for p in compiled.predictors()),
        }


def _finished(step: dict[str, Any], budget: float | None) -> bool:
    """Done, or stopped by a step budget no larger than this run's (it would stop again)."""
    if step.get("status") == "done":
        return True
    spent = step.get("step_budget")
    return (
        step.get("stopped_by") == "step budget"
        and budget is not None
        and spent is not None
        and budget <= spent
    )


def run_baselines(
    config: BaselineConfig,
    data_dir: Path,
    out_dir: Path,
    *,
    progress: Progress | None = None,
    embedder: str = "local",
) -> dict[str, Any]:
    dataset = DATASETS[config.dataset]
    train, test = dataset.load(data_dir)
    test = test[: config.test_limit] if config.test_limit else test
    order = shard_order(train, config.seed, config.shards)
    spec = dataset.spec
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{config.run_name}.json"
    results: dict[str, Any] = (
        json.loads(path.read_text())
        if path.exists()
        else {
            "config": asdict(config),
            "dataset": dataset_record(dataset, data_dir, train, test),
            "metric": metric_name(spec.output),
            "steps": {},
        }
    )
    shards = sorted(set(config.shards))
    cpu = cpu_model()
    with upstream(config.model, threads=config.threads) as up, CountingProxy(up.url) as proxy:
        runner = _Runner(config, proxy, up, spec, out_dir)
        results["environment"] = {
            **versions(("dspy", "gepa", "litellm", "llama-cpp-python")),
            "code": code_commit(),
            "machine": platform.machine(),
            "cpu": cpu,
            "model": up.alias,
            "model_sha256": up.model_sha256,
            "server": "llama-cpp-python server, 1 slot" if up.local else up.url,
            "threads_per_method": runner.threads,
        }
        uses_dspy = bool(set(config.methods) - set(MEMALIGN_METHODS))
        planned = [("seed", 0)] if 0 in shards and uses_dspy else []
        warm_up(proxy, up.alias)
        if uses_dspy:
            runner.lm("warmup", temperature=0.0, max_tokens=2)("Say OK.")  # imports LiteLLM
        for method in config.methods:
            planned += [(method, shard) for shard in shards if method == "memalign" or shard]
        stores: dict[str, Any] = {}
        embedder_client = EmbeddingClient(get_embedder(embedder))
        try:
            for method, shard in planned:
                key = f"{method}:{shard}"
                if _finished(results["steps"].get(key, {}), config.step_budget):
                    continue
                if progress:
                    progress(f"{dataset.name}: {method} on {shard} records")
                seen = order[:shard]
                if method in MEMALIGN_METHODS:
                    if method not in stores:
                        suffix = "" if method == "memalign" else f".{method}"
                        stores[method] = open_store(
                            out_dir / "stores" / f"{config.run_name}{suffix}.db"
                        )
                    step = runner.memalign_step(
                        stores[method], embedder_client, shard, seen, test, method=method
                    )
                else:
                    try:
                        step = runner.dspy_step(method, shard, seen, test)
                    except StepInterrupted as stopped:
                        results["steps"][key] = {
                            "method": method, "shard": shard, "cpu": cpu,
                            "status": "interrupted"
                            if stopped.partial["stopped_by"] in ("step budget", "interrupt")
                            else "failed",
                            **stopped.partial,
                        }  # fmt: skip
                        write_checkpoint(path, results)
                        if stopped.fatal:
                            raise KeyboardInterrupt from None
                        continue
                results["steps"][key] = {
                    "method": method, "shard": shard, "status": "done", "cpu": cpu, **step
                }  # fmt: skip
                write_checkpoint(path, results)
        finally:
            for store in stores.values():
                store.close()
    write_checkpoint(path, results)
    return results
