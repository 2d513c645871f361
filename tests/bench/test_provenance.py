from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from memalign.bench.provenance import code_commit, cpu_model, environment, model_weights
from memalign.local_models import QWEN_0_5B


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
        "memalign.bench.provenance.model_path", lambda _m: Path(QWEN_0_5B.filename)
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


def test_the_processor_is_named_as_proc_cpuinfo_names_it() -> None:
    cpuinfo = Path("/proc/cpuinfo")
    names = [
        line.partition(":")[2].strip()
        for line in (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
        if line.partition(":")[0].strip() == "model name"
    ]
    if not names:
        pytest.skip("no model name in /proc/cpuinfo here")
    assert cpu_model() == names[0]
    assert environment("fake")["cpu"] == names[0]
