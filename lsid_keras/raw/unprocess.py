"""Unprocessing: sRGB photos back to plausible clean camera RAW (Brooks et al., CVPR 2019).

Reference: T. Brooks, B. Mildenhall, T. Xue, J. Chen, D. Sharlet, J. T. Barron, "Unprocessing
Images for Learned Raw Denoising", CVPR 2019 (public code: github.com/timothybrooks/unprocessing).

Each step inverts one stage of a simple camera pipeline, in reverse order:

    sRGB [0, 1]
      -> inverse smoothstep       0.5 - sin(asin(1 - 2y) / 3)      (global tone curve)
      -> gamma expansion          x ** 2.2                          (linear sRGB)
      -> sRGB -> camera matrix    rows sum to 1                     (linear camera RGB)
      -> inverse gains            / rgb_gain, / red_gain, / blue_gain, kept safe near white
      -> clip to [0, 1] and mosaic with the CFA                     (clean linear mosaic)

The camera is either a real one (`lsid_keras.raw.cameras`: its fixed XYZ -> camera matrix and
white-balance gains of a real illuminant) or Brooks et al.'s random camera
(`sample_unprocess_params`: a random mix of four cameras' matrices, random gains).

`UnprocessParams` carries what a RAW developer needs to undo it: the white-balance multipliers
in the form rawpy reports them (`camera_wb`) and the XYZ -> camera matrix for a DNG's
ColorMatrix1 (`xyz_to_camera`); `lsid_keras.raw.write_dng` takes both. `rgb_gain` is the
brightening (exposure) part of the gains: no DNG tag carries it, so a developed image is darker
than the source photo by that factor in linear light.

NumPy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lsid_keras.raw.pack import cfa_kind_of

#: Linear sRGB -> CIE XYZ (D65).
SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
SRGB_TO_XYZ.setflags(write=False)

#: The four XYZ -> camera matrices Brooks et al. draw their random colour matrices from
#: (`random_ccm` in their public unprocess.py; real cameras' DNG ColorMatrix values).
BROOKS_XYZ_TO_CAMERA = np.array(
    [
        [[1.0234, -0.2969, -0.2266], [-0.5625, 1.6328, -0.0469], [-0.0703, 0.2188, 0.6406]],
        [[0.4913, -0.0541, -0.0202], [-0.6130, 1.3513, 0.2906], [-0.1564, 0.2151, 0.7183]],
        [[0.8380, -0.2630, -0.0639], [-0.2887, 1.0725, 0.2496], [-0.0627, 0.1427, 0.5438]],
        [[0.6596, -0.2079, -0.0562], [-0.4782, 1.3016, 0.1933], [-0.0970, 0.1581, 0.5181]],
    ]
)
BROOKS_XYZ_TO_CAMERA.setflags(write=False)

#: Brooks et al.'s gain distributions: rgb_gain = 1 / N(0.8, 0.1), red U(1.9, 2.4), blue
#: U(1.5, 1.9).
RGB_GAIN_INVERSE_MEAN, RGB_GAIN_INVERSE_STD = 0.8, 0.1
RED_GAIN_RANGE = (1.9, 2.4)
BLUE_GAIN_RANGE = (1.5, 1.9)
# The N(0.8, 0.1) draw is truncated at 4 sigma so rgb_gain stays finite and positive.
_INVERSE_RGB_GAIN_LIMITS = (0.4, 1.2)
# Above this grey level (mean of the linear camera RGB) the inverse gains fade out (Brooks).
_HIGHLIGHT_INFLECTION = 0.9


def _matrix(value, name: str) -> np.ndarray:
    array = np.array(value, dtype=np.float64)
    if array.shape != (3, 3) or not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be a finite 3x3 matrix. Received: {value!r}")
    array.setflags(write=False)
    return array


def srgb_to_camera_matrix(xyz_to_camera) -> np.ndarray:
    """Linear sRGB -> camera RGB of a camera with this XYZ -> camera matrix, rows normalised to
    sum 1 (sRGB white -> camera white before white balance), exactly as LibRaw normalises a
    DNG's ColorMatrix before inverting it; so a RAW written with that ColorMatrix develops back
    to the source colours."""
    matrix = _matrix(xyz_to_camera, "xyz_to_camera") @ SRGB_TO_XYZ
    sums = matrix.sum(axis=1, keepdims=True)
    if np.any(np.abs(sums) < 1e-9):
        raise ValueError(f"xyz_to_camera maps white to zero in a channel. Received: {matrix}")
    return matrix / sums


def sample_rgb_gain(rng: np.random.Generator) -> float:
    """Brooks et al.'s brightening gain, 1 / N(0.8, 0.1), the normal truncated at 4 sigma."""
    inverse = np.clip(
        rng.normal(RGB_GAIN_INVERSE_MEAN, RGB_GAIN_INVERSE_STD), *_INVERSE_RGB_GAIN_LIMITS
    )
    return float(1.0 / inverse)


