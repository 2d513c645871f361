from __future__ import annotations

import memalign


def test_public_api_is_pinned() -> None:
    assert sorted(memalign.__all__) == [
        "AlignmentReport",
        "Case",
        "Example",
        "Feedback",
        "FloatScore",
        "ForgetReport",
        "Guideline",
        "InputError",
        "Judge",
        "JudgeSpec",
        "LabelError",
        "Labels",
        "MemalignError",
        "MemoryConfig",
        "MemoryStore",
        "NotFoundError",
        "Pairwise",
        "ParseError",
        "ProviderError",
        "Scale",
        "SpecError",
        "StoreError",
        "Usage",
        "Verdict",
        "__version__",
        "import_judge",
        "open_store",
    ]
    for name in memalign.__all__:
        assert hasattr(memalign, name)


def test_errors_form_one_tree() -> None:
    for name in (
        "InputError",
        "LabelError",
        "NotFoundError",
        "ParseError",
        "ProviderError",
        "SpecError",
        "StoreError",
    ):
        assert issubclass(getattr(memalign, name), memalign.MemalignError)


def test_core_imports_no_provider_sdk() -> None:
    import subprocess
    import sys

    code = (
        "import sys, memalign, memalign.judge, memalign.alignment.align; "
        "bad = [m for m in ('openai', 'anthropic', 'litellm', 'llama_cpp', 'onnxruntime') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
