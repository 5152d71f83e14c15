"""Choosing the amplification ratio of a short exposure when no reference exposure says it.

The rule (`estimate_ratio`) brings the frame's highlights, not its mean, to where the training
camera's well-exposed frames have theirs:

1. split the green pixels in two halves (Bayer: the two greens of each cell; X-Trans: greens
   1, 6, 8 and 5, 7): green carries no white-balance gain, so the figure does not move with
   the illuminant;
2. average each half over `BLOCK` x `BLOCK` packed pixels (8 x 8 sensor pixels): at x300 a
   single pixel's shot and read noise are as large as its signal;
3. choose the brightest `TOP_FRACTION` (0.1 %, at least one) of the blocks on one half and take
   the median of the other half's means over those blocks; average both ways round. Blocks
   that won on their noise (the top of a flat noisy frame) or on a hot pixel are measured on
   pixels whose noise is independent of that choice, so the figure is the signal's;
4. ratio = `TARGET_LEVEL` / that highlight level, clamped to [1, `MAX_RATIO`].

Why not the mean (the former rule: mean to 0.1): `pack` clips values below black at 0, so the
read noise adds about 0.4 sigma to every dark pixel and the mean of an x300 frame reads up to
1.5x high (ratio too low); a plain high percentile reads high on flat noisy frames and takes
stuck pixels for highlights. The highlight level of the short exposure times the true ratio is
0.88 .. 1.08 of the long exposure's on the emulated alpha 7S II test scenes.

`TARGET_LEVEL` is the median highlight level of the long exposures of the emulated alpha 7S II
training scenes (`lsid synth --camera sony`, three datasets: 0.676, 0.637, 0.635; pooled 0.647).

Measured (`scripts/measure_auto_ratio.py`): on the test list of the shipped model's emulated
alpha 7S II set (80 scenes of the held-out photos coffee and rocket, 768 x 1152) all 240 pairs
land within 1.5x (estimate / true 0.70 .. 1.27; the former rule: 87 %, 0.69 .. 2.16); on the
test lists of `lsid synth --camera sony --scenes 40` (seeds 0 and 1, 512 x 768) 48 of 48; on the
quickstart's 256 x 384 crops 17 of 18 (1.51x). What no single-frame rule fixes: it sees the
scene, not how the long exposure was exposed. The test scenes' long exposures have highlight
levels 1.84x apart, so a scene that is dark all over (no bright part) is lifted until its
brightest part is bright, and a scene whose long exposure clips (highlights at 1) is given 0.65
of its ratio: with other photos held out (`--content photos --scenes 8`, seed 0) 4 of 18 pairs
miss (a colour chart that clips, 0.65x; a low-key cat photo at x100, 1.96x). On small crops,
where few blocks make the highlights, fewer pairs land within 1.5x. Pass the ratio by hand when
it matters.

NumPy only: no Keras, no TensorFlow (the Android port follows this module line by line).
"""

from __future__ import annotations

import numpy as np

#: Level (linear, [0, 1] of the sensor range) the statistic is brought to.
TARGET_LEVEL = 0.65
#: Fraction of the blocks, the brightest, that make the frame's highlights (at least one).
TOP_FRACTION = 0.001
#: Side of the blocks, in packed pixels, averaged before the highlights are chosen.
BLOCK = 4
#: Largest ratio chosen (SID's largest: 300); also the answer for an all-black frame.
MAX_RATIO = 300.0
#: The green channels of each packed layout (`lsid_keras.raw.pack`; Bayer R, G, B, G; X-Trans
#: R, G, B, R, B, G, G, G, G) in two halves: highlight blocks are chosen on one, measured on the
#: other.
GREEN_HALVES = {4: ((1,), (3,)), 9: ((1, 6, 8), (5, 7))}


def _block_means(plane, block):
    height, width = (plane.shape[0] // block) * block, (plane.shape[1] // block) * block
    return plane[:height, :width].reshape(height // block, block, width // block,
                                          block).mean(axis=(1, 3)).ravel()


def highlight_level(packed, block=BLOCK, top=TOP_FRACTION):
    """The frame's highlight level (linear, [0, 1]): the brightest `top` fraction of its
    `block` x `block` blocks, chosen on one half of the green pixels, measured (median of the
    block means) on the other half; the two ways round averaged.

    Selecting and measuring on independent halves keeps noise out of the figure: blocks
    picked because their noise happened to be high (the top of a flat, noisy frame) are
    measured on pixels whose noise is independent of that choice, so their level is the
    signal's; the median ignores a hot pixel in the measuring half. Halves: the two greens of
    a Bayer cell (channels 1 and 3); X-Trans greens 1, 6, 8 and 5, 7. Blocks are ranked by a
    stable ascending sort (ties: the later block in row-major order ranks higher), so ports
    choose the same blocks.

    Args:
        packed: (H, W, C) packed RAW in [0, 1], not amplified; C = 4 (Bayer) or 9 (X-Trans)
            picks the green channels, any other C splits its channels into halves (C >= 2).
        block: block side in packed pixels (clamped to the frame).
        top: fraction of blocks taken as the highlights (at least one block).
    """
    packed = np.asarray(packed)
    if packed.ndim != 3 or packed.shape[0] < 1 or packed.shape[1] < 1 or packed.shape[2] < 1:
        raise ValueError(f"packed must be a non-empty (H, W, C) array. Received: "
                         f"shape={packed.shape}")
    channels = packed.shape[-1]
    halves = GREEN_HALVES.get(channels) or (tuple(range(0, channels, 2)),
                                            tuple(range(1, channels, 2)) or (0,))
    block = max(1, min(int(block), packed.shape[0], packed.shape[1]))
    first, second = (
        _block_means(packed[..., list(half)].astype(np.float64).mean(axis=-1), block)
        for half in halves
    )
    count = max(1, int(round(top * first.size)))
    levels = []
    for select, measure in ((first, second), (second, first)):
        chosen = np.argsort(select, kind="stable")[select.size - count:]
        levels.append(np.median(measure[chosen]))
    return float(np.mean(levels))


def estimate_ratio(packed, target_level=TARGET_LEVEL, max_ratio=MAX_RATIO):
    """The amplification ratio that brings a packed frame's highlight level to `target_level`.

    Args:
        packed: (H, W, C) packed RAW in [0, 1] (`lsid_keras.raw.pack`), not amplified.
        target_level: wanted highlight level after amplification, linear (0, 1].
        max_ratio: the largest ratio returned (>= 1).

    Returns:
        float in [1, max_ratio]: `target_level / highlight_level(packed)`, clamped.
    """
    if not 0 < target_level <= 1:
        raise ValueError(f"target_level must lie in (0, 1]. Received: {target_level!r}")
    if not max_ratio >= 1:
        raise ValueError(f"max_ratio must be >= 1. Received: {max_ratio!r}")
    level = highlight_level(packed)
    if not level > 0:
        return float(max_ratio)
    return float(np.clip(target_level / level, 1.0, max_ratio))
