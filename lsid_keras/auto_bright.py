"""LibRaw's auto-bright on the network's output: the brightest 1 % of the pixels brought to white.

Why: LibRaw's default rendering (`rawpy.postprocess()` without `no_auto_bright`), what a
photographer compares `lsid enhance` with, scales every picture so that in its brightest
channel 1 % of the pixels reach white. The network learns SID's ground truth, developed without
that (`no_auto_bright=True`), and the auto ratio (`lsid_keras.amplification`) brings a frame's
highlights to where SID's long exposures have them, so a normally exposed file came out about
12 L* darker than LibRaw renders it (a Blackmagic DNG and a Kodak KDC, daylight, auto ratio
x1-x1.5), and its detail measured low with it (gradients scale with brightness).

The rule, as LibRaw's (`LibRaw::write_ppm_tiff` and `dcraw_make_mem_image`, `auto_bright_thr`
0.01, `bright` 1): per output channel, the linear level above which `THRESHOLD` of the pixels
lie (LibRaw: a histogram of its 16-bit linear output in 8192 bins, the bin where the count from
the top passes the threshold); white = the largest of the three levels; the picture is scaled
by 1 / white in linear light (never darker; at most `MAX_GAIN`, LibRaw's floor of 32 bins).
Here the histogram is of the encoded output's 16-bit codes
(`lsid_keras.as_shot_colour.code_histograms`, which the as-shot colour's mean is taken from
too); LibRaw's curve is monotonic, so the level is the same up to a bin. Applied to LibRaw's
own rendering without auto-bright this reproduces its rendering with it: 0.0 L* apart on both
files above.

It is measured after the as-shot colour (LibRaw measures after white balance): `gain` takes
the colour gains, so one pass over the pixels applies both (`lsid_keras.enhance.finish_colour`).
Not for `lsid evaluate`: the ground truth is developed without it.

NumPy only: no Keras, no TensorFlow.
"""

from __future__ import annotations

import numpy as np

#: Fraction of the pixels that reach white (LibRaw's `auto_bright_thr`).
THRESHOLD = 0.01
#: Largest gain (LibRaw stops its search at bin 32 of 8192: 8192 / 32).
MAX_GAIN = 256.0


def white_levels(counts, threshold=THRESHOLD):
    """(3,) float64: per channel of `code_histograms` `counts`, the linear level above which
    `threshold` of the pixels lie (the code where the count from the top first exceeds
    `threshold` of all, decoded with LibRaw's curve); 0 for an empty histogram."""
    from lsid_keras.as_shot_colour import libraw_to_linear

    counts = np.asarray(counts)
    total = counts.sum(axis=1)
    from_top = np.cumsum(counts[:, ::-1], axis=1)
    codes = np.empty(3)
    for channel in range(3):
        above = np.flatnonzero(from_top[channel] > threshold * total[channel])
        codes[channel] = (counts.shape[1] - 1 - above[0]) if above.size else 0
    return libraw_to_linear(codes / (counts.shape[1] - 1))


def auto_bright_gain(levels, colour_gains=None):
    """The linear gain LibRaw's auto-bright gives a picture whose channels' white levels
    (`white_levels`) are `levels`, after `colour_gains` (3,) are applied to them (None: none):
    1 / the largest gained level (clipped at 1), within [1, `MAX_GAIN`]."""
    levels = np.asarray(levels, dtype=np.float64)
    if colour_gains is not None:
        levels = levels * np.asarray(colour_gains, dtype=np.float64)
    white = float(np.max(np.minimum(levels, 1.0)))
    return float(np.clip(1.0 / max(white, 1.0 / MAX_GAIN), 1.0, MAX_GAIN))
