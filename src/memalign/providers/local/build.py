"""Whether the installed llama.cpp build can run on this CPU, checked before a model loads.

llama.cpp compiled for the machine it is built on (``-march=native``, what ``pip install
llama-cpp-python`` does) includes its AMX matrix kernels on Intel CPUs that have AMX (Sapphire
Rapids and later). With Q4_K_M weights, the format memalign ships, those kernels crash the
process on the first decode (ggml-org/llama.cpp#20824, closed without a fix): a segmentation
fault that ends the program with no message. memalign refuses to load such a build and says how
to rebuild it; ``MEMALIGN_ALLOW_AMX=1`` skips the check where the kernels are known to work.
"""

from __future__ import annotations

import functools
import os
from importlib import metadata
from pathlib import Path

from memalign.errors import ProviderError
from memalign.providers.local.cpuinfo import CPUINFO, cpuinfo_field

AMX_KERNEL = b"ggml_backend_amx_mul_mat"
NO_AMX_FLAGS = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"


def cpu_has_amx(cpuinfo: Path = CPUINFO) -> bool:
    # No /proc: not Linux, where the crash was reported and is checked for.
    return "amx_int8" in (cpuinfo_field("flags", cpuinfo) or "").split()


def build_has_amx(package_dir: Path) -> bool:
    """Whether any llama.cpp library in the package holds the AMX kernels (they are compiled
    out, name and all, when the compiler was told not to use AMX)."""
    libraries = {
        path.resolve()
        for path in package_dir.rglob("*")
        if path.is_file() and ("ggml" in path.name or "llama" in path.name)
        if ".so" in path.name or path.suffix in (".dylib", ".dll")
    }
    return any(AMX_KERNEL in library.read_bytes() for library in libraries)


def check_llama_build(
    package_dir: Path,
    cpuinfo: Path = CPUINFO,
    requirement: str = "llama-cpp-python",
) -> None:
    if os.environ.get("MEMALIGN_ALLOW_AMX") == "1" or not cpu_has_amx(cpuinfo):
        return
    if build_has_amx(package_dir):
        raise ProviderError(
            "llama-cpp-python was built with llama.cpp's AMX kernels, which crash on this CPU "
            "with the local models (ggml-org/llama.cpp#20824). Rebuild it without them: "
            f'CFLAGS="{NO_AMX_FLAGS}" CXXFLAGS="{NO_AMX_FLAGS}" pip install --force-reinstall '
            f"--no-deps --no-cache-dir {requirement} (or set MEMALIGN_ALLOW_AMX=1 if they work "
            "here)",
            provider="local",
        )


@functools.cache
def check_installed_llama_build() -> None:
    """The check for the installed ``llama_cpp`` package, once per process."""
    import llama_cpp

    pinned = f"llama-cpp-python=={metadata.version('llama-cpp-python')}"
    check_llama_build(Path(llama_cpp.__file__).parent, requirement=pinned)
