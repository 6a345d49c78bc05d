"""What the processor can do, read from ``/proc/cpuinfo``: the training loop and the span model pick their
number formats by it (bf16 autocast where the CPU has bf16 units, an int8 graph where it has VNNI)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
# The flags that matter here: bf16 matrix units (AMX) and instructions (AVX-512 BF16), int8 dot products
# (VNNI, in AVX-512 or AVX form), and plain AVX2 as the floor.
KNOWN_FLAGS = ("amx_bf16", "amx_int8", "avx512_bf16", "avx512_vnni", "avx_vnni", "avx512f", "avx2")


@lru_cache(maxsize=1)
def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The known flags the first processor lists (empty where there is no ``/proc/cpuinfo``)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split()) & frozenset(KNOWN_FLAGS)
    return frozenset()


def has_bf16(flags: frozenset[str] | None = None) -> bool:
    """Whether bf16 arithmetic runs in hardware (AMX or AVX-512 BF16): autocast pays off only then."""
    flags = cpu_flags() if flags is None else flags
    return bool(flags & {"amx_bf16", "avx512_bf16"})


def has_vnni(flags: frozenset[str] | None = None) -> bool:
    """Whether int8 dot products run in hardware (VNNI or AMX int8): a dynamic int8 graph pays off only then."""
    flags = cpu_flags() if flags is None else flags
    return bool(flags & {"avx512_vnni", "avx_vnni", "amx_int8"})


def describe(flags: frozenset[str] | None = None) -> str:
    """The flags as one line for a log or a model card."""
    flags = cpu_flags() if flags is None else flags
    return " ".join(sorted(flags)) or "none of " + ", ".join(KNOWN_FLAGS)
