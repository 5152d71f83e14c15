"""Atomic file output: write under a temporary name in the same folder, then rename.

Every file lsid_keras writes (DNGs, cache entries, manifests, images, checkpoints, reports)
goes through `atomic_output`, so a failure or a kill never leaves half a file behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile


@contextlib.contextmanager
def atomic_output(path, suffix=None):
    """Yields a temporary path next to `path`; renames it over `path` if the block succeeds.

    Args:
        path: the final file.
        suffix: ending of the temporary name (default: `path`'s extension), for writers that
            choose the format by extension (Keras needs `.keras`).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if suffix is None:
        suffix = os.path.splitext(path)[1]
    handle, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=f".tmp{suffix}", dir=directory
    )
    os.close(handle)
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
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
