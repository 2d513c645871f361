"""The local model served over HTTP (llama-cpp-python's OpenAI-compatible server), so memalign
and the DSPy optimisers reach the very same weights through the same meter."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from memalign.errors import DependencyError, ProviderError
from memalign.providers.local.build import check_installed_llama_build
from memalign.providers.local.models import LOCAL_MODELS, ensure_model


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def model_path(model: str) -> Path:
    """``local`` / ``local:1.5b`` / ``local:0.5b`` / ``local:/path.gguf`` → the GGUF file."""
    name = model.partition(":")[2] or "1.5b"
    if name in LOCAL_MODELS:
        return ensure_model(LOCAL_MODELS[name])
    path = Path(name)
    if not path.is_file():
        raise ProviderError(f"no GGUF file at {path}", provider="local")
    return path


class LlamaServer:
    """``with LlamaServer(path) as server:`` → ``server.url`` answers ``/v1/chat/completions``.

    llama-cpp-python's server answers one request at a time (one slot), so every method run
    against it gets one thread: parallel clients would only queue.
    """

    slots = 1

    def __init__(
        self, path: Path, *, alias: str, n_ctx: int = 8192, threads: int | None = None
    ) -> None:
        try:
            import llama_cpp.server  # noqa: F401
        except ImportError:
            raise DependencyError(
                "llama-cpp-python[server]", "pip install 'memalign-bench[baselines]'"
            ) from None
        check_installed_llama_build()  # the server would die on its first request instead
        self.alias = alias
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(path), "--model_alias", alias,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(n_ctx), "--interrupt_requests", "False", "--verbose", "False",
        ]  # fmt: skip
        if threads:
            command += ["--n_threads", str(threads), "--n_threads_batch", str(threads)]
        self._command = command
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout: float = 300.0) -> LlamaServer:
        # A file, not a pipe: nobody reads the server's log while it runs, and a full pipe
        # would stall it.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self._process = subprocess.Popen(self._command, stdout=subprocess.DEVNULL, stderr=self._log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._log.seek(0)
                error = self._log.read().decode(errors="replace")
                raise ProviderError(f"llama.cpp server exited: {error[-2000:]}", provider="local")
            try:
                with urllib.request.urlopen(f"{self.url}/v1/models", timeout=2) as reply:
                    json.loads(reply.read())
                return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        self.close()
        raise ProviderError(f"llama.cpp server not up after {timeout:.0f} s", provider="local")

    def close(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._log:
            self._log.close()

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()