@dataclass(frozen=True, eq=False)
class UnprocessParams:
    """The camera one unprocessing pass simulates.

    Args:
        srgb_to_camera: 3x3 linear sRGB -> camera RGB matrix, rows summing to 1 (so sRGB white
            maps to camera white before white balance).
        rgb_gain: brightening gain (> 0); the linear image is divided by it.
        red_gain, blue_gain: white-balance gains (> 0) relative to green; the camera's red and
            blue channels are divided by them.
        color_matrix: optional XYZ -> camera matrix as the camera's RAW files carry it (e.g.
            LibRaw's table); must give `srgb_to_camera` through `srgb_to_camera_matrix`. None:
            derived from `srgb_to_camera`.
        temperature: optional colour temperature (K) of the illuminant the gains belong to.
    """

    srgb_to_camera: np.ndarray
    rgb_gain: float
    red_gain: float
    blue_gain: float
    color_matrix: np.ndarray | None = None
    temperature: float | None = None

    def __post_init__(self):
        matrix = _matrix(self.srgb_to_camera, "srgb_to_camera")
        if abs(np.linalg.det(matrix)) < 1e-9:
            raise ValueError(f"srgb_to_camera must be invertible. Received: {matrix.tolist()}")
        object.__setattr__(self, "srgb_to_camera", matrix)
        for name in ("rgb_gain", "red_gain", "blue_gain"):
            value = float(getattr(self, name))
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive finite number. Received: {value!r}")
            object.__setattr__(self, name, value)
        if self.color_matrix is not None:
            color = _matrix(self.color_matrix, "color_matrix")
            if not np.allclose(srgb_to_camera_matrix(color), matrix, rtol=0, atol=1e-9):
                raise ValueError(
                    "color_matrix does not give srgb_to_camera (srgb_to_camera_matrix). "
                    f"Received: color_matrix={color.tolist()}"
                )
            object.__setattr__(self, "color_matrix", color)
        if self.temperature is not None:
            object.__setattr__(self, "temperature", float(self.temperature))

    @property
    def camera_to_srgb(self) -> np.ndarray:
        """3x3 linear camera RGB (white-balanced) -> linear sRGB, the inverse of srgb_to_camera."""
        return np.linalg.inv(self.srgb_to_camera)

    @property
    def xyz_to_camera(self) -> np.ndarray:
        """3x3 XYZ (D65) -> camera matrix, for a DNG's ColorMatrix1 (`write_dng(color_matrix=)`):
        `color_matrix` when given, else derived from srgb_to_camera."""
        if self.color_matrix is not None:
            return self.color_matrix
        return self.srgb_to_camera @ np.linalg.inv(SRGB_TO_XYZ)

    @property
    def camera_wb(self) -> tuple[float, float, float]:
        """White-balance multipliers (R, G, B) = (red_gain, 1, blue_gain).

        What `rawpy.RawPy.camera_whitebalance[:3]` reports for a DNG written with
        `write_dng(camera_wb=...)`, and what `postprocess(use_camera_wb=True)` applies.
        """
        return (self.red_gain, 1.0, self.blue_gain)

    def as_dict(self) -> dict:
        """JSON-ready values (lists and floats)."""
        values = {
            "srgb_to_camera": self.srgb_to_camera.tolist(),
            "xyz_to_camera": self.xyz_to_camera.tolist(),
            "rgb_gain": self.rgb_gain,
            "red_gain": self.red_gain,
            "blue_gain": self.blue_gain,
        }
        if self.temperature is not None:
            values["temperature"] = self.temperature
        return values


