import errno
import os
import subprocess
import sys
import threading

import pytest
import rawpy
from raw_fixtures import random_mosaic, write_test_dng

from lsid_keras.raw import (
    RawFileNotFoundError,
    RawReadError,
    RawTooLargeError,
    TruncatedRawFileError,
)
from lsid_keras.raw.libraw import libraw_errors


@pytest.fixture()
def truncated(tmp_path):
    path = write_test_dng(tmp_path, "a.dng", random_mosaic((64, 96), 4095), "RGGB", 64, 4095)
    cut = tmp_path / "trunc.dng"
    cut.write_bytes(path.read_bytes()[:6000])
    return cut


def _stderr_of(snippet: str, cwd) -> str:
    return subprocess.run(
        [sys.executable, "-c", snippet], cwd=cwd, capture_output=True, text=True, check=True
    ).stderr


def test_libraw_prints_on_this_file_without_the_helper(truncated):
    # The control: LibRaw itself writes to fd 2 for this file, so the next tests can fail.
    snippet = (
        "import rawpy\ntry:\n    rawpy.imread('trunc.dng').unpack()\nexcept Exception:\n    pass"
    )
    assert "Unexpected end of file" in _stderr_of(snippet, truncated.parent)


@pytest.mark.parametrize(
    "call",
    [
        "from lsid_keras.raw import read_raw as f",
        "from lsid_keras.raw.develop import develop as f",
    ],
)
def test_no_libraw_line_on_stderr(truncated, call):
    snippet = (
        f"{call}\nfrom lsid_keras.raw import RawError\n"
        "try:\n    f('trunc.dng')\nexcept RawError:\n    pass"
    )
    assert _stderr_of(snippet, truncated.parent) == ""


def test_libraw_text_is_folded_into_the_reason(truncated):
    from lsid_keras.raw import read_raw

    with pytest.raises(TruncatedRawFileError) as info:
        read_raw(truncated)
    assert str(info.value) == (
        f"{truncated}: unexpected end of data (file truncated or unreadable); "
        "LibRaw: Unexpected end of file"
    )


def test_other_stderr_text_passes_through_and_fd_2_is_restored(capfd):
    before = os.fstat(2)
    with libraw_errors("x.dng"):
        os.write(2, b"x.dng: data corrupted at 12\n")  # LibRaw's line about this file: dropped
        os.write(2, b"a log line from another thread\n")
    assert capfd.readouterr().err == "a log line from another thread\n"
    after = os.fstat(2)
    assert (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino)


def test_overlapping_calls_in_threads_keep_their_own_lines(capfd):
    inside, release, reasons = threading.Barrier(2), threading.Event(), {}

    def read(name):
        try:
            with libraw_errors(name):
                inside.wait()
                os.write(2, f"{name}: Unexpected end of file\n".encode())
                release.wait(5)
                raise rawpy.LibRawIOError("io")
        except TruncatedRawFileError as error:
            reasons[name] = error.reason

    threads = [threading.Thread(target=read, args=(n,)) for n in ("a.dng", "b.dng")]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join()
    assert reasons["a.dng"].endswith("LibRaw: Unexpected end of file")
    assert reasons["b.dng"].endswith("LibRaw: Unexpected end of file")
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(
    "error, expected",
    [
        (MemoryError(), RawTooLargeError),
        (OSError(errno.ENOMEM, "Cannot allocate memory"), RawTooLargeError),
        (OSError(errno.EIO, "Input/output error"), RawReadError),
        (rawpy.LibRawTooBigError("big"), RawTooLargeError),
    ],
)
def test_memory_and_os_errors_become_raw_errors(error, expected):
    with pytest.raises(expected, match=r"^shot\.ARW: ") as info:
        with libraw_errors("shot.ARW"):
            raise error
    assert info.value.__cause__ is error


def test_package_errors_pass_through_unchanged():
    error = RawFileNotFoundError("shot.ARW")  # also an OSError: must not become RawReadError
    with pytest.raises(RawFileNotFoundError) as info:
        with libraw_errors("shot.ARW"):
            raise error
    assert info.value is error
