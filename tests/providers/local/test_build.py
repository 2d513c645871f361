from __future__ import annotations

from pathlib import Path

import pytest

from memalign.errors import ProviderError
from memalign.providers.local.build import AMX_KERNEL, build_has_amx, check_llama_build, cpu_has_amx

SAPPHIRE_RAPIDS = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f amx_bf16 amx_tile amx_int8\n"
EPYC = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_vnni\n"


def _cpuinfo(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    return path


def _package(tmp_path: Path, *, amx: bool) -> Path:
    lib = tmp_path / "llama_cpp" / "lib"
    lib.mkdir(parents=True)
    kernels = b"\0ggml_graph_compute\0" + (AMX_KERNEL + b"\0" if amx else b"")
    (lib / "libggml-cpu.so.0.25.3").write_bytes(b"\x7fELF" + kernels)
    (lib / "libggml-cpu.so").symlink_to("libggml-cpu.so.0.25.3")
    (lib / "libllama.so").write_bytes(b"\x7fELF\0llama_decode\0")
    (tmp_path / "llama_cpp" / "llama.py").write_text(AMX_KERNEL.decode())  # not a library
    return tmp_path / "llama_cpp"


def test_amx_is_read_from_the_cpu_flags(tmp_path: Path) -> None:
    assert cpu_has_amx(_cpuinfo(tmp_path, SAPPHIRE_RAPIDS))
    assert not cpu_has_amx(_cpuinfo(tmp_path, EPYC))
    assert not cpu_has_amx(tmp_path / "no-proc")


def test_a_build_with_the_amx_kernels_is_told_from_one_without(tmp_path: Path) -> None:
    assert build_has_amx(_package(tmp_path / "with", amx=True))
    assert not build_has_amx(_package(tmp_path / "without", amx=False))


def test_only_an_amx_build_on_an_amx_cpu_is_refused_with_the_rebuild_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MEMALIGN_ALLOW_AMX", raising=False)
    amx_build, clean_build = _package(tmp_path / "a", amx=True), _package(tmp_path / "b", amx=False)
    amx_cpu, other_cpu = _cpuinfo(tmp_path / "a", SAPPHIRE_RAPIDS), _cpuinfo(tmp_path / "b", EPYC)
    with pytest.raises(ProviderError, match=r"llama\.cpp#20824") as refused:
        check_llama_build(amx_build, amx_cpu, "llama-cpp-python==0.3.36")
    assert "--no-cache-dir llama-cpp-python==0.3.36 " in str(refused.value)
    assert 'CFLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"' in str(refused.value)
    assert refused.value.provider == "local" and not refused.value.retryable
    check_llama_build(clean_build, amx_cpu)
    check_llama_build(amx_build, other_cpu)
    monkeypatch.setenv("MEMALIGN_ALLOW_AMX", "1")  # where the kernels are known to work
    check_llama_build(amx_build, amx_cpu)
