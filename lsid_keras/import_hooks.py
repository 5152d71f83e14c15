"""One-shot import hooks: run code around the first import of a heavy module.

Two users, both about TensorFlow's cost at start-up:
- `after_import("keras", register)`: registers the package's Keras objects once Keras is
  imported (so `import lsid_keras` alone makes `keras.models.load_model` work) without
  importing Keras for commands that never need it;
- `quiet_import("tensorflow")`: TensorFlow's C++ runtime prints start-up lines (absl's
  "All log messages before absl::InitializeLog()", CUDA stubs, oneDNN notices) straight to
  file descriptor 2 while it is imported; the `lsid` command hides them by pointing fd 2 at
  /dev/null for the length of that import only, wherever in the code it happens first.

A hook wraps the module loader's `exec_module` the first time the module is looked up and
then removes itself; importing the module later finds it in `sys.modules` as usual.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import sys


class _ImportHook(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps the real loader of `name` with `wrap(execute, module)`."""

    def __init__(self, name, wrap):
        self.name = name
        self.wrap = wrap

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        execute, wrap = spec.loader.exec_module, self.wrap
        spec.loader.exec_module = lambda module: wrap(execute, module)
        return spec


def _install(name, wrap):
    if not any(isinstance(f, _ImportHook) and f.name == name and f.wrap is wrap
               for f in sys.meta_path):
        sys.meta_path.insert(0, _ImportHook(name, wrap))


def after_import(name, callback):
    """Calls `callback()` now if module `name` is imported, else right after its import."""
    if name in sys.modules:
        callback()
        return

    def wrap(execute, module):
        execute(module)
        callback()

    wrap.__qualname__ = f"after_import.{getattr(callback, '__name__', 'callback')}"
    _install(name, wrap)


@contextlib.contextmanager
def stderr_silenced():
    """Points file descriptor 2 (C and Python stderr alike) at /dev/null inside the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _quietly(execute, module):
    with stderr_silenced():
        execute(module)


def quiet_import(name):
    """Silences fd 2 while module `name` is first imported (no-op if it already is).

    An import that fails still raises; its traceback prints after fd 2 is restored.
    """
    if name not in sys.modules:
        _install(name, _quietly)
