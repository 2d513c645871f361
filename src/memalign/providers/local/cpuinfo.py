"""Fields of Linux's ``/proc/cpuinfo``: what the processor is called and what it can do."""

from __future__ import annotations

from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def cpuinfo_field(name: str, cpuinfo: Path = CPUINFO) -> str | None:
    """The first non-empty value of ``name`` (every core repeats it), or None where the file or
    the field is missing (no /proc outside Linux; some ARM kernels name no model)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name and value.strip():
            return value.strip()
    return None
