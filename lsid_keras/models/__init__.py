"""Model builders: one U-Net and its named presets."""

from lsid_keras.models.cost import count_macs, frame_gflops
from lsid_keras.models.presets import CAMERAS, PRESETS, get_model
from lsid_keras.models.saving import ModelFileError, load_model
from lsid_keras.models.unet import SIZE_MULTIPLE, build_unet

__all__ = [
    "CAMERAS",
    "ModelFileError",
    "PRESETS",
    "SIZE_MULTIPLE",
    "build_unet",
    "count_macs",
    "frame_gflops",
    "get_model",
    "load_model",
]
