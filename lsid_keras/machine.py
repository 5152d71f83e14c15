"""What this machine's CPU can do fast: the SIMD features that decide which precision runs
quickest (float32, bfloat16, int8), read once from the operating system.

Numbers measured on one machine mean little without these: the same int8 export ran 2.4x
float32 on an AVX-512 VNNI machine and 1.05-1.31x on an AVX2-only one, and mixed bfloat16
training was 1.6x faster with AVX512_BF16 and 4x slower without it. Every benchmark and
measurement script records `cpu_features()` beside its figures.

NumPy-free and TensorFlow-free, so `lsid info` answers at once.
"""

from __future__ import annotations

import functools
import platform

#: Features reported, in this order (Linux /proc/cpuinfo names): x86 vector width and fused
#: multiply-add, int8 dot products (VNNI, AMX-INT8), native bfloat16 (AVX512_BF16, AMX-BF16),
#: and the Arm equivalents (dot product `asimddp`, `i8mm`, `bf16`).
FEATURES = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile",
            "amx_int8", "amx_bf16", "asimddp", "i8mm", "bf16")
#: Features with which TensorFlow runs bfloat16 natively (without one, bfloat16 convolutions
#: run in generic code, several times slower than float32).
BF16_FEATURES = ("avx512_bf16", "amx_bf16", "bf16")
#: Features with which int8 convolutions (LiteRT XNNPACK) gain over float32.
INT8_FEATURES = ("avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm")


@functools.lru_cache(maxsize=1)
def _cpuinfo_flags() -> frozenset:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            text = file.read()
    except OSError:
        return frozenset()
    flags = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags.update(value.split())
    return frozenset(flags)


def cpu_features() -> list[str]:
    """The `FEATURES` this CPU has, in `FEATURES` order (empty where the OS does not say)."""
    flags = _cpuinfo_flags()
    return [name for name in FEATURES if name in flags]


def cpu_model() -> str:
    """The CPU's model name, or the platform's processor string."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def has_native_bfloat16() -> bool:
    return any(name in _cpuinfo_flags() for name in BF16_FEATURES)


def has_int8_dot_product() -> bool:
    return any(name in _cpuinfo_flags() for name in INT8_FEATURES)


def describe() -> str:
    """One line for logs and figures, e.g. "AMD EPYC 7B13: avx2 fma (no native bfloat16, no
    int8 dot product)"."""
    features = cpu_features()
    missing = [text for ok, text in ((has_native_bfloat16(), "no native bfloat16"),
                                     (has_int8_dot_product(), "no int8 dot product")) if not ok]
    tail = f" ({', '.join(missing)})" if missing else ""
    return f"{cpu_model()}: {' '.join(features) or 'no SIMD features reported'}{tail}"