def sample_unprocess_params(rng: np.random.Generator) -> UnprocessParams:
    """Draw a random camera as Brooks et al. do.

    The XYZ -> camera matrix is a random convex combination of `BROOKS_XYZ_TO_CAMERA`; times
    `SRGB_TO_XYZ`, with rows normalised to sum to 1, it gives `srgb_to_camera`. Gains:
    rgb_gain = 1 / N(0.8, 0.1) (truncated at 4 sigma), red U(1.9, 2.4), blue U(1.5, 1.9).

    Args:
        rng: a `numpy.random.Generator` (or a seed for one).
    """
    rng = np.random.default_rng(rng)
    weights = rng.uniform(1e-8, 1.0, size=len(BROOKS_XYZ_TO_CAMERA))
    xyz_to_camera = np.tensordot(weights / weights.sum(), BROOKS_XYZ_TO_CAMERA, axes=1)
    return UnprocessParams(
        srgb_to_camera=srgb_to_camera_matrix(xyz_to_camera),
        rgb_gain=sample_rgb_gain(rng),
        red_gain=rng.uniform(*RED_GAIN_RANGE),
        blue_gain=rng.uniform(*BLUE_GAIN_RANGE),
    )


def inverse_smoothstep(srgb) -> np.ndarray:
    """Undo the smoothstep tone curve `3x^2 - 2x^3`: `0.5 - sin(asin(1 - 2y) / 3)`, y in [0, 1]."""
    y = np.clip(np.asarray(srgb, dtype=np.float64), 0.0, 1.0)
    return 0.5 - np.sin(np.arcsin(1.0 - 2.0 * y) / 3.0)


def gamma_expansion(image) -> np.ndarray:
    """Gamma-encoded [0, 1] -> linear [0, 1]: `x ** 2.2` (Brooks' approximation of sRGB)."""
    return np.maximum(np.asarray(image, dtype=np.float64), 1e-8) ** 2.2


def safe_invert_gains(camera_rgb, rgb_gain: float, red_gain: float, blue_gain: float):
    """Divide linear camera RGB by the white-balance and brightening gains, sparing highlights.

    Plain inversion would turn saturated white into grey (white is clipped before the gains
    in a real camera). Brooks et al. fade the inverse gains out as the pixel's grey level
    (channel mean) rises from 0.9 to 1: `mask = (max(grey - 0.9, 0) / 0.1) ** 2`,
    `gains = max(mask + (1 - mask) * inverse, inverse)`.

    Args:
        camera_rgb: (..., 3) linear camera RGB, nominally [0, 1].
        rgb_gain, red_gain, blue_gain: the gains to invert (> 0).

    Returns:
        (..., 3) float64 linear camera RGB, not clipped.
    """
    camera_rgb = np.asarray(camera_rgb, dtype=np.float64)
    inverse = np.array([1.0 / red_gain, 1.0, 1.0 / blue_gain]) / rgb_gain
    result = camera_rgb * inverse
    # Below the inflection the mask is 0 and the gains are `inverse`: only bright pixels differ.
    bright = camera_rgb.mean(axis=-1) > _HIGHLIGHT_INFLECTION
    if np.any(bright):
        pixels = camera_rgb[bright]
        grey = pixels.mean(axis=-1, keepdims=True)
        mask = ((grey - _HIGHLIGHT_INFLECTION) / (1.0 - _HIGHLIGHT_INFLECTION)) ** 2
        result[bright] = pixels * np.maximum(mask + (1.0 - mask) * inverse, inverse)
    return result


