"""Calling LibRaw through rawpy: its failures as `RawError`s, its own messages off the terminal.

Every rawpy call on a file (open, unpack, postprocess, reading fields) runs inside
`libraw_errors(path)`, which does two things:

- LibRaw's C code prints some messages itself, on the process's stderr file descriptor
  ("night.ARW: Unexpected end of file", "night.ARW: data corrupted at 1234"), beside the one
  error line the package prints. While the block runs, fd 2 is redirected to an unlinked
  temporary file; afterwards it is restored and LibRaw's lines (those that start with the path)
  are folded into the error's reason, or dropped when the call succeeded (LibRaw then chose to
  go on). Anything else written to fd 2 meanwhile (another thread's log line) is passed on to the
  real stderr. The redirection is per process: overlapping blocks in several threads share one
  redirection, which ends when the last block does.
- rawpy's exceptions become `RawError` subclasses whose message starts with the path, with the
  rawpy exception as `__cause__`; an out-of-memory inside LibRaw or NumPy becomes
  `RawTooLargeError`. `RawError`s raised inside the block pass through unchanged.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
import threading
from collections import Counter

import rawpy

from lsid_keras.raw.errors import (
    CorruptRawFileError,
    NotARawFileError,
    RawError,
    RawReadError,
    RawTooLargeError,
    TruncatedRawFileError,
)

_MAX_DETAIL_CHARS = 200

_lock = threading.Lock()
_active_paths: Counter = Counter()
_redirect: dict = {}  # "saved": dup of the real fd 2, "capture": the temporary file


def _start_capture(path: str) -> int | None:
    """Redirects fd 2 (first caller only); returns where `path`'s text starts, None if no fd 2."""
    with _lock:
        if not _redirect:
            try:
                saved = os.dup(2)
            except OSError:  # no stderr at all: nothing to silence
                return None
            for stream in (sys.stderr, sys.__stderr__):
                with contextlib.suppress(Exception):
                    stream.flush()
            capture = tempfile.TemporaryFile()
            os.dup2(capture.fileno(), 2)
            _redirect.update(saved=saved, capture=capture)
        _active_paths[path] += 1
        return os.fstat(_redirect["capture"].fileno()).st_size


def _end_capture(path: str, start: int | None) -> list[str]:
    """Restores fd 2 (last caller only); returns LibRaw's lines about `path` since `start`."""
    if start is None:
        return []
    with _lock:
        capture, saved = _redirect["capture"], _redirect["saved"]
        end = os.fstat(capture.fileno()).st_size
        text = os.pread(capture.fileno(), end - start, start).decode("utf-8", "replace")
        prefixes = tuple(f"{p}: " for p in _active_paths)
        _active_paths[path] -= 1
        if not +_active_paths:
            _active_paths.clear()
            os.dup2(saved, 2)
            os.close(saved)
            capture.close()
            _redirect.clear()
        mine, others = [], []
        for line in text.splitlines(keepends=True):
            if line.startswith(f"{path}: "):
                mine.append(line[len(path) + 2 :].strip())
            elif not line.startswith(prefixes):  # another open file's lines are its own
                others.append(line)
        if others:
            with contextlib.suppress(OSError):
                os.write(saved if _redirect else 2, "".join(others).encode())
    return list(dict.fromkeys(line for line in mine if line))


def _reason(reason: str, libraw_lines: list[str]) -> str:
    if not libraw_lines:
        return reason
    detail = "; ".join(libraw_lines)
    if len(detail) > _MAX_DETAIL_CHARS:
        detail = detail[: _MAX_DETAIL_CHARS - 3] + "..."
    return f"{reason}; LibRaw: {detail}"


@contextlib.contextmanager
def libraw_errors(path: str):
    """Runs a block of rawpy calls on `path` with LibRaw's stderr captured and its errors mapped.

    Raises (from rawpy's exceptions, each with LibRaw's own message appended when it printed
    one):
        NotARawFileError: LibRawFileUnsupportedError.
        TruncatedRawFileError: LibRawIOError (LibRaw read past the end of the file).
        RawTooLargeError: LibRaw refused the size, or memory ran out (LibRaw, NumPy or
            an ENOMEM OSError from rawpy).
        CorruptRawFileError: LibRawDataError and any other LibRawError.
        RawReadError: another OSError from rawpy.
    """
    libraw_lines: list[str] = []
    try:
        start = _start_capture(path)
        try:
            yield
        finally:
            libraw_lines = _end_capture(path, start)
    except RawError:
        raise
    except rawpy.LibRawFileUnsupportedError as error:
        raise NotARawFileError(
            path,
            _reason(
                "not a RAW file LibRaw can decode (unknown or unsupported format)", libraw_lines
            ),
        ) from error
    except rawpy.LibRawIOError as error:
        raise TruncatedRawFileError(
            path, _reason("unexpected end of data (file truncated or unreadable)", libraw_lines)
        ) from error
    except rawpy.LibRawTooBigError as error:
        raise RawTooLargeError(
            path, _reason("image too big for LibRaw to process", libraw_lines)
        ) from error
    except (
        rawpy.LibRawUnsufficientMemoryError,
        rawpy.LibRawMemPoolOverflowError,
        MemoryError,
    ) as error:
        raise RawTooLargeError(
            path, _reason("not enough memory to decode the image", libraw_lines)
        ) from error
    except rawpy.LibRawDataError as error:
        raise CorruptRawFileError(path, _reason("corrupt RAW data", libraw_lines)) from error
    except rawpy.LibRawError as error:
        raise CorruptRawFileError(
            path, _reason(f"LibRaw could not decode the file ({error})", libraw_lines)
        ) from error
    except OSError as error:
        # rawpy reports C-level errno failures (e.g. ENOMEM from postprocess) as plain OSError.
        if error.errno == errno.ENOMEM:
            raise RawTooLargeError(
                path, _reason("not enough memory to decode the image", libraw_lines)
            ) from error
        raise RawReadError(
            path, _reason(f"cannot be read ({error.strerror or error})", libraw_lines)
        ) from error
