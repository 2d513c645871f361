"""The OpenAI-compatible adapter end to end against llama.cpp's own server on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from memalign import Feedback, Judge, JudgeSpec, Labels, open_store
from memalign.models import get_provider
from memalign.providers.local.models import QWEN_0_5B, ensure_model
from memalign.testing import HashEmbedder


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(ensure_model(QWEN_0_5B)),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url + "/models", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("llama_cpp.server did not start") from None
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_judge_and_align_through_the_openai_adapter(server_url: str) -> None:
    provider = get_provider(f"{server_url}#qwen-0.5b")
    spec = JudgeSpec(
        name="reply",
        instructions="Is the reply in {{ outputs }} polite?",
        output=Labels(("Pass", "Fail")),
    )
    judge = Judge.create(open_store(":memory:"), spec, llm=provider, embedder=HashEmbedder())
    verdict = judge.judge(inputs="refund?", outputs="Thank you for your patience!")
    assert verdict.ok, verdict.error
    assert verdict.value in ("Pass", "Fail") and verdict.usage.prompt_tokens > 0
    report = judge.align(
        [
            Feedback(
                id="a",
                inputs="q",
                outputs="ok.",
                label="Fail",
                feedback="Replies must thank the customer.",
            )
        ]
    )
    assert report.records_added == 1 and report.usage.llm_calls >= 2
