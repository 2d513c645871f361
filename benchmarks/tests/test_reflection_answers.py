"""`benchmarks/scripts/reflection_answers.py` end to end on the fake model: the file it writes
holds one raw answer per reflection call and the guards' reading of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MEMALIGN_BENCH_DATA", ROOT.parent / "shared" / "datasets"))


@pytest.mark.skipif(not DATA.is_dir(), reason=f"benchmark data not at {DATA}")
def test_writes_every_raw_answer_and_what_was_kept(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "scripts" / "reflection_answers.py"),
            "code_review_python",
            "--signal",
            "feedback",
            "--records",
            "6",
            "--model",
            "fake",
            "--data",
            str(DATA),
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    report = json.loads(
        (tmp_path / "code_review_python__fake__signal-feedback__seed0__6.json").read_text()
    )
    assert (report["signal"], report["records"], report["unreadable"]) == ("feedback", 6, 0)
    proposed = [g for a in report["answers"] for g in json.loads(a["text"])["guidelines"]]
    assert report["answers"] and report["proposed"] == len(proposed)
    kept = {g["text"] for g in report["kept"]}
    assert kept and kept <= {g["text"] for g in proposed}
