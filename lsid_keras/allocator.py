"""Keeping freed memory for the next frame: glibc's malloc told not to hand it back.

Enhancing a 12 MP frame allocates about 350 MB in large, short-lived arrays (the RAW mosaic,
the packed frame, each tile's kept encoder maps, the output codes, Pillow's images). By
default glibc maps each array of more than 32 MB (and, before its threshold has adapted, of
more than 128 kB) freshly from the kernel and hands freed memory back at once, so every
frame has the kernel zero ~350 MB of fresh pages again: about 0.1 s of a 0.97 s frame
(`lsid enhance` with the int8 export on an AVX-512 VNNI machine, docs/performance.md). With
`keep_freed_memory` freed blocks stay in the process and the next frame reuses them: the
peak stays that of one frame (measured 689 MiB against 696), and the process keeps that
much between frames, as TensorFlow's own allocator does.

`lsid enhance` and `lsid evaluate` call it once at start; a library user who enhances many
files can call it too. It is a process-wide setting, so the package never makes it behind a
caller's back. Elsewhere than glibc (macOS, Windows, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import platform

#: mallopt parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Largest block kept in the heap and largest free top kept unreturned: 1 GiB, above any one
#: array of a frame (a 12 MP frame's float32 packed frame is 48 MB) and below `int`'s range.
KEEP_BYTES = 1 << 30


@functools.lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Tells glibc's malloc to serve blocks up to `KEEP_BYTES` from its heap and never trim
    it, so freed frames are reused rather than returned to the kernel and faulted in again.

    Returns:
        True when the setting was made (glibc), False where it does not apply. Calling it
        again does nothing more.
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # glibc before 2.26 refuses a threshold above 32 MB: keep what it takes.
    kept = mallopt(_M_MMAP_THRESHOLD, KEEP_BYTES) or mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    return bool(kept) and bool(mallopt(_M_TRIM_THRESHOLD, KEEP_BYTES))
