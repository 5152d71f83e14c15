"""Custom Keras layers of the lsid_keras models (one class per module)."""

from lsid_keras.layers.global_info_aware import GlobalInfoAware
from lsid_keras.layers.see_wider import SeeWider
from lsid_keras.layers.size_check import SizeCheck
from lsid_keras.layers.squeeze_excite import SqueezeExcite
from lsid_keras.layers.sub_pixel import SubPixel

__all__ = ["GlobalInfoAware", "SeeWider", "SizeCheck", "SqueezeExcite", "SubPixel"]