def _check_image(srgb) -> np.ndarray:
    image = np.asarray(srgb)
    if image.ndim != 3 or image.shape[-1] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"srgb must be an (H, W, 3) image. Received: shape={image.shape}")
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(
            f"srgb must be floating point in [0, 1]. Received: dtype={image.dtype} "
            "(divide 8-bit images by 255)"
        )
    return image


def unprocess_rgb(srgb, params: UnprocessParams) -> np.ndarray:
    """sRGB image -> clean linear camera RGB before mosaicking.

    Args:
        srgb: (H, W, 3) float sRGB in [0, 1] (clipped to it).
        params: the camera to simulate.

    Returns:
        (H, W, 3) float64 linear camera RGB in [0, 1] (white balance and brightening inverted,
        saturated values clipped).
    """
    image = _check_image(srgb)
    linear = gamma_expansion(inverse_smoothstep(image))
    camera = linear @ params.srgb_to_camera.T
    camera = safe_invert_gains(camera, params.rgb_gain, params.red_gain, params.blue_gain)
    return np.clip(camera, 0.0, 1.0)


def _cfa_indices(cfa) -> np.ndarray:
    array = np.asarray(cfa)
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            "cfa must be a 2x2 (Bayer) or 6x6 (X-Trans) integer array of 0 (R), 1 (G), 2 (B). "
            f"Received: {array.tolist()!r}"
        )
    cfa_kind_of(array)  # UnsupportedCFAError for anything but Bayer / X-Trans
    return array.astype(np.intp)


def mosaic(image, cfa) -> np.ndarray:
    """Sample an (H, W, 3) image through a colour filter array into an (H, W) mosaic.

    Args:
        image: (H, W, 3) array.
        cfa: 2x2 Bayer (any order) or 6x6 X-Trans pattern of colour indices 0 R, 1 G, 2 B; its
            (0, 0) entry is the colour of the mosaic's top-left pixel.

    Returns:
        (H, W) array, `out[y, x] = image[y, x, cfa[y % n, x % n]]`, same dtype as `image`.

    Raises:
        ValueError: bad image shape or cfa array.
        UnsupportedCFAError: cfa is neither a Bayer order nor an X-Trans shift.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must be (H, W, 3). Received: shape={image.shape}")
    cfa = _cfa_indices(cfa)
    height, width = image.shape[:2]
    n = cfa.shape[0]
    colours = np.tile(cfa, (-(-height // n), -(-width // n)))[:height, :width]
    return np.take_along_axis(image, colours[..., None], axis=-1)[..., 0]


def unprocess(srgb, cfa, rng=None, params: UnprocessParams | None = None):
    """sRGB photo -> clean linear RAW mosaic in [0, 1] and the camera that produced it.

    Args:
        srgb: (H, W, 3) float sRGB in [0, 1] (clipped to it).
        cfa: 2x2 Bayer or 6x6 X-Trans colour-index array (0 R, 1 G, 2 B) at the mosaic origin.
        rng: `numpy.random.Generator` or seed, used when `params` is None.
        params: a fixed camera (`UnprocessParams`); sampled with `sample_unprocess_params(rng)`
            when None.

    Returns:
        (mosaic, params): mosaic is (H, W) float32 linear in [0, 1] (1 = sensor saturation;
        scale by white - black and add black for DN); params is the `UnprocessParams` used
        (`params.camera_wb`, `params.xyz_to_camera` go into the DNG).
    """
    _check_image(srgb)
    cfa = _cfa_indices(cfa)
    if params is None:
        params = sample_unprocess_params(rng)
    camera = unprocess_rgb(srgb, params)
    return mosaic(camera, cfa).astype(np.float32), params
