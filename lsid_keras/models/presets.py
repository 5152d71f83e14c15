"""Named models: the SID baseline, Zamir et al., GIA-Net and GIA-Net's ablations."""

from dataclasses import dataclass, field

# Presets are plain data and importing them must not import Keras (`lsid train --help`
# validates preset names); `build_unet` is imported when a model is built.
from lsid_keras.geometry import CAMERAS, Camera

__all__ = ["CAMERAS", "Camera", "PRESETS", "Preset", "get_model"]


@dataclass(frozen=True)
class Preset:
    """A named model: builder arguments and where it comes from."""

    description: str
    reference: str
    unet_args: dict = field(default_factory=dict)


PRESETS = {
    "sid": Preset("SID-Net U-Net, l1 loss", "Chen et al., CVPR 2018"),
    "zamir": Preset(
        "Zamir et al. restoration subnet: the SID U-Net, multi-criterion loss",
        "Zamir et al., Learning Digital Camera Pipeline for Extreme Low-Light Imaging",
    ),
    "gia_net": Preset(
        "U-Net with a GIA module at the bottleneck, l1 + MS-SSIM loss",
        "Meng et al., GIA-Net, ECCVW 2020",
        {"bottleneck": "gia"},
    ),
    "se_unet": Preset(
        "U-Net with squeeze-and-excitation at the bottleneck (GIA-Net Table 1)",
        "Meng et al., GIA-Net, Sec. 4.3",
        {"bottleneck": "se"},
    ),
    "sid_dilated": Preset(
        "U-Net with every 3x3 conv dilated by 2 (GIA-Net Table 2)",
        "Meng et al., GIA-Net, Sec. 4.5",
        {"conv_block": "dilated"},
    ),
    "sw_net": Preset(
        "U-Net with every 3x3 conv a see-wider block (GIA-Net Table 2)",
        "Meng et al., GIA-Net, Sec. 3.2 and 4.5",
        {"conv_block": "see_wider"},
    ),
    "sid_2conv": Preset(
        "U-Net with two extra 1x1 convs at the bottleneck (GIA-Net Table 3 control)",
        "Meng et al., GIA-Net, Sec. 4.5",
        {"bottleneck": "two_conv"},
    ),
}


def get_model(name, camera="sony", **overrides):
    """Builds a named model for a camera family.

    Args:
        name: one of `PRESETS` ("sid", "zamir", "gia_net", "se_unet", "sid_dilated", "sw_net",
            "sid_2conv").
        camera: "sony" (Bayer: 4 packed channels, x2 sub-pixel, 12 channels before it) or
            "fuji" (X-Trans: 9 channels, x3, 27).
        **overrides: arguments of `build_unet` that replace the preset's, e.g. `width=8` for
            a small net.

    Returns:
        An uncompiled functional `keras.Model` named `f"{name}_{camera}"` taking packed,
        amplified RAW in [0, 1] of shape `(batch, H, W, C)` (H, W multiples of 16) and returning
        RGB of shape `(batch, H * b, W * b, 3)`.

    Example:
    >>> model = get_model("gia_net", camera="sony", width=8)
    """
    if name not in PRESETS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(PRESETS)}")
    if camera not in CAMERAS:
        raise ValueError(f"unknown camera {camera!r}; choose one of {sorted(CAMERAS)}")
    cam = CAMERAS[camera]
    args = {
        "in_channels": cam.packed_channels,
        "block_size": cam.block_size,
        "name": f"{name}_{camera}",
        **PRESETS[name].unet_args,
    }
    fixed = {"in_channels", "block_size"} & set(overrides)
    if fixed:
        raise ValueError(
            f"{sorted(fixed)} follow from camera={camera!r} and cannot be overridden"
        )
    args.update(overrides)
    from lsid_keras.models.unet import build_unet

    try:
        return build_unet(**args)
    except TypeError as err:
        raise ValueError(f"bad override for model {name!r}: {err}") from None
