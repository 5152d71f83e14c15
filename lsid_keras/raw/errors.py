"""Exceptions for bad RAW input.

Every error raised for a bad file or an unsupported sensor layout is a `RawError`, so callers
(the CLI, dataset builders) can catch one class and print one line. Each message starts with the
file path (when there is one) followed by the reason, e.g.
`"shots/a.ARW: file is empty (0 bytes)"`. The underlying rawpy exception, if any, is kept as
`__cause__`.

`RawFileNotFoundError` is both a `RawError` and a `FileNotFoundError`, so code written against
either convention catches it. Every class pickles (it is an `lsid_keras.errors.LsidError`), so
an error raised in a decoding worker process reaches the parent intact.
"""

from __future__ import annotations

import errno
import os

# The module, not the class: this module's namespace lists only RAW errors.
from lsid_keras import errors as package_errors


class RawError(package_errors.PathError):
    """Base class for RAW input errors.

    Args:
        path: the offending file, or None when the error concerns in-memory data.
        reason: what is wrong, in words a user can act on.

    Attributes:
        path: the path as a string, or None.
        reason: the reason string.
    """


class RawFileNotFoundError(RawError, FileNotFoundError):
    """The path does not exist."""

    def __init__(self, path: str | os.PathLike, reason: str = "no such file"):
        super().__init__(path, reason, errno.ENOENT)


class EmptyRawFileError(RawError):
    """The file exists but has zero bytes."""


class TruncatedRawFileError(RawError):
    """The file ends before the data its header announces (LibRaw: input/output error)."""


class NotARawFileError(RawError):
    """The file is not a RAW format LibRaw can decode (e.g. a JPEG or text renamed `.ARW`)."""


class CorruptRawFileError(RawError):
    """LibRaw recognised the format but the data or the levels in it are unusable."""


class RawReadError(RawError):
    """The operating system refused to read the file (permissions, I/O)."""


class RawTooLargeError(RawError):
    """The header claims a frame above the pixel limit; refused before any allocation."""


class UnsupportedCFAError(RawError):
    """The colour filter array is neither a 2x2 Bayer nor a 6x6 X-Trans pattern."""


class UnsupportedBlackLevelError(RawError):
    """The black-level pattern does not repeat within the CFA pattern, so it cannot be packed."""
