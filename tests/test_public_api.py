from __future__ import annotations

import inspect

import memalign
import memalign.errors


def test_public_api_is_pinned() -> None:
    assert sorted(memalign.__all__) == [
        "AlignmentReport",
        "Case",
        "Check",
        "CheckHit",
        "Clause",
        "Completion",
        "CompletionRequest",
        "DependencyError",
        "Embedder",
        "Example",
        "Feedback",
        "FloatScore",
        "ForgetReport",
        "Guideline",
        "InputError",
        "Judge",
        "JudgeSpec",
        "LLMProvider",
        "LabelError",
        "Labels",
        "MemalignError",
        "MemoryConfig",
        "MemoryStore",
        "Message",
        "ModelAssetError",
        "Models",
        "NotFoundError",
        "Pairwise",
        "ParseError",
        "Predicate",
        "ProviderError",
        "RecordConflictError",
        "Scale",
        "SpecError",
        "StoreError",
        "Usage",
        "Verdict",
        "__version__",
        "build_models",
        "export_judge",
        "import_judge",
        "open_store",
    ]
    for name in memalign.__all__:
        assert hasattr(memalign, name)


def test_every_error_class_is_exported_and_in_one_tree() -> None:
    defined = {
        name
        for name, value in vars(memalign.errors).items()
        if inspect.isclass(value) and value.__module__ == "memalign.errors"
    }
    assert defined  # the tree is read from the module, so a new class is caught here
    for name in defined:
        assert name in memalign.__all__, f"{name} is not exported"
        assert issubclass(getattr(memalign, name), memalign.MemalignError)


def test_subsystem_faces_are_curated() -> None:
    import memalign.alignment
    import memalign.embedders
    import memalign.evaluation
    import memalign.io
    import memalign.judging
    import memalign.memory
    import memalign.providers
    import memalign.stores

    for package in (
        memalign.alignment,
        memalign.embedders,
        memalign.evaluation,
        memalign.io,
        memalign.judging,
        memalign.memory,
        memalign.providers,
        memalign.stores,
    ):
        assert package.__all__, package.__name__
        for name in package.__all__:
            assert hasattr(package, name), f"{package.__name__}.{name}"


def test_a_model_string_is_enough_to_create_and_load_a_judge() -> None:
    store = memalign.open_store(":memory:")
    spec = memalign.JudgeSpec(
        name="j", instructions="Is {{ outputs }} ok?", output=memalign.Labels(("Pass", "Fail"))
    )
    created = memalign.Judge.create(store, spec, model="fake")
    verdict = created.judge(inputs="q", outputs="a")
    assert verdict.ok and verdict.value in ("Pass", "Fail")
    loaded = memalign.Judge.load(store, "j", model="fake")
    assert loaded.judge_id == created.judge_id


def test_core_imports_no_provider_sdk() -> None:
    import subprocess
    import sys

    code = (
        "import sys, memalign, memalign.judge, memalign.alignment.align, memalign.cli; "
        "bad = [m for m in ('openai', 'anthropic', 'litellm', 'llama_cpp', 'onnxruntime', "
        "'dspy', 'matplotlib', 'memalign_bench', 'mlflow') if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
