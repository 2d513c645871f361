"""What a benchmark result was produced with: the code, package versions, machine and weights,
recorded in every results file so a number can be traced to what made it."""

from __future__ import annotations

import hashlib
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from memalign import __version__
from memalign.providers.local.cpuinfo import CPUINFO, cpuinfo_field
from memalign.providers.local.models import LOCAL_MODELS
from memalign_bench.llama_server import model_path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_local(model: str) -> bool:
    return model == "local" or model.startswith("local:")


def model_weights(model: str) -> dict[str, str] | None:
    """The GGUF file behind a local model and its sha256; None for a remote model."""
    if not is_local(model):
        return None
    path = model_path(model)
    # The shipped models were verified against their known hash when assembled.
    shipped = LOCAL_MODELS.get(model.partition(":")[2] or "1.5b")
    return {"file": path.name, "sha256": shipped.sha256 if shipped else sha256_file(path)}


def code_commit() -> dict[str, Any] | None:
    """The git commit the running memalign was imported from, and whether its sources differ
    from it; None outside a git checkout (an installed wheel: its version says it)."""
    here = Path(__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(here), *args], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        return {
            "commit": git("rev-parse", "HEAD"),
            # The code that runs: the product's sources and the harness's (":/" is the
            # checkout's root; a bare "." would cover only this package's folder).
            "modified": bool(git("status", "--porcelain", "--", ":/src", ":/benchmarks/src")),
        }
    except (OSError, subprocess.SubprocessError):
        return None


def versions(packages: tuple[str, ...] = ()) -> dict[str, str | None]:
    found: dict[str, str | None] = {"memalign": __version__, "python": platform.python_version()}
    for package in packages:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def cpu_model(cpuinfo: Path = CPUINFO) -> str:
    """The processor's marketing name (``platform.processor()`` is often empty or just the
    architecture on Linux): wall times are comparable only between runs on the same one."""
    return cpuinfo_field("model name", cpuinfo) or platform.processor() or platform.machine()


def environment(model: str, packages: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        **versions(packages),
        "code": code_commit(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu": cpu_model(),
        "model_weights": model_weights(model),
    }
