"""MLflow's own ``MemAlignOptimizer`` vs memalign's ``MemalignOptimizer``, through the same
``judge.align()`` call, on the same MLflow traces with HUMAN assessments.

    .venv/bin/python benchmarks/scripts/mlflow_side_by_side.py --model fake \
        [--dataset code_review_python] [--train 20] [--more 10] [--test 10] [--forget 5] \
        [--data ../shared/datasets] [--out docs/benchmarks/mlflow-side-by-side]

One endpoint on 127.0.0.1 serves MLflow's optimizer (chat completions and embeddings, OpenAI
style) and counts every call and token. ``--model fake`` answers in-process and deterministically
(MLflow's distillation prompt: one guideline per distinct rationale, citing every record that
gave it; its judge prompt: the label of the first retrieved example), and memalign runs its own
fake model and hash embedder; tokens are counted with one estimator (memalign's
``estimate_tokens``) on both sides. With the fake, the call and token counts, the incremental
cost and deletion completeness are properties of the two methods; agreement and latency are
not quality measures and are marked so. ``--model http://host:port/v1#name`` forwards both
systems' chat calls through the same endpoint to that server (e.g. the local 1.5B under
llama.cpp's server) and embeds with memalign's MiniLM for both; that mode is written but has
not been run yet (see docs/benchmarks/mlflow-side-by-side/).

Deletion completeness: after ``unalign`` of ``--forget`` training traces, how many guidelines
the judge still uses were distilled (even in part) from the removed feedback, and whether any
removed rationale (one no remaining record also gave) is still in what the judge stores or
uses (its serialized form, its memory store's files, its scoring instructions).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from memalign.judge_spec import Labels, Pairwise, Scale
from memalign.prompts.rendering import estimate_tokens
from memalign.records import Feedback
from memalign.testing import HashEmbedder
from memalign_bench.datasets import DATASETS

# MLflow's optimizer; memalign's; memalign without running the judge on new feedback first (its
# disagreement detection costs one judge call per new record).
SYSTEMS = ("mlflow", "memalign", "memalign-nodetect")

# -- one endpoint for every call --------------------------------------------------------------


def _llama_compatible(body: dict[str, Any]) -> dict[str, Any]:
    """MLflow asks for ``response_format: json_schema`` (OpenAI's structured outputs), which
    llama-cpp-python's server refuses; it takes the same schema as ``json_object`` + ``schema``
    and constrains decoding to it alike. Nothing else in the request is changed."""
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        return {**body, "response_format": {"type": "json_object", "schema": schema}}
    return body


@dataclass
class Count:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    embed_calls: int = 0
    embedded_texts: int = 0
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot(self) -> dict[str, float]:
        with self.lock:
            return {
                "calls": self.calls,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "embed_calls": self.embed_calls,
                "embedded_texts": self.embedded_texts,
                "seconds": round(self.seconds, 3),
            }


def _fake_mlflow_answer(body: dict[str, Any]) -> str:
    prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
    if '"guidelines"' in prompt and "source_trace_ids" in prompt:
        existing = set(
            re.findall(r"^\s+- (.+)$", prompt.split("user judgement examples:")[0], re.M)
        )
        by_text: dict[str, list[int]] = {}
        for ident, block in re.findall(r'"id": (\d+),(.*?)\n}', prompt, re.S):
            found = re.search(r'"rationale": "(.*)",', block)
            text = found.group(1).strip() if found else ""
            if text and text not in existing:
                by_text.setdefault(text, []).append(int(ident))
        return json.dumps(
            {
                "guidelines": [
                    {"guideline_text": t, "source_trace_ids": i} for t, i in by_text.items()
                ]
            }
        )
    example = re.search(r"Example 1: \{.*?'result': '([^']*)'", prompt)
    enum = re.findall(r'"enum": \[([^\]]*)\]', json.dumps(body.get("response_format") or {}))
    first = json.loads(f"[{enum[0]}]")[0] if enum else "yes"
    result = example.group(1) if example else first
    return json.dumps({"rationale": "Fake judge: like the first example.", "result": result})


class Endpoint:
    """Chat completions and embeddings on 127.0.0.1, each call counted per client path."""

    def __init__(self, upstream: str | None, embed: Any) -> None:
        self.upstream = upstream
        self.embed = embed
        self.counts: dict[str, Count] = {name: Count() for name in SYSTEMS}
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                client = self.path.strip("/").split("/")[0]
                reply = endpoint.handle(client, self.path, body)
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, client: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        count = self.counts[client]
        started = time.perf_counter()
        if path.endswith("/embeddings"):
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            vectors = self.embed.embed([str(t) for t in texts])
            with count.lock:
                count.embed_calls += 1
                count.embedded_texts += len(texts)
            data = [
                {"object": "embedding", "index": i, "embedding": list(map(float, v))}
                for i, v in enumerate(vectors)
            ]
            return {
                "object": "list",
                "data": data,
                "model": body.get("model"),
                "usage": {"prompt_tokens": 0, "total_tokens": 0},
            }
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        if self.upstream is None:
            text = _fake_mlflow_answer(body)
            reply = {
                "id": "fake",
                "object": "chat.completion",
                "model": body.get("model"),
                "created": int(time.time()),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": text},
                    }
                ],
            }
            usage = (estimate_tokens(prompt), estimate_tokens(text))
        else:
            base, _, model = self.upstream.partition("#")
            request = urllib.request.Request(
                base.rstrip("/") + "/chat/completions",
                data=json.dumps(
                    {**_llama_compatible(body), "model": model or body.get("model")}
                ).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=600) as response:
                reply = json.loads(response.read())
            got = reply.get("usage") or {}
            usage = (int(got.get("prompt_tokens", 0)), int(got.get("completion_tokens", 0)))
        with count.lock:
            count.calls += 1
            count.prompt_tokens += usage[0]
            count.completion_tokens += usage[1]
            count.seconds += time.perf_counter() - started
        reply["usage"] = {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        }
        return reply

    def close(self) -> None:
        self.server.shutdown()


# -- the same traces for both -------------------------------------------------------------------


def value_type(output: Any) -> Any:
    if isinstance(output, Labels):
        return Literal.__getitem__(tuple(output.labels))
    if isinstance(output, Scale):
        return Literal.__getitem__(tuple(range(output.low, output.high + 1)))
    if isinstance(output, Pairwise):
        raise SystemExit("MLflow's MemAlignOptimizer has no pairwise judges: pick another dataset")
    return float


def log_traces(mlflow: Any, name: str, records: list[Feedback]) -> dict[str, Feedback]:
    from mlflow.entities import AssessmentSource, AssessmentSourceType

    # The traced app answers with the record's outputs; only the question is its input.
    answer: dict[str, Any] = {}

    @mlflow.trace(name="app")  # type: ignore[untyped-decorator]  # mlflow is passed as Any
    def app(inputs: Any) -> Any:
        return answer["outputs"]

    by_trace = {}
    for record in records:
        answer["outputs"] = record.outputs
        app(record.inputs)
        trace_id = mlflow.get_last_active_trace_id()
        if record.expectations is not None:
            # Both optimizers read a trace's expectations from its expectation assessments.
            mlflow.log_expectation(trace_id=trace_id, name="expected", value=record.expectations)
        mlflow.log_feedback(
            trace_id=trace_id,
            name=name,
            value=record.label,
            rationale=record.feedback,
            source=AssessmentSource(
                source_type=AssessmentSourceType.HUMAN, source_id=record.annotator or "expert"
            ),
        )
        by_trace[trace_id] = record
    return by_trace


# -- measuring one system -----------------------------------------------------------------------


def measure(system: str, args: argparse.Namespace, ctx: dict[str, Any]) -> dict[str, Any]:
    import mlflow
    from mlflow.genai.judges import make_judge

    endpoint: Endpoint = ctx["endpoint"]
    spec = ctx["spec"]
    train_ids, more_ids, test_ids = ctx["train"], ctx["more"], ctx["test"]
    base = make_judge(
        name=spec.name,
        instructions=spec.instructions,
        feedback_value_type=value_type(spec.output),
        model="openai:/judge",
        base_url=f"{endpoint.url}/mlflow/v1",
    )
    if system == "mlflow":
        from mlflow.genai.judges.optimizers import MemAlignOptimizer

        optimizer: Any = MemAlignOptimizer(
            reflection_lm="openai:/judge", retrieval_k=5, embedding_model="openai:/embed"
        )
    else:
        from memalign.integrations.mlflow import MemalignOptimizer

        model = "fake" if args.model == "fake" else f"{endpoint.url}/{system}/v1#judge"
        embedder = "hash" if args.model == "fake" else "local"
        optimizer = MemalignOptimizer(
            ctx["dir"] / f"{system}.db",
            model=model,
            embedder=embedder,
            detect_disagreements=system != "memalign-nodetect",
        )
    counts = endpoint.counts[system]

    def run(step: str, fn: Any) -> Any:
        before = counts.snapshot()
        started = time.perf_counter()
        result = fn()
        after = counts.snapshot()
        row = {k: after[k] - before[k] for k in after}
        row["wall_seconds"] = round(time.perf_counter() - started, 3)
        if system != "mlflow" and args.model == "fake":
            usage = getattr(result, "last_report", None)
            usage = usage.usage if usage is not None else None
            if usage is not None:
                row.update(
                    calls=usage.llm_calls,
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                    embed_calls=usage.embed_calls,
                    embedded_texts=usage.embedded_texts,
                )
        ctx["rows"].setdefault(system, {})[step] = row
        return result

    traces = {tid: mlflow.get_trace(tid) for tid in [*train_ids, *more_ids, *test_ids]}
    judge = run("align", lambda: base.align([traces[t] for t in train_ids], optimizer=optimizer))
    judge = run("align +more", lambda: judge.align([traces[t] for t in more_ids], optimizer))
    agree, latencies = 0, []
    for tid in test_ids:
        started = time.perf_counter()
        feedback = judge(trace=traces[tid])
        latencies.append(time.perf_counter() - started)
        agree += str(feedback.value).lower() == str(ctx["records"][tid].label).lower()
    removed = train_ids[: args.forget]
    judge = judge.unalign([traces[t] for t in removed])
    return {
        "agreement": round(agree / max(1, len(test_ids)), 3),
        "verdict_seconds_median": round(sorted(latencies)[len(latencies) // 2], 4),
        **deletion(system, judge, removed, ctx),
    }


def deletion(system: str, judge: Any, removed: list[str], ctx: dict[str, Any]) -> dict[str, Any]:
    records: dict[str, Feedback] = ctx["records"]
    kept_texts = {r.feedback for t, r in records.items() if t not in removed and r.feedback}
    gone = {records[t].feedback for t in removed if records[t].feedback} - kept_texts
    if system == "mlflow":
        # MLflow maps the prompt's example numbers back to trace ids when it stores them.
        tainted = sum(
            1
            for g in judge._semantic_memory
            if any(str(s) in removed for s in (g.source_trace_ids or []))
        )
        where = json.dumps(judge.model_dump()) + judge.instructions
    else:
        tainted = sum(1 for g in judge.memalign.guidelines() if set(g.sources) & set(removed))
        where = judge.instructions + "".join(
            f.read_bytes().decode("utf-8", "replace")
            for f in (ctx["dir"]).rglob(f"{system}.db*")
            if f.is_file()
        )
    return {
        "guidelines_from_removed_feedback": tainted,
        "removed_rationales_still_present": sum(1 for text in gone if text and text in where),
        "removed_rationales": len(gone),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fake")
    parser.add_argument("--dataset", default="code_review_python", choices=sorted(DATASETS))
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "datasets"
    )
    parser.add_argument("--train", type=int, default=20)
    parser.add_argument("--more", type=int, default=10)
    parser.add_argument("--test", type=int, default=10)
    parser.add_argument("--forget", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--systems", default=",".join(SYSTEMS), help=f"comma-separated, of {', '.join(SYSTEMS)}"
    )
    args = parser.parse_args()
    systems = [s for s in args.systems.split(",") if s]
    if set(systems) - set(SYSTEMS):
        parser.error(f"--systems: one or more of {', '.join(SYSTEMS)}")

    out = args.out.resolve() if args.out is not None else None
    work = Path(tempfile.mkdtemp(prefix="mlflow-side-by-side-"))
    os.chdir(work)  # MLflow writes ./mlruns artifacts
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ["MEMALIGN_CONFIG"] = str(work / "none.toml")
    # A 1.5B on a CPU takes minutes over a long reflection prompt: memalign's 60 s default
    # would abandon it (MLflow's own client waits for it).
    os.environ.setdefault("MEMALIGN_TIMEOUT", "900")
    if args.model == "fake":
        embed: Any = HashEmbedder()
    else:
        from memalign.embedders.onnx_minilm import MiniLMEmbedder

        embed = MiniLMEmbedder()
    endpoint = Endpoint(None if args.model == "fake" else args.model, embed)
    os.environ["OPENAI_API_BASE"] = os.environ["OPENAI_BASE_URL"] = f"{endpoint.url}/mlflow/v1"
    os.environ["OPENAI_API_KEY"] = "not-used"

    import dspy
    import mlflow

    # DSPy caches answers on disk across runs: every call must reach the endpoint to be counted.
    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)
    mlflow.set_tracking_uri(f"sqlite:///{work / 'mlflow.db'}")
    mlflow.set_experiment("side-by-side")
    dataset = DATASETS[args.dataset]
    train, test = dataset.load(args.data)
    need = args.train + args.more
    by_trace = log_traces(mlflow, dataset.spec.name, train[:need] + test[: args.test])
    ids = list(by_trace)
    ctx: dict[str, Any] = {
        "endpoint": endpoint,
        "spec": dataset.spec,
        "records": by_trace,
        "dir": work,
        "rows": {},
        "train": ids[: args.train],
        "more": ids[args.train : need],
        "test": ids[need:],
    }
    results: dict[str, Any] = {}
    partial = (
        None
        if out is None
        else out / f"{args.dataset}-{'fake' if args.model == 'fake' else 'model'}.partial.json"
    )
    for system in systems:
        results[system] = measure(system, args, ctx)
        if partial is not None:  # a long local run keeps what each system measured
            partial.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps({"steps": ctx["rows"], "results": results}, indent=2))
    endpoint.close()
    report = {
        "command": "benchmarks/scripts/mlflow_side_by_side.py "
        + " ".join(f"--{k} {v}" for k, v in vars(args).items() if k not in ("data", "out")),
        "mlflow_version": mlflow.__version__,
        "model": args.model,
        "dataset": args.dataset,
        "steps": ctx["rows"],
        "results": results,
    }
    text = json.dumps(report, indent=2)
    print(text)
    shutil.rmtree(work, ignore_errors=True)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        name = f"{args.dataset}-{'fake' if args.model == 'fake' else 'model'}.json"
        (out / name).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
