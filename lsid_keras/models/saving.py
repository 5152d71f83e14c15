"""Loading `.keras` files that hold lsid_keras models."""

import os

from lsid_keras.errors import LsidError


class ModelFileError(LsidError, ValueError):
    """A model file that is missing or cannot be loaded; the message names the file."""


def load_model(path, compile=False):
    """Loads a `.keras` model saved by lsid_keras (or any Keras model).

    Importing this package registers the custom layers and losses, which Keras needs before it
    can rebuild them; prefer this over a bare `keras.models.load_model` in a fresh process.

    Args:
        path: `.keras` file.
        compile: also restore the training configuration (loss, optimizer). False by default:
            inference does not need it, and a compiled VGG loss would look for its weights.

    Raises:
        ModelFileError: the file is missing, not a Keras archive, or holds an unknown layer.
    """
    import keras

    import lsid_keras.layers  # noqa: F401 - registers the custom layers
    import lsid_keras.losses  # noqa: F401 - registers the custom losses

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelFileError(f"{path}: model file not found")
    try:
        return keras.models.load_model(path, compile=compile)
    except Exception as error:  # noqa: BLE001 - Keras raises many kinds; all mean "unreadable"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelFileError(f"{path}: cannot load model ({reason[:200]})") from error
