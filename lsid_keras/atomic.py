"""Atomic file output: write under a temporary name in the same folder, then rename.

Every file lsid_keras writes (DNGs, cache entries, manifests, images, checkpoints, reports)
goes through `atomic_output`, so a failure or a kill never leaves half a file behind, and a full
disk is reported as one `DiskFullError` naming the file. Outputs get the permissions any other
program's would: `0o666` less the user's umask for a new file, the old file's mode when one is
replaced (`tempfile.mkstemp` alone would leave every output private, mode 0600).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import tempfile

from lsid_keras.errors import PathError

#: errno values that mean "no room to write": no space, quota exceeded, file-size limit.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class DiskFullError(PathError, OSError):
    """A file that could not be written for lack of space (disk, quota or file-size limit).

    It is an `OSError` with the original `errno`; its message starts with the file's path.
    """


#: numpy's `tofile` (used by `np.save` and tifffile) reports a short write without an errno.
_SHORT_WRITE = re.compile(r"^(\d+) requested and (\d+) written$")
_ADVICE = "free some space (or raise the quota / file-size limit) and run again"


def is_disk_full(error):
    """True for an `OSError` that means no room to write (errno, or numpy's short write)."""
    if not isinstance(error, OSError):
        return False
    return error.errno in DISK_FULL_ERRNOS or (
        error.errno is None and _SHORT_WRITE.match(str(error)) is not None
    )


def short_write_error(path, wanted, written):
    """A `DiskFullError` for a `write()` of `wanted` bytes to `path` that wrote `written`."""
    return DiskFullError(
        path,
        f"not written: only {written} of {wanted} bytes fit (the disk or the file-size limit "
        f"is full); {_ADVICE}",
        errno.ENOSPC,
    )


def disk_full_error(path, error):
    """A `DiskFullError` for `path` from an `OSError` for which `is_disk_full` is true."""
    if isinstance(error, DiskFullError):
        return error
    if error.errno is None:
        wanted, written = _SHORT_WRITE.match(str(error)).groups()
        return short_write_error(path, int(wanted), int(written))
    reason = f"not written: {error.strerror or error} (errno {error.errno}); {_ADVICE}"
    return DiskFullError(path, reason, error.errno)


def current_umask():
    """The process's umask now.

    Linux reports it in /proc/self/status, which reads it without changing it. Elsewhere it is
    set and restored at once (`os.umask` has no read-only form), which a thread creating a file
    in that instant would see.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _output_mode(path, directory=False):
    """The mode a plain `open(path, "w")` would leave: the old file's, else 0o666 & ~umask.

    A writer that put a directory in place of the temporary file gets 0o777 & ~umask.
    """
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return (0o777 if directory else 0o666) & ~current_umask()


@contextlib.contextmanager
def atomic_output(path, suffix=None):
    """Yields a temporary path next to `path`; renames it over `path` if the block succeeds.

    If the block raises, the temporary file is removed and `path` is left as it was; an
    `OSError` meaning the disk is full (ENOSPC, EDQUOT, EFBIG, or numpy's errno-less short
    write) is raised as `DiskFullError`.

    Args:
        path: the final file.
        suffix: ending of the temporary name (default: `path`'s extension), for writers that
            choose the format by extension (Keras needs `.keras`).

    Raises:
        DiskFullError: no space left for the file; nothing of it is left on disk.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if suffix is None:
        suffix = os.path.splitext(path)[1]
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{os.path.basename(path)}.", suffix=f".tmp{suffix}", dir=directory
        )
    except OSError as error:  # no inode left, for one
        if is_disk_full(error):
            raise disk_full_error(path, error) from error
        raise
    os.close(handle)
    try:
        yield temporary
        os.chmod(temporary, _output_mode(path, directory=os.path.isdir(temporary)))
        os.replace(temporary, path)
    except BaseException as error:
        if os.path.exists(temporary):
            os.unlink(temporary)
        if is_disk_full(error) and not isinstance(error, DiskFullError):
            raise disk_full_error(path, error) from error
        raise


def write_bytes_atomic(path, data):
    """Writes `data` (bytes) to `path` atomically."""
    with atomic_output(path) as temporary, open(temporary, "wb") as file:
        file.write(data)


def write_text_atomic(path, text):
    """Writes `text` (UTF-8) to `path` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path, data):
    """Writes `data` as indented JSON to `path` atomically."""
    write_text_atomic(path, json.dumps(data, indent=1) + "\n")


def copy_file_atomic(source, path):
    """Copies the file `source` to `path` atomically (a killed copy leaves `path` as it was)."""
    import shutil

    with atomic_output(path) as temporary:
        shutil.copyfile(source, temporary)
