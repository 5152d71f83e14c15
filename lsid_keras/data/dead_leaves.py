"""Dead-leaves images: seeded synthetic photos with natural-image statistics.

The dead-leaves model (Matheron; Lee, Mumford and Huang, "Occlusion models for natural images",
IJCV 2001) drops opaque shapes on top of each other. With radii drawn from a power law
`p(r) ~ r^-3` the image is scale invariant and its power spectrum falls as about 1 / f^2, like
natural photos; occlusion gives real edges and T-junctions. Achddou et al. ("Synthetic images as
a regularity prior for image restoration neural networks", SSVM 2021) train denoisers on such
images almost as well as on photos. Here each shape also carries a texture (flat, a linear
gradient or a sinusoidal grating, at a random scale), and the image is blurred slightly (a lens)
so edges are not aliased when mosaicked.

Shapes are drawn front to back: a new shape only paints pixels no earlier shape covers, and
drawing stops once `coverage` of the image is painted (what is left gets the last colour).

NumPy and SciPy only.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np

#: Radius power-law exponent: p(r) ~ r^-3 is the scale-invariant choice.
RADIUS_EXPONENT = 3.0
_SHAPES = ("disc", "ellipse", "rectangle")
_TEXTURES = ("flat", "gradient", "grating")


def _radius(rng, low: float, high: float) -> float:
    """Inverse CDF of p(r) ~ r^-3 on [low, high]."""
    a, b = low**-2, high**-2
    return (a - rng.random() * (a - b)) ** -0.5


def _colour(rng) -> np.ndarray:
    """An sRGB colour: any hue, mostly moderate saturation, brightness spread over [0.03, 1]."""
    hue = rng.random()
    saturation = rng.beta(1.2, 2.5)
    value = 0.03 + 0.97 * rng.random() ** 0.8
    return np.array(colorsys.hsv_to_rgb(hue, saturation, value))


def _texture(rng, u: np.ndarray, v: np.ndarray, radius: float) -> np.ndarray:
    """A zero-mean texture (..., 1) in [-1, 1] over a shape's own coordinates (u, v)."""
    kind = _TEXTURES[rng.integers(len(_TEXTURES))]
    if kind == "flat":
        return np.zeros(u.shape + (1,))
    if kind == "gradient":
        return (u / max(radius, 1.0))[..., None]
    period = radius * rng.uniform(0.05, 1.0)
    return np.sin(2 * math.pi * u / max(period, 2.0) + rng.uniform(0, 2 * math.pi))[..., None]


def dead_leaves(
    height: int,
    width: int,
    rng,
    *,
    min_radius: float | None = None,
    max_radius: float | None = None,
    coverage: float = 0.995,
    max_shapes: int = 100_000,
    blur_sigma=(0.5, 1.2),
) -> np.ndarray:
    """A seeded dead-leaves image.

    Args:
        height, width: image size in pixels (>= 1).
        rng: `numpy.random.Generator` or seed.
        min_radius, max_radius: shape radii in pixels; default max(2, short side / 256) and
            the short side / 2.
        coverage: fraction of pixels painted by shapes before drawing stops, in (0, 1].
        max_shapes: upper bound on the number of shapes drawn.
        blur_sigma: (low, high) of the Gaussian blur (pixels) drawn per image; (0, 0) for none.

    Returns:
        (height, width, 3) float32 sRGB in [0, 1].
    """
    from scipy.ndimage import gaussian_filter

    if height < 1 or width < 1:
        raise ValueError(f"height and width must be >= 1. Received: {height}x{width}")
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage must lie in (0, 1]. Received: coverage={coverage}")
    rng = np.random.default_rng(rng)
    short = min(height, width)
    low = float(min_radius) if min_radius is not None else max(2.0, short / 256)
    high = float(max_radius) if max_radius is not None else max(low, short / 2)
    if not 0 < low <= high:
        raise ValueError(
            f"radii must satisfy 0 < min_radius <= max_radius. Received: {min_radius}, "
            f"{max_radius}"
        )

    image = np.zeros((height, width, 3))
    uncovered = np.ones((height, width), dtype=bool)
    left = height * width
    stop = height * width * (1.0 - coverage)
    colour = _colour(rng)
    for _ in range(max_shapes):
        if left <= stop:
            break
        radius = _radius(rng, low, high)
        cy = rng.uniform(-radius / 2, height + radius / 2)
        cx = rng.uniform(-radius / 2, width + radius / 2)
        shape = _SHAPES[rng.integers(len(_SHAPES))]
        angle = rng.uniform(0, math.pi)
        aspect = 1.0 if shape == "disc" else rng.uniform(0.3, 1.0)
        colour = _colour(rng)
        amplitude = rng.uniform(0.0, 0.3)
        top, bottom = max(int(cy - radius), 0), min(int(cy + radius) + 1, height)
        first, last = max(int(cx - radius), 0), min(int(cx + radius) + 1, width)
        if top >= bottom or first >= last:
            continue
        free = uncovered[top:bottom, first:last]
        if not free.any():
            continue
        dy = np.arange(top, bottom)[:, None] + 0.5 - cy
        dx = np.arange(first, last)[None, :] + 0.5 - cx
        u = math.cos(angle) * dx + math.sin(angle) * dy
        v = -math.sin(angle) * dx + math.cos(angle) * dy
        if shape == "rectangle":
            inside = (np.abs(u) <= radius * 0.8) & (np.abs(v) <= radius * 0.8 * aspect)
        else:
            inside = (u / radius) ** 2 + (v / (radius * aspect)) ** 2 <= 1.0
        paint = inside & free
        count = int(paint.sum())
        if count == 0:
            continue
        texture = _texture(rng, u, v, radius)
        values = colour * (1.0 + amplitude * texture)
        image[top:bottom, first:last][paint] = values[paint]
        free[paint] = False
        left -= count
    image[uncovered] = colour
    low_sigma, high_sigma = blur_sigma
    sigma = rng.uniform(low_sigma, high_sigma) if high_sigma > 0 else 0.0
    if sigma > 0:
        image = gaussian_filter(image, sigma=(sigma, sigma, 0), mode="reflect")
    return np.clip(image, 0.0, 1.0).astype(np.float32)
