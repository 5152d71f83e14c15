"""Every exception class of the package survives pickling (worker processes send them back)."""

import errno
import importlib
import inspect
import pickle
import pkgutil
from concurrent.futures import ProcessPoolExecutor

import pytest

import lsid_keras
from lsid_keras.errors import LsidError, PathError
from lsid_keras.raw.errors import RawError, RawFileNotFoundError, TruncatedRawFileError

# Importing `__main__` would run the command line.
_SKIP = {"lsid_keras.__main__"}


def _package_exception_classes():
    """Every exception class defined in any lsid_keras module, found by walking the package."""
    classes = {}
    for module_info in pkgutil.walk_packages(lsid_keras.__path__, "lsid_keras."):
        if module_info.name in _SKIP:
            continue
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__.startswith("lsid_keras")
            ):
                classes[f"{value.__module__}.{value.__qualname__}"] = value
    return classes


CLASSES = _package_exception_classes()

_SAMPLES = {"path": "shots/night 01.ARW", "reason": "unexpected end of data", "errno": errno.EIO}


def _instance(cls):
    """An instance built from the constructor's signature (path, reason, errno, or a message)."""
    try:
        parameters = inspect.signature(cls).parameters.values()
    except ValueError:  # the builtin constructor: Exception(*args)
        parameters = []
    arguments = []
    for parameter in parameters:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.default is parameter.empty:
            arguments.append(_SAMPLES.get(parameter.name, f"shots/a.ARW: {parameter.name}"))
    return cls(*arguments) if arguments else cls("shots/a.ARW: what went wrong")


def _state(error):
    """Everything a caller can read from an exception."""
    state = {
        "class": type(error),
        "args": error.args,
        "str": str(error),
        "dict": {k: v for k, v in vars(error).items() if not k.startswith("_")},
    }
    for name in ("path", "reason", "errno", "strerror", "filename"):
        state[name] = getattr(error, name, None)
    return state


def test_the_walk_finds_the_package_exceptions():
    names = set(CLASSES)
    expected = {
        "lsid_keras.raw.errors.RawError",
        "lsid_keras.raw.errors.TruncatedRawFileError",
        "lsid_keras.data.cache.CacheError",
        "lsid_keras.data.sid_list.SidListError",
        "lsid_keras.enhance.EnhanceError",
        "lsid_keras.image_io.ImageWriteError",
        "lsid_keras.atomic.DiskFullError",
    }
    assert expected <= names, expected - names


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_every_package_exception_pickles_to_an_equal_one(name):
    cls = CLASSES[name]
    error = _instance(cls)
    error.hint = "attributes set after construction travel too"
    copy = pickle.loads(pickle.dumps(error))
    assert _state(copy) == _state(error)


def test_raw_error_keeps_path_reason_and_message():
    error = TruncatedRawFileError("shots/a.ARW", "unexpected end of data")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is TruncatedRawFileError and isinstance(copy, (RawError, LsidError))
    assert (copy.path, copy.reason, str(copy)) == (
        "shots/a.ARW",
        "unexpected end of data",
        "shots/a.ARW: unexpected end of data",
    )
    missing = pickle.loads(pickle.dumps(RawFileNotFoundError("gone.ARW")))
    assert isinstance(missing, FileNotFoundError)
    assert (missing.errno, missing.filename, str(missing)) == (
        errno.ENOENT,
        "gone.ARW",
        "gone.ARW: no such file",
    )


def test_keyword_constructed_error_pickles():
    error = PathError(path="cache", reason="busy")
    assert str(pickle.loads(pickle.dumps(error))) == "cache: busy"


def _raise_truncated(path):
    raise TruncatedRawFileError(path, "unexpected end of data")


def test_an_error_raised_in_a_worker_process_reaches_the_parent_and_the_pool_survives():
    """The reported bug: the first error a worker sent back broke the pool."""
    with ProcessPoolExecutor(max_workers=1) as pool:
        with pytest.raises(TruncatedRawFileError, match="^a.ARW: unexpected end of data$"):
            pool.submit(_raise_truncated, "a.ARW").result()
        assert pool.submit(len, "still working").result() == 13
