from __future__ import annotations

from pathlib import Path

from memalign.providers.local.cpuinfo import cpuinfo_field


def test_a_field_is_its_first_non_empty_value_and_none_when_missing(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t:\nflags\t\t: fpu avx2\n"
        "processor\t: 1\nmodel name\t: AMD EPYC 9B14\nflags\t\t: fpu avx512f\n"
    )
    assert cpuinfo_field("model name", cpuinfo) == "AMD EPYC 9B14"
    assert cpuinfo_field("flags", cpuinfo) == "fpu avx2"
    assert cpuinfo_field("BogoMIPS", cpuinfo) is None
    assert cpuinfo_field("flags", tmp_path / "missing") is None
