"""`lsid_keras.allocator`: freed frames are kept for the next one (glibc)."""

import platform
import subprocess
import sys

import pytest

from lsid_keras.allocator import keep_freed_memory

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# Allocates and touches a 48 MB frame, frees it, does it again, and prints the page faults of
# the second time: the kernel's work `keep_freed_memory` saves on every frame after the first.
_FAULTS = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from lsid_keras.allocator import keep_freed_memory
    assert keep_freed_memory()
frame = np.ones(12 << 20, np.float32)
del frame
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
frame = np.ones(12 << 20, np.float32)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _second_frame_faults(mode):
    result = subprocess.run([sys.executable, "-c", _FAULTS, mode], capture_output=True,
                            text=True, check=True)
    return int(result.stdout.split()[-1])


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc only")
def test_a_second_frame_reuses_the_first_frames_memory():
    huge_pages = (48 << 20) // (2 << 20)  # the fewest faults: 2 MB transparent huge pages
    assert _second_frame_faults("default") >= huge_pages  # handed back, faulted in again
    assert _second_frame_faults("keep") < huge_pages // 3


def test_keeping_is_said_and_made_once():
    assert keep_freed_memory() is GLIBC
    assert keep_freed_memory() is GLIBC
