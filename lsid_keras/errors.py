"""The base classes of lsid_keras's exceptions: one line for the user, and safe to pickle.

`lsid prepare` decodes files in worker processes, and an exception raised there reaches the
parent by pickling. Python rebuilds an unpickled exception as `cls(*exc.args)`, where `args` is
what the constructor passed on to `Exception.__init__` (usually the message alone), so a class
whose constructor takes other arguments (`RawError(path, reason)`) cannot be unpickled, and
`concurrent.futures` then declares the whole process pool broken. `LsidError` remembers the
arguments it was constructed with and is rebuilt from those, so every subclass, whatever its
constructor, pickles to an equal exception (same class, arguments, attributes and message).
"""

from __future__ import annotations

import os


def _rebuild(cls, args, kwargs):
    """Unpickling: calls the constructor with the arguments the original was made with."""
    return cls(*args, **kwargs)


class LsidError(Exception):
    """Base of every exception lsid_keras raises for bad input or a failed run.

    Subclasses may define any constructor; pickling calls it again with the same arguments and
    then restores the instance attributes (`__cause__` and the traceback are not pickled, as
    for any exception).
    """

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls, *args, **kwargs)
        self._constructor_arguments = (args, kwargs)
        return self

    def __reduce__(self):
        args, kwargs = self._constructor_arguments
        state = {k: v for k, v in self.__dict__.items() if k != "_constructor_arguments"}
        return _rebuild, (type(self), args, kwargs), state


class PathError(LsidError):
    """An error about one file or folder, shown as `"<path>: <reason>"`.

    A subclass that also derives from `OSError` gets `errno`, `strerror` (the reason) and
    `filename` (the path) set, so code written against `OSError` reads it as usual.

    Args:
        path: the offending file or folder, or None when the error concerns in-memory data.
        reason: what is wrong, in words a user can act on.
        errno: the OS error number, for `OSError` subclasses (None when there is none).

    Attributes:
        path: the path as a string, or None.
        reason: the reason string.
    """

    def __init__(self, path: str | os.PathLike | None, reason: str, errno: int | None = None):
        self.path = None if path is None else os.fspath(path)
        self.reason = reason
        super().__init__(str(self))
        self.args = (str(self),)  # OSError subclasses would otherwise keep the raw arguments
        if isinstance(self, OSError):
            self.errno = errno
            self.strerror = reason
            self.filename = self.path

    def __str__(self) -> str:
        # OSError subclasses would otherwise format as "[Errno n] strerror: 'filename'".
        return self.reason if self.path is None else f"{self.path}: {self.reason}"
