"""The feedback reader: what it accepts as JSONL and CSV, and where it says a file is wrong."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from pydantic import ValidationError

from memalign import Feedback, InputError, JudgeSpec, Labels
from memalign.io import read_records

SPEC = JudgeSpec(name="j", instructions="Is {{ outputs }} right?", output=Labels(("Pass", "Fail")))


def test_a_csv_cell_as_large_as_a_jsonl_field_is_read(tmp_path: Path) -> None:
    # The csv module alone stops at 131,072 characters a cell.
    path = tmp_path / "big.csv"
    path.write_text("id,outputs,label\nq," + "x" * 200_000 + ",Pass\n")
    (row,) = read_records(path, SPEC)
    assert row.record.outputs == "x" * 200_000 and row.line == 2


def test_a_key_or_column_given_twice_is_refused_not_read_as_the_last(tmp_path: Path) -> None:
    nested = tmp_path / "nested.jsonl"
    nested.write_text('{"id": "a", "inputs": {"q": 1, "q": 2}, "label": "Pass"}\n')
    with pytest.raises(InputError, match="key 'q' appears twice") as info:
        read_records(nested, SPEC)
    assert info.value.line == 1
    header = tmp_path / "twice.csv"
    header.write_text("id,outputs,outputs,label\nq,a,b,Pass\n")
    with pytest.raises(InputError, match="column appears twice") as info:
        read_records(header, SPEC)
    assert info.value.field == "outputs"
    cell = tmp_path / "cell.csv"
    cell.write_text('id,inputs,label\nq,"{""k"": 1, ""k"": 2}",Pass\n')
    with pytest.raises(InputError, match="key 'k' appears twice") as info:
        read_records(cell, SPEC)
    assert info.value.line == 2


def test_blank_trailing_columns_are_no_clash(tmp_path: Path) -> None:
    path = tmp_path / "sheet.csv"
    path.write_text("id,outputs,label,,\nq,a,Pass,,\n")
    assert [row.record.id for row in read_records(path, SPEC)] == ["q"]


def test_the_csv_cap_is_put_back_after_a_file(tmp_path: Path) -> None:
    before = csv.field_size_limit()
    path = tmp_path / "f.csv"
    path.write_text("id,outputs,label\nq,a,Pass\n")
    read_records(path, SPEC)
    assert csv.field_size_limit() == before


def test_half_a_surrogate_pair_is_refused_where_it_is(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"id": "ok", "outputs": "fine \\ud83d\\ude00", "label": "Pass"}\n'  # a whole pair
        '{"id": "bad", "outputs": "x", "feedback": "cut \\ud83d", "label": "Fail"}\n'
    )
    with pytest.raises(InputError, match="not valid Unicode") as info:
        read_records(path, SPEC)
    assert (info.value.line, info.value.field) == (2, "feedback")
    with pytest.raises(ValidationError, match="not valid Unicode"):
        Feedback(id="api", outputs={"nested": ["\udfff"]}, label="Pass")
    # Keys that are not text are left to pydantic, as before: no error of the check's own.
    assert Feedback(id="k", inputs={1: "a", "b": 2}, label="Pass").inputs == {1: "a", "b": 2}
