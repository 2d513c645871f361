from __future__ import annotations

import json
from pathlib import Path

import pytest

from memalign import InputError, Judge, JudgeSpec, Labels, import_judge, open_store
from memalign.testing import FakeLLM, HashEmbedder

from ..conftest import feedback_batch

SPEC = JudgeSpec(name="j", instructions="x {{ outputs }}", output=Labels(("Pass", "Fail")))


def test_export_import_gives_identical_memory_and_verdicts(tmp_path: Path) -> None:
    source = Judge.create(
        open_store(tmp_path / "a.db"), SPEC, llm=FakeLLM(), embedder=HashEmbedder()
    )
    source.align(feedback_batch())
    source.add_guideline("Never name a competitor.", pinned=True)
    path = tmp_path / "export.jsonl"
    assert source.export(path) == 1 + 3 + 3 + 3
    target_store = open_store(tmp_path / "b.db")
    import_judge(target_store, path)
    copy = Judge.load(target_store, "j", llm=FakeLLM(), embedder=HashEmbedder())
    assert copy.guidelines() == source.guidelines()
    assert copy.examples() == source.examples()
    for inputs, outputs in [("charged twice", "refund"), ("parcel", "ships"), ("voucher", "no")]:
        a = source.judge(inputs=inputs, outputs=outputs)
        b = copy.judge(inputs=inputs, outputs=outputs)
        assert (a.value, a.guideline_ids, a.example_ids) == (
            b.value,
            b.guideline_ids,
            b.example_ids,
        )


def _exported(tmp_path: Path) -> tuple[Path, list[str]]:
    """An aligned judge's export file and its lines."""
    source = Judge.create(
        open_store(tmp_path / "a.db"), SPEC, llm=FakeLLM(), embedder=HashEmbedder()
    )
    source.align(feedback_batch())
    path = tmp_path / "export.jsonl"
    source.export(path)
    return path, path.read_text().splitlines()


def test_import_checks_the_whole_file_before_writing(tmp_path: Path) -> None:
    path, lines = _exported(tmp_path)
    lines[3] = lines[3][:-5]
    path.write_text("\n".join(lines) + "\n")
    target = open_store(tmp_path / "b.db")
    with pytest.raises(InputError) as info:
        import_judge(target, path)
    assert info.value.line == 4 and info.value.file == str(path)
    assert target.list_judges() == []

    lines[3] = json.dumps({"type": "record", "record": {"id": ""}})
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as info:
        import_judge(target, path)
    assert info.value.field == "id"
    with pytest.raises(InputError, match="cannot read"):
        import_judge(target, tmp_path / "missing.jsonl")


def test_an_export_counts_its_lines_and_one_without_counts_still_imports(tmp_path: Path) -> None:
    _, lines = _exported(tmp_path)
    header = json.loads(lines[0])
    assert header["counts"] == {"record": 3, "guideline": 2, "example": 3}
    # A file written before the header carried counts imports as it did.
    del header["counts"]
    older = tmp_path / "older.jsonl"
    older.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    assert import_judge(open_store(tmp_path / "b.db"), older).spec.name == "j"
    # One example line gone from a counted file: refused, nothing created.
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:-1]) + "\n")
    store = open_store(tmp_path / "c.db")
    with pytest.raises(InputError, match="counts 3 example line") as info:
        import_judge(store, cut)
    assert (info.value.field, info.value.line) == ("counts", 1) and store.list_judges() == []
    # Counts that are not whole numbers, or null, are a malformed header, not "no counts".
    for bad in (None, {"record": "3", "guideline": 2, "example": 3}, {"record": True}):
        header["counts"] = bad
        odd = tmp_path / "odd.jsonl"
        odd.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
        with pytest.raises(InputError, match="counts must give a whole number"):
            import_judge(store, odd)
