"""Noise-adaptive fusion: the traditional pipeline's rendering wherever it is above its noise.

The network is trained to remove noise, and it smooths some fine structure with it. Where a
frame has little noise (daylight, x1 to x20), the traditional pipeline (LibRaw's rendering of
the amplified mosaic, `lsid_keras.raw.develop`) is closer to the scene: it keeps the detail and
the local tones. `fuse_traditional` takes from that rendering what stands above its noise and
keeps the network's output everywhere else:

- **Low band** (two passes of a `LOW_BOX`-pixel box mean, a blur of sigma 2 pixels): the
  rendering's local colour and tone, weighted by its local signal-to-noise ratio
  `snr = Y / sigma(Y)` (luminance over the rendering's noise at that brightness): 0 below
  `SNR_FLOOR` (dark, noisy regions, where noise clipped at black biases the rendering), 1
  above `SNR_FULL`, linear between.
- **High band** (each colour minus its low band, so the two bands add up to the picture):
  the rendering's detail in all three colours, brought to the fused picture's local
  brightness and Wiener-weighted by its luminance, `w = max(0, 1 - beta * sigma^2 / v)`,
  where v is the local variance (`VARIANCE_BOX` box) of the luminance difference between the
  rendering's detail and the network's: where that difference is noise (v about sigma^2)
  nothing is added; where it is structure, it is. The over-subtraction beta runs from
  `WIENER_BETA` where the low band has no weight (noisy) to `WIENER_BETA_CLEAN` where it has
  all (`SNR_FULL`), and on to `WIENER_BETA_TOP` at `SNR_TOP` (a daylight frame's bright
  parts): on a clean frame the rendering's detail is taken nearly whole.

The rendering's noise sigma^2(Y) is measured on the frame itself, blind: the network output's
luminance is cut into `NOISE_BINS` brightness bins and, in each, the flattest `FLAT_FRACTION`
of pixels (least network detail) give the variance of the high-band difference there. So it
follows any camera's noise without a calibration.

The constants were chosen on a development set of the training noise family
(`lsid synth --noise-family wide`, photos of the training sets, x4 to x300) and never on the
cross-noise test set: `scripts/tune_fusion.py` reruns that choice. On it, epoch 24 of the
shipped recipe went from 28.06 / 27.36 / 24.77 dB (x4 / x20 / x100, network with as-shot
colour) to 31.39 / 28.43 / 25.52 dB, above the traditional pipeline's 30.36 dB at x4, and
from 21.50 / 21.66 to 21.51 / 21.73 dB at x250 / x300, where the rendering is mostly noise
(10 pairs a ratio).

The rendering's exposure is LibRaw's, as it is. LibRaw brightens a gained frame whose
highlights stop short of white by up to 1.33x (`adjust_maximum_thr`): on one development frame
(x20) that cost the fusion 2.5 dB. Bringing the rendering to the network's exposure and colour
first (median per-channel ratio in linear light) mends that frame but cost 1.6 dB at x4 on
average, because the network's global tone is where it errs most; so it is not done.

Developing the frame and fusing cost about as much as the network's pass on a 12 MP frame, and
on a dark, noisy frame (SID's x100 to x300) they change next to nothing. `worth_fusing` looks
at the packed Bayer frame first (its two greens give the noise at each level, as in
`noise_table`) and says whether any part of the frame is clean enough for the low band to
open widely; `lsid enhance` develops and fuses only then.

All images are sRGB (gamma-encoded) float32 in [0, 1]. The frame is processed in row bands
(`BAND_ROWS` rows plus a `BAND_MARGIN`-row margin), so a 12 MP frame needs a few tens of MiB
beyond its two pictures. Bands run on a thread each, as many at once as the process may use
cores: SciPy's filters and NumPy's arithmetic release the GIL, and every band gives the same
numbers whichever thread runs it.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy.ndimage import uniform_filter

#: Side of the box mean applied twice to make the low band, pixels (sigma sqrt(2 (b^2-1)/12) = 2).
LOW_BOX = 5
#: Local SNR (luminance over its noise sigma) below which the rendering's low band gets no weight.
SNR_FLOOR = 6.0
#: Local SNR from which the rendering's low band is taken whole.
SNR_FULL = 20.0
#: Side of the box the high-band difference's local variance is taken over, pixels.
VARIANCE_BOX = 7
#: Side of the box over which the rendering is brought to the fused brightness, pixels.
BRIGHTNESS_BOX = 15
#: Wiener over-subtraction: detail is added only where its variance exceeds beta times the
#: noise's; beta is `WIENER_BETA` where the low band's weight is 0 (noisy pixels) and
#: `WIENER_BETA_CLEAN` where it is 1, linear between. Chosen on the development set with its
#: clean end (`scripts/tune_fusion.py --clean-scenes 10`; epochs 24 and 40 of the shipped
#: recipe): against a single beta of 2 with luminance-only detail it is ahead at every ratio,
#: by 1.7-1.8 dB at x4 and 8 dB on clean x1-x2 frames (35.6 -> 43.7 dB for epoch 40; LibRaw's
#: rendering 45.4).
WIENER_BETA = 3.0
WIENER_BETA_CLEAN = 1.0
#: Above `SNR_FULL` beta keeps falling, linearly in the SNR, to `WIENER_BETA_TOP` at
#: `SNR_TOP` and stays there. Where the rendering's noise is a tiny part of the signal, the
#: network's smoothing is the larger error. Chosen on the development set with its clean end
#: (`scripts/tune_fusion.py --clean-scenes 10`, epochs 24 and 40 of the shipped recipe), among
#: SNR_TOP 40 / 80 / 160 and beta 0.25 / 0 there, by the mean over its six rows: for epoch 40
#: clean 43.68 -> 44.00 dB, x4 to x300 within 0.06 dB of beta stopping at `WIENER_BETA_CLEAN`;
#: the real daylight files keep more of their detail (Blackmagic DNG 0.77 -> 0.89 of LibRaw's).
WIENER_BETA_TOP = 0.25
SNR_TOP = 80.0
#: Brightness bins of the blind noise measurement, and the flattest fraction used in each.
NOISE_BINS = 16
FLAT_FRACTION = 0.2
#: `worth_fusing`: an optimistic factor from the raw greens' SNR to the rendering's SNR in sRGB
#: (about 2.2 from the slope of the gamma curve, more from demosaicing's averaging), and the
#: fraction of the frame that must reach `SNR_FLOOR` with it. Chosen on the development set
#: (100 pairs, x4 to x300, epoch 24): below 0.6 the fusion changed each frame by -0.25 to
#: +0.26 dB, about 0 on average; above it, by up to +6 dB.
GATE_SNR_GAIN = 4.0
GATE_FRACTION = 0.6
#: `worth_fusing` samples every this many packed pixels down and across.
GATE_STEP = 4
#: Fewest pixels a brightness bin needs to measure the noise in it.
MIN_BIN_PIXELS = 50
#: Limits of the local brightness ratio that brings the rendering to the fused picture's.
GAIN_LIMITS = (0.5, 2.0)
#: Median of chi-square with one degree of freedom: the median of x^2 over sigma^2 for Gaussian x.
_CHI2_MEDIAN = 0.4549364
#: Its lower quartile.
_CHI2_QUARTILE = 0.1015308
#: Rows of one band. 128 rather than 256: with a band on each of 2 threads, a clean 12 MP
#: frame through `lsid enhance` (int8 export) peaked at 987-1007 MiB with 256-row bands and at
#: 879 MiB with 128 (one thread, 256 rows: 882 MiB), in the same time (8.4 s).
BAND_ROWS = 128
#: Rows each band reads beyond its own on both sides: more than the filters' combined reach.
BAND_MARGIN = 32
_LUMINANCE = np.array([0.2126, 0.7152, 0.0722], np.float32)  # sRGB / Rec. 709


def _luminance(rgb):
    return rgb @ _LUMINANCE


def _low_band(image):
    """The low band of an (H, W) or (H, W, C) image: two passes of a `LOW_BOX` box mean."""
    size = (LOW_BOX, LOW_BOX, 1)[: image.ndim]
    return uniform_filter(uniform_filter(image, size, mode="nearest"), size, mode="nearest")


def _high_band(y):
    """What `_low_band` leaves out: the two bands add up to the image."""
    return y - _low_band(y)


def _brightness_gain(y_render, y_reference):
    """Per pixel, the gain that brings the rendering's luminance to `y_reference`'s local
    brightness (`BRIGHTNESS_BOX` box means, within `GAIN_LIMITS`)."""
    gain = uniform_filter(y_reference, BRIGHTNESS_BOX, mode="nearest") / np.maximum(
        uniform_filter(y_render, BRIGHTNESS_BOX, mode="nearest"), 1e-3)
    return np.clip(gain, *GAIN_LIMITS)


def _matched(y_render, y_reference):
    """The rendering's luminance brought to `y_reference`'s local brightness."""
    return _brightness_gain(y_render, y_reference) * y_render


def _noise_samples(network, rendering, rows, step=2):
    """`(y, d2, texture)` of one band (its `rows` of the blocks given, every `step`th pixel):
    the network's luminance, the squared high-band difference and the network's own local
    detail."""
    y_net = _luminance(network)
    d = _high_band(_matched(_luminance(rendering), y_net) - y_net)
    texture = uniform_filter(np.abs(_high_band(y_net)), VARIANCE_BOX, mode="nearest")
    return tuple(a[rows][::step, ::step].ravel() for a in (y_net, d * d, texture))


def noise_table(y, d2, texture):
    """`(levels, variances)`: the rendering's noise variance (of the high band, in sRGB
    [0, 1] units squared) at increasing luminance levels, measured from the samples of
    `_noise_samples`; empty arrays when no bin has `MIN_BIN_PIXELS` samples."""
    edges = np.quantile(y, np.linspace(0.0, 1.0, NOISE_BINS + 1))
    index = np.clip(np.searchsorted(edges, y, side="right") - 1, 0, NOISE_BINS - 1)
    levels, variances = [], []
    for b in range(NOISE_BINS):
        chosen = index == b
        if chosen.sum() < MIN_BIN_PIXELS:
            continue
        flat = texture[chosen] <= np.quantile(texture[chosen], FLAT_FRACTION)
        levels.append(float(np.median(y[chosen])))
        variances.append(float(np.median(d2[chosen][flat]) / _CHI2_MEDIAN))
    return np.asarray(levels, np.float32), np.asarray(variances, np.float32)


def raw_snr_fraction(packed, gain=GATE_SNR_GAIN, step=GATE_STEP):
    """Fraction (0..1) of a packed Bayer frame (H, W, 4: R, G, B, G, linear, amplified) whose
    optimistic sRGB SNR, `gain` times the greens' level over their noise, reaches
    `SNR_FLOOR`. The noise at each level comes from the two greens of each cell, whose
    difference is almost all noise: a low quantile of its square per brightness bin, so that
    texture does not count as noise."""
    g1 = np.asarray(packed[::step, ::step, 1], np.float32).ravel()
    g2 = np.asarray(packed[::step, ::step, 3], np.float32).ravel()
    level = 0.5 * (g1 + g2)
    d2 = 0.5 * (g1 - g2) ** 2  # the variance of one green: var(g1 - g2) / 2
    if level.size < NOISE_BINS * MIN_BIN_PIXELS:
        return 1.0  # too small to judge: fuse
    edges = np.quantile(level, np.linspace(0.0, 1.0, NOISE_BINS + 1))
    index = np.clip(np.searchsorted(edges, level, side="right") - 1, 0, NOISE_BINS - 1)
    noise = np.empty(NOISE_BINS, np.float32)
    for b in range(NOISE_BINS):
        chosen = d2[index == b]
        noise[b] = np.quantile(chosen, 0.25) / _CHI2_QUARTILE if chosen.size else np.inf
    snr = level / np.sqrt(np.maximum(noise[index], 1e-12))
    return float(np.mean(gain * snr >= SNR_FLOOR))


def worth_fusing(packed, cfa_kind="bayer"):
    """Whether fusing the traditional rendering into the network's output of this packed,
    amplified frame can change it (`raw_snr_fraction` >= `GATE_FRACTION`). X-Trans frames are
    always fused (no pair of same-colour neighbours to read the noise from)."""
    if cfa_kind != "bayer":
        return True
    return raw_snr_fraction(packed) >= GATE_FRACTION


def _noise_lookup(levels, variances, steps=1024):
    """y -> noise variance: `noise_table` interpolated linearly, as a `steps`-entry table
    over [0, 1] (np.interp per pixel costs 10x more)."""
    table = np.interp(np.linspace(0.0, 1.0, steps), levels, variances).astype(np.float32)

    def lookup(y):
        return table[np.clip(np.rint(y * (steps - 1)), 0, steps - 1).astype(np.int32)]

    return lookup


def _beta_map(snr, low_weight, beta, beta_clean, beta_top, snr_full, snr_top):
    """Per pixel Wiener over-subtraction: `beta` -> `beta_clean` as the low band's weight
    goes 0 -> 1, then -> `beta_top` as the SNR goes `snr_full` -> `snr_top`."""
    beta_map = beta - (beta - beta_clean) * low_weight
    beta_map -= (beta_clean - beta_top) * np.clip((snr - snr_full) / (snr_top - snr_full),
                                                  0.0, 1.0)
    return beta_map


def _fuse_band(network, rendering, levels, variances, beta, beta_clean, beta_top, snr_floor,
               snr_full, snr_top):
    """Fused band (same shape as `network`), its low-band and its detail weights."""
    y_net = _luminance(network)
    noise = _noise_lookup(levels, variances)(y_net)
    snr = y_net / np.sqrt(np.maximum(noise, 1e-12))
    low_weight = np.clip((snr - snr_floor) / (snr_full - snr_floor), 0.0, 1.0)
    # network + w * low(rendering - network): the rendering's low band in place of the
    # network's (the low band is linear, so one blur of the difference does it).
    fused = _low_band(rendering - network)
    fused *= low_weight[..., None]
    fused += network
    # The rendering's detail in each colour, at the fused picture's local brightness; its
    # luminance decides the weight, against the luminance noise.
    difference = rendering * _brightness_gain(_luminance(rendering), _luminance(fused))[..., None]
    difference -= fused
    detail = _high_band(difference)
    y_detail = _luminance(detail)
    variance = uniform_filter(y_detail * y_detail, VARIANCE_BOX, mode="nearest")
    beta_map = _beta_map(snr, low_weight, beta, beta_clean, beta_top, snr_full, snr_top)
    detail_weight = np.clip(1.0 - beta_map * noise / np.maximum(variance, 1e-12), 0.0, 1.0)
    detail *= detail_weight[..., None]
    fused += detail
    return np.clip(fused, 0.0, 1.0, out=fused), low_weight, detail_weight


def _bands(height):
    for top in range(0, height, BAND_ROWS):
        yield top, min(top + BAND_ROWS, height)


def _as_unit(image):
    """float32 [0, 1] view or copy of a float or 16-bit image."""
    if image.dtype == np.uint16:
        return image.astype(np.float32) / 65535.0
    return np.asarray(image, np.float32)


def usable_cores():
    """Cores this process may run on (its CPU affinity where the system reports one), >= 1."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def fuse_traditional(network, rendering, out=None, *, beta=WIENER_BETA,
                     beta_clean=WIENER_BETA_CLEAN, beta_top=WIENER_BETA_TOP,
                     snr_floor=SNR_FLOOR, snr_full=SNR_FULL, snr_top=SNR_TOP, threads=None):
    """The network's picture with the traditional rendering's reliable bands fused in.

    Args:
        network: (H, W, 3) sRGB in [0, 1] (float16 or float32): the network's output in its
            final colour (e.g. after the as-shot colour), before any auto-bright.
        rendering: (H, W, 3) the traditional pipeline's rendering of the same frame, pixel
            aligned and at the same amplification: float in [0, 1] or uint16 (as
            `lsid_keras.raw.develop` returns it).
        out: float32 (H, W, 3) array to write into (`network` itself works), or None.
        beta, beta_clean, beta_top, snr_floor, snr_full, snr_top: `WIENER_BETA`,
            `WIENER_BETA_CLEAN`, `WIENER_BETA_TOP`, `SNR_FLOOR`, `SNR_FULL` and `SNR_TOP`
            (for tuning; betas > 0 save beta_top >= 0, 0 <= snr_floor < snr_full < snr_top).
        threads: bands fused at once, >= 1; None: `usable_cores()`. The result does not
            depend on it; memory grows by about 30 MiB a thread on a 4000-pixel-wide frame
            (`BAND_ROWS`).

    Returns:
        `(fused, weights)`: the fused float32 picture in [0, 1] and a dict of the mean
        low-band weight ("low", 0..1) and detail weight ("detail", 0..1) over the frame.

    Raises:
        ValueError: the two pictures' shapes differ.
    """
    if (not 0 <= snr_floor < snr_full < snr_top or not beta > 0 or not beta_clean > 0
            or not beta_top >= 0):
        raise ValueError("need 0 <= snr_floor < snr_full < snr_top, beta > 0, beta_clean > 0 "
                         f"and beta_top >= 0. Received: snr_floor={snr_floor}, "
                         f"snr_full={snr_full}, snr_top={snr_top}, beta={beta}, "
                         f"beta_clean={beta_clean}, beta_top={beta_top}")
    if network.shape != rendering.shape or network.ndim != 3 or network.shape[2] != 3:
        raise ValueError("the network output and the rendering must both be (H, W, 3) of one "
                         f"size. Received: {network.shape} and {rendering.shape}")
    threads = usable_cores() if threads is None else int(threads)
    if threads < 1:
        raise ValueError(f"threads must be >= 1. Received: threads={threads}")
    bands = list(_bands(network.shape[0]))
    with ThreadPoolExecutor(threads) as pool:
        levels, variances = noise_table(*_all_noise_samples(network, rendering, bands, pool))
        if out is None:
            out = np.empty(network.shape, np.float32)
        if levels.size == 0:
            out[...] = network
            return out, {"low": 0.0, "detail": 0.0}

        def fuse(job):
            top, bottom, start, block = job
            fused, low, detail = _fuse_band(
                block, _as_unit(rendering[start:bottom + BAND_MARGIN]), levels, variances,
                beta, beta_clean, beta_top, snr_floor, snr_full, snr_top)
            rows = slice(top - start, bottom - start)
            return fused[rows], float(low[rows].sum()), float(detail[rows].sum())

        low_sum = detail_sum = 0.0
        carry = None  # the input rows above the next group, as they were before being written
        for first in range(0, len(bands), threads):
            group = bands[first:first + threads]
            # Every block of the group is read before any of the group's bands is written
            # (`out` may be `network`); rows already written come from `carry`.
            jobs = []
            for top, bottom in group:
                start = max(top - BAND_MARGIN, 0)
                block = _as_unit(network[start:bottom + BAND_MARGIN]).copy()
                if carry is not None and top == group[0][0]:
                    block[: top - start] = carry
                jobs.append((top, bottom, start, block))
            top, bottom, start, block = jobs[-1]
            carry = block[bottom - start - BAND_MARGIN: bottom - start].copy()
            for (top, bottom), (fused, low, detail) in zip(group, pool.map(fuse, jobs),
                                                             strict=True):
                out[top:bottom] = fused
                low_sum += low
                detail_sum += detail
    pixels = network.shape[0] * network.shape[1]
    return out, {"low": low_sum / pixels, "detail": detail_sum / pixels}


def _all_noise_samples(network, rendering, bands, pool):
    """`_noise_samples` of every band, concatenated: the input of `noise_table`."""
    def samples(band):
        top, bottom = band
        start = max(top - BAND_MARGIN, 0)
        rows = slice(start, bottom + BAND_MARGIN)
        return _noise_samples(_as_unit(network[rows]), _as_unit(rendering[rows]),
                              slice(top - start, bottom - start))

    return tuple(np.concatenate(parts)
                 for parts in zip(*pool.map(samples, bands), strict=True))
