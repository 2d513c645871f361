"""The one served model every method of a baseline run talks to, through the counting proxy."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

from memalign.errors import InputError
from memalign_bench.llama_server import LlamaServer, model_path
from memalign_bench.meter import CountingProxy
from memalign_bench.provenance import is_local, model_weights


@dataclass(frozen=True)
class Upstream:
    url: str  # the server root; the proxy forwards /t/<tag>/v1/... to <url>/v1/...
    alias: str
    threads: int
    local: bool
    model_sha256: str | None


@contextlib.contextmanager
def upstream(model: str, *, threads: int | None = None) -> Iterator[Upstream]:
    """Serve ``local``, ``local:0.5b`` or ``local:/path.gguf`` with llama-cpp-python's server
    for as long as the block runs, or point at an OpenAI-compatible ``URL#model``."""
    if is_local(model):
        path = model_path(model)
        weights = model_weights(model)
        digest = weights["sha256"] if weights else None
        with LlamaServer(path, alias=path.stem) as server:
            yield Upstream(server.url, path.stem, LlamaServer.slots, True, digest)
        return
    if not model.startswith(("http://", "https://")) or "#" not in model:
        raise InputError(
            "baselines need a local model or an OpenAI-compatible URL#model "
            "(e.g. http://127.0.0.1:8080/v1#qwen)",
            field="--model",
        )
    base, _, alias = model.partition("#")
    root = base.removesuffix("/").removesuffix("/v1")
    yield Upstream(root, alias, threads or 4, False, None)


def warm_up(proxy: CountingProxy, alias: str) -> None:
    """One call before anything is timed: loads the weights into the page cache."""
    body = json.dumps(
        {"model": alias, "messages": [{"role": "user", "content": "Say OK."}], "max_tokens": 2}
    ).encode()
    request = urllib.request.Request(
        proxy.base_url("warmup") + "/chat/completions",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=600) as reply:
        reply.read()
