from __future__ import annotations

import hashlib
import platform
import subprocess
from pathlib import Path

import pytest

from memalign.providers.local.models import QWEN_0_5B
from memalign_bench.provenance import code_commit, cpu_model, environment, model_weights


def test_weights_are_identified_by_file_and_hash(tmp_path: Path) -> None:
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF" + bytes(range(256)) * 5000)
    assert model_weights(f"local:{gguf}") == {
        "file": "tiny.gguf",
        "sha256": hashlib.sha256(gguf.read_bytes()).hexdigest(),
    }
    assert model_weights("fake") is None
    assert model_weights("http://127.0.0.1:8080/v1#qwen") is None


def test_a_shipped_model_is_named_by_its_verified_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "memalign_bench.provenance.model_path", lambda _m: Path(QWEN_0_5B.filename)
    )  # no assembling: the shipped hash was checked when the parts were joined
    assert model_weights("local:0.5b") == {
        "file": QWEN_0_5B.filename,
        "sha256": QWEN_0_5B.sha256,
    }


def test_the_code_is_named_by_its_commit() -> None:
    source = Path(__file__).resolve().parents[2] / "src" / "memalign"
    head = subprocess.run(
        ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    code = code_commit()
    assert code is not None and code["commit"] == head.stdout.strip()
    assert isinstance(code["modified"], bool)
    env = environment("fake", ("pydantic",))
    assert env["code"] == code and env["model_weights"] is None and env["pydantic"]


def test_the_processor_is_named_by_cpuinfo_or_else_by_platform(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\n"
        "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Processor\n"
    )
    assert cpu_model(cpuinfo) == "Intel(R) Xeon(R) Processor"
    # No /proc (macOS, Windows) or no model name (some ARM kernels): the platform's own words.
    fallback = cpu_model(tmp_path / "missing")
    assert fallback and fallback in (platform.processor(), platform.machine())
    cpuinfo.write_text("processor\t: 0\nBogoMIPS\t: 50.00\n")
    assert cpu_model(cpuinfo) == fallback
    assert environment("fake")["cpu"] == cpu_model()
