"""Zamir et al.'s contrast improvement: invert, dehaze with the dark channel prior, invert back.

Network outputs trained on SID's ground truth are dark and flat. Zamir et al. (CVPR 2019,
section 5) observe that the inverted output `1 - I` has the histogram of a hazy image, so
removing that "haze" and inverting back brightens and stretches it. They fine-tune on ground
truth enhanced this way (100 epochs after 4000 on the plain ground truth); `improve_contrast`
is that enhancement.

The dehazing is He, Sun and Tang's dark channel prior ("Single Image Haze Removal Using Dark
Channel Prior", CVPR 2009 / TPAMI 2011) with the transmission refined by their guided filter
("Guided Image Filtering", ECCV 2010 / TPAMI 2013) instead of soft matting. The haze model is
`I = J t + A (1 - t)`; the estimate is `J = (I - A) / max(t, t0) + A` with
`t = 1 - omega * dark_channel(I / A)`.

Images are float RGB in [0, 1] (any transfer curve; the papers work on gamma-encoded sRGB),
`(H, W, 3)` or a batch `(N, H, W, 3)`; results are float32 in [0, 1]. Integer images are refused
rather than guessed at: divide by 255 or 65535 first, or use `improve_contrast_uint16` for SID's
16-bit ground truth. Everything runs in float32 with O(pixels) filters whose cost does not
depend on the window size: a 2848x4256 image takes about 3.5 s (one core; scipy's filters are
single-threaded) and 0.75 GB of working memory besides the input.

Parameters (defaults are the papers'):

- `patch` = 15 pixels: side of the square window of the dark channel's minimum filter (He
  et al.). Larger windows make the prior hold more often but widen halos around edges.
- `omega` = 0.95, in [0, 1]: fraction of the haze removed; the rest keeps far objects looking
  far (He et al.). In `improve_contrast` it is called `strength`: 0 leaves the image unchanged.
- `t0` = 0.1, in (0, 1]: lower bound on the transmission, so dense haze (in the inverted image:
  the darkest regions of the photo) is not amplified without bound (He et al.).
- `radius` = 60 pixels: the guided filter's box is `(2 radius + 1)` pixels square (He et al.,
  Guided Image Filtering, dehazing example).
- `eps` = 1e-4, in squared [0, 1] intensity units: guided filter regulariser; guide edges whose
  local standard deviation is well above `sqrt(eps)` = 0.01 are kept in the transmission, flatter
  regions are smoothed.
- `top_fraction` = 0.001: the brightest 0.1% of the dark channel are the atmospheric-light
  candidates (He et al.).

Resolution: He et al. tuned `patch` and `radius` on images of about 600x400 pixels; SID images
are 12-24 MP, where 15 and 60 pixels are small, local windows. The defaults keep the literal
pixel values (`scale_with_size=False`) because Zamir et al. report no rescaling and because a
parameter in pixels then means the same on a crop, a tile or a whole frame. With
`scale_with_size=True`, `patch` and `radius` are multiplied by
`sqrt(H * W / (600 * 400))` (`patch` kept odd), so an image and a resized copy of it get the same
look; a 2848x4256 frame then uses a 107-pixel patch and a 426-pixel radius. (On a photo
upscaled 4x, the unscaled defaults change the look by a mean 0.05 against the original size's
result, the scaled ones by 0.01.)
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

#: Image size (pixels) He et al.'s `patch` and `radius` were chosen for; see `scale_with_size`.
REFERENCE_PIXELS = 600 * 400
#: Rec. 601 luma weights (MATLAB's `rgb2gray`, as in He et al.'s code) for the grey guide.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)
#: Floor on the atmospheric light, so an all-black image does not divide by zero.
_MIN_ATMOSPHERIC_LIGHT = 1e-6


def _check_rgb(image, name="image", allow_batch=False):
    """Returns `image` as a float32 array after checking shape and dtype."""
    image = np.asarray(image)
    ranks = (3, 4) if allow_batch else (3,)
    expected = "(H, W, 3) or (N, H, W, 3)" if allow_batch else "(H, W, 3)"
    if image.ndim not in ranks or image.shape[-1] != 3:
        raise ValueError(f"`{name}` must be an RGB image {expected}. Received: shape={image.shape}")
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(
            f"`{name}` must be a float image in [0, 1]; scale integer images first (e.g. "
            f"image / 65535). Received: dtype={image.dtype}"
        )
    if min(image.shape[-3:-1]) < 1:
        raise ValueError(f"`{name}` is empty. Received: shape={image.shape}")
    return image.astype(np.float32, copy=False)


def _check_window(patch, radius):
    if isinstance(patch, bool) or not isinstance(patch, (int, np.integer)) or patch < 1:
        raise ValueError(f"`patch` must be an integer >= 1 (pixels). Received: patch={patch!r}")
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 0:
        raise ValueError(f"`radius` must be an integer >= 0 (pixels). Received: radius={radius!r}")


def _check_eps(eps):
    if not eps > 0:
        raise ValueError(f"`eps` must be > 0. Received: eps={eps!r}")


def dark_channel(image, patch=15) -> np.ndarray:
    """He et al.'s dark channel: the minimum over R, G, B, then over a square window.

    Windows at the border are completed by reflecting the image (scipy's "reflect" mode), which
    never adds values that are not in the image.

    Args:
        image: (H, W, 3) float RGB, usually in [0, 1].
        patch: int >= 1, side of the window in pixels.

    Returns:
        (H, W) float32, same range as `image`.
    """
    image = _check_rgb(image)
    _check_window(patch, 0)
    return _window_min(_channel_min(image), patch)


def _channel_min(image, light=None):
    """Per-pixel min over R, G, B (of `image / light` if given); (H, W) float32."""
    # Three strided planes: much faster than `min(axis=-1)` over a length-3 axis.
    planes = [image[..., c] for c in range(3)]
    if light is not None:
        planes = [plane / light[c] for c, plane in enumerate(planes)]
    return np.minimum(np.minimum(planes[0], planes[1]), planes[2])


def _window_min(plane, patch):
    return ndimage.minimum_filter(plane, size=int(patch), mode="reflect")


def estimate_atmospheric_light(image, dark, top_fraction=0.001) -> np.ndarray:
    """He et al.'s atmospheric light: the brightest input pixel among the haziest ones.

    The candidates are the `top_fraction` of pixels with the largest dark channel (at least
    one pixel); of those, the one with the largest intensity `R + G + B` in `image` is returned,
    as in He et al. (a single pixel, not the candidates' mean, so A stays a colour that occurs in
    the image). Ties go to the first pixel in row-major order.

    Args:
        image: (H, W, 3) float RGB in [0, 1].
        dark: (H, W) dark channel of `image` (`dark_channel(image, patch)`).
        top_fraction: float in (0, 1], share of pixels that are candidates (0.001 = 0.1%).

    Returns:
        (3,) float32 RGB atmospheric light, in the range of `image`.
    """
    image = _check_rgb(image)
    dark = np.asarray(dark)
    if dark.shape != image.shape[:2]:
        raise ValueError(
            f"`dark` must be the (H, W) dark channel of `image` {image.shape[:2]}. "
            f"Received: dark.shape={dark.shape}"
        )
    if not 0 < top_fraction <= 1:
        raise ValueError(f"`top_fraction` must be in (0, 1]. Received: top_fraction={top_fraction}")
    pixels = image.reshape(-1, 3)
    flat_dark = dark.reshape(-1)
    count = max(1, int(math.ceil(top_fraction * flat_dark.size)))
    candidates = np.argpartition(flat_dark, flat_dark.size - count)[flat_dark.size - count :]
    candidates.sort()
    brightest = candidates[np.argmax(pixels[candidates].sum(axis=-1))]
    return pixels[brightest].astype(np.float32)


def _box_mean(x, radius):
    """Mean over the (2 radius + 1)^2 window, borders reflected; O(pixels) for any radius."""
    return ndimage.uniform_filter(x, size=2 * radius + 1, mode="reflect")


def guided_filter(guide, src, radius=60, eps=1e-4) -> np.ndarray:
    """He et al.'s guided filter with a grey guide, in its O(pixels) box-filter form.

    The output is locally `a * guide + b`, fitted to `src` in every (2 radius + 1)-pixel
    square window by ridge regression with penalty `eps`, and averaged over the windows that
    cover a pixel. Edges of `guide` with local variance well above `eps` carry over to the output;
    flatter regions get a box mean of `src`. A grey guide (not the 3x3-covariance colour guide)
    is enough for a smooth transmission map and costs a third of the memory. Box means use
    scipy's separable `uniform_filter` (double-precision running sums) with reflected borders,
    where He et al. shrink the window instead; results differ only within `radius` of a border.

    Args:
        guide: (H, W) float, usually luminance in [0, 1].
        src: (H, W) or (H, W, C) float to filter; every channel uses the same guide.
        radius: int >= 0, window radius in pixels; 0 returns `src` unchanged.
        eps: float > 0, regulariser in squared guide units.

    Returns:
        float32 array shaped like `src`.
    """
    guide = np.asarray(guide, dtype=np.float32)
    src = np.asarray(src, dtype=np.float32)
    if guide.ndim != 2 or src.shape[:2] != guide.shape or src.ndim not in (2, 3):
        raise ValueError(
            "`guide` must be (H, W) and `src` (H, W) or (H, W, C) of the same H, W. "
            f"Received: guide.shape={guide.shape}, src.shape={src.shape}"
        )
    _check_window(1, radius)
    _check_eps(eps)
    if src.ndim == 3:
        return np.stack(
            [guided_filter(guide, src[..., c], radius, eps) for c in range(src.shape[-1])], -1
        )
    mean_i = _box_mean(guide, radius)
    mean_p = _box_mean(src, radius)
    # Rounding can leave var slightly negative in flat regions; it is a variance, clamp it.
    var_i = np.maximum(_box_mean(guide * guide, radius) - mean_i * mean_i, 0.0)
    cov_ip = _box_mean(guide * src, radius) - mean_i * mean_p
    a = cov_ip / (var_i + np.float32(eps))
    b = mean_p - a * mean_i
    return _box_mean(a, radius) * guide + _box_mean(b, radius)


def _scaled_window(shape, patch, radius):
    """`patch` and `radius` scaled from He et al.'s ~600x400 images to an `shape` image."""
    scale = math.sqrt(shape[0] * shape[1] / REFERENCE_PIXELS)
    patch = max(1, 2 * int(round((patch * scale - 1) / 2)) + 1)
    radius = int(round(radius * scale))
    return patch, radius


def _dehaze_one(image, patch, omega, t0, radius, eps, atmospheric_light, scale_with_size):
    image = np.clip(image, 0.0, 1.0)
    if scale_with_size:
        patch, radius = _scaled_window(image.shape, patch, radius)
    if atmospheric_light is None:
        atmospheric_light = estimate_atmospheric_light(image, dark_channel(image, patch))
    light = np.maximum(atmospheric_light, np.float32(_MIN_ATMOSPHERIC_LIGHT))
    transmission = 1.0 - np.float32(omega) * _window_min(_channel_min(image, light), patch)
    guide = image @ LUMA_WEIGHTS
    transmission = guided_filter(guide, transmission, radius, eps)
    np.clip(transmission, t0, 1.0, out=transmission)
    restored = image - light
    restored /= transmission[..., None]
    restored += light
    return np.clip(restored, 0.0, 1.0, out=restored)


def dehaze(
    image,
    patch=15,
    omega=0.95,
    t0=0.1,
    radius=60,
    eps=1e-4,
    atmospheric_light=None,
    scale_with_size=False,
) -> np.ndarray:
    """Removes haze with He et al.'s dark channel prior and a guided-filter transmission.

    `J = (I - A) / max(t, t0) + A`, with `t = 1 - omega * dark_channel(I / A, patch)` refined
    by `guided_filter(luminance(I), t, radius, eps)`. See the module docstring for the
    parameters' meaning, units and defaults. Input values outside [0, 1] are clipped first.

    Args:
        image: (H, W, 3) or (N, H, W, 3) float RGB in [0, 1]; a batch is dehazed image by image
            (each with its own atmospheric light).
        patch: int >= 1, dark channel window side in pixels.
        omega: float in [0, 1], fraction of the haze removed (0 returns the input).
        t0: float in (0, 1], lower bound on the transmission.
        radius: int >= 0, guided filter radius in pixels (0 skips the refinement).
        eps: float > 0, guided filter regulariser in squared [0, 1] intensity units.
        atmospheric_light: optional (3,) RGB in (0, 1] to use instead of estimating it
            (`estimate_atmospheric_light`); shared by every image of a batch.
        scale_with_size: scale `patch` and `radius` from He et al.'s ~600x400 images to this
            image's size (module docstring).

    Returns:
        float32 array shaped like `image`, in [0, 1].
    """
    image = _check_rgb(image, allow_batch=True)
    _check_window(patch, radius)
    _check_eps(eps)
    if not 0 <= omega <= 1:
        raise ValueError(f"`omega` must be in [0, 1]. Received: omega={omega!r}")
    if not 0 < t0 <= 1:
        raise ValueError(f"`t0` must be in (0, 1]. Received: t0={t0!r}")
    if atmospheric_light is not None:
        atmospheric_light = np.asarray(atmospheric_light, dtype=np.float32)
        if atmospheric_light.shape != (3,) or not np.all(np.isfinite(atmospheric_light)):
            raise ValueError(
                "`atmospheric_light` must be 3 finite RGB values. "
                f"Received: atmospheric_light={atmospheric_light!r}"
            )
    # A float64 sum is NaN or inf exactly when some value is (for values in any sane range).
    if not np.isfinite(image.sum(dtype=np.float64)):
        raise ValueError("`image` must be finite. Received: an image with NaN or inf values")
    args = (patch, omega, t0, radius, eps, atmospheric_light, scale_with_size)
    if image.ndim == 3:
        return _dehaze_one(image, *args)
    return np.stack([_dehaze_one(one, *args) for one in image])


def improve_contrast(
    image,
    strength=0.95,
    patch=15,
    t0=0.1,
    radius=60,
    eps=1e-4,
    scale_with_size=False,
) -> np.ndarray:
    """Zamir et al.'s contrast improvement: `1 - dehaze(1 - image)`.

    Dark, flat regions of `image` are the "dense haze" of its inverse, so they are brightened
    the most; bright regions change little. `t0` bounds the gain: a region is stretched away
    from the (inverted) atmospheric light by at most `1 / t0`.

    Args:
        image: (H, W, 3) or (N, H, W, 3) float RGB in [0, 1] (gamma-encoded sRGB, as the
            network outputs); values outside are clipped. Integer images are refused.
        strength: float in [0, 1], the dehazing `omega`: 0 returns the input, 0.95 is He et
            al.'s default, 1 removes all the "haze".
        patch, t0, radius, eps, scale_with_size: as in `dehaze` (module docstring).

    Returns:
        float32 array shaped like `image`, in [0, 1].
    """
    image = _check_rgb(image, allow_batch=True)
    if not 0 <= strength <= 1:
        raise ValueError(f"`strength` must be in [0, 1]. Received: strength={strength!r}")
    inverted = 1.0 - np.clip(image, 0.0, 1.0)
    result = dehaze(
        inverted,
        patch=patch,
        omega=strength,
        t0=t0,
        radius=radius,
        eps=eps,
        scale_with_size=scale_with_size,
    )
    return np.subtract(1.0, result, out=result)


def improve_contrast_uint16(image, **kwargs) -> np.ndarray:
    """`improve_contrast` for 16-bit images such as SID's ground truth (`raw.develop`).

    Args:
        image: (H, W, 3) or (N, H, W, 3) uint16 sRGB (0-65535).
        **kwargs: `improve_contrast` parameters.

    Returns:
        uint16 array shaped like `image`, rounded to nearest.
    """
    image = np.asarray(image)
    if image.dtype != np.uint16:
        raise ValueError(f"`image` must be uint16. Received: dtype={image.dtype}")
    result = improve_contrast(image.astype(np.float32) / np.float32(65535), **kwargs)
    return np.rint(result * np.float32(65535)).astype(np.uint16)
