"""Model builders: one U-Net and its named presets.

Names are imported on first use (PEP 562), so `from lsid_keras.models import PRESETS` stays
free of Keras and TensorFlow while `get_model` and `build_unet` bring them in.
"""

import importlib

_EXPORTS = {
    "CAMERAS": "lsid_keras.models.presets",
    "PRESETS": "lsid_keras.models.presets",
    "get_model": "lsid_keras.models.presets",
    "ModelFileError": "lsid_keras.models.saving",
    "load_model": "lsid_keras.models.saving",
    "SIZE_MULTIPLE": "lsid_keras.geometry",
    "build_unet": "lsid_keras.models.unet",
    "count_macs": "lsid_keras.models.cost",
    "frame_gflops": "lsid_keras.models.cost",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
