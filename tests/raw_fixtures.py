"""Small synthetic DNG files for the raw tests, written with `lsid_keras.raw.write_dng`.

Patterns here are spelled out independently of `lsid_keras.raw.pack` (from REFERENCE.md), so
the tests check the implementation against the reference, not against itself.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from lsid_keras.raw import write_dng

BAYER_ORDERS = ("RGGB", "GRBG", "GBRG", "BGGR")
# Where the R pixel of each order sits in its 2x2 cell, (row, col).
BAYER_RED_AT = {"RGGB": (0, 0), "GRBG": (0, 1), "GBRG": (1, 0), "BGGR": (1, 1)}

# The X-T2 phase of the X-Trans pattern (REFERENCE.md).
XT2_ROWS = ("RBGBRG", "GGRGGB", "GGBGGR", "BRGRBG", "GGBGGR", "GGRGGB")
# Channel k of a packed X-Trans cell: pixels (row, col) of the 6x6 tile placed at output
# positions (0,0), (0,1), (1,0), (1,1) (REFERENCE.md table).
XT2_TABLE = (
    ((0, 0), (0, 4), (3, 1), (3, 3)),
    ((0, 2), (0, 5), (3, 2), (3, 5)),
    ((0, 1), (0, 3), (3, 0), (3, 4)),
    ((1, 2), (2, 5), (5, 2), (4, 5)),
    ((2, 2), (1, 5), (4, 2), (5, 5)),
    ((1, 0), (1, 3), (4, 0), (4, 3)),
    ((1, 1), (1, 4), (4, 1), (4, 4)),
    ((2, 0), (2, 3), (5, 0), (5, 3)),
    ((2, 1), (2, 4), (5, 1), (5, 4)),
)


def pattern(rows) -> np.ndarray:
    """Letters ("RG", "GB") -> integer array, 0 R, 1 G, 2 B."""
    return np.array([["RGB".index(c) for c in row] for row in rows])


def bayer_pattern(order: str) -> np.ndarray:
    return pattern((order[:2], order[2:]))


XT2 = pattern(XT2_ROWS)


def shifted(cfa: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """The pattern seen by a mosaic that starts dy rows and dx columns into `cfa`'s mosaic."""
    n = cfa.shape[0]
    return np.array([[cfa[(y + dy) % n, (x + dx) % n] for x in range(n)] for y in range(n)])


def random_mosaic(shape, white: int, seed: int = 0) -> np.ndarray:
    """uint16 values over [0, white], including some pixels below black and at saturation."""
    rng = np.random.default_rng(seed)
    mosaic = rng.integers(0, white + 1, size=shape)
    mosaic.flat[::7] = white
    mosaic.flat[3::11] = 0
    return mosaic.astype(np.uint16)


def write_test_dng(directory, name: str, mosaic, cfa, black, white, **metadata) -> Path:
    path = Path(directory) / name
    write_dng(path, mosaic, cfa, black, white, **metadata)
    return path


def write_pidng_dng(path, mosaic, cfa, white: int, **tags) -> Path:
    """A DNG written with pidng directly, for what write_dng refuses to write (odd patterns,
    ActiveArea margins). `tags` maps pidng Tag names to values."""
    from pidng.core import RAW2DNG, DNGTags, Tag

    mosaic = np.asarray(mosaic, dtype=np.uint16)
    cfa = np.asarray(cfa)
    height, width = mosaic.shape
    values = {
        "ImageWidth": width,
        "ImageLength": height,
        "TileWidth": width,
        "TileLength": height,
        "PhotometricInterpretation": 32803,
        "SamplesPerPixel": 1,
        "BitsPerSample": 16,
        "CFARepeatPatternDim": list(cfa.shape),
        "CFAPattern": [int(v) for v in cfa.ravel()],
        "WhiteLevel": white,
    } | tags
    dng_tags = DNGTags()
    for name, value in values.items():
        dng_tags.set(getattr(Tag, name), value)
    writer = RAW2DNG()
    writer.options(dng_tags, path="", compress=False)
    Path(path).write_bytes(writer.convert(mosaic))
    return Path(path)


def set_dng_size(path, height: int, width: int) -> None:
    """Make a DNG's header claim another size (ImageLength/Width and the tile size), in place."""
    data = bytearray(Path(path).read_bytes())
    assert data[:4] == b"II*\x00", "expects a little-endian TIFF as write_dng produces"
    (ifd,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, ifd)
    values = {256: width, 257: height, 322: width, 323: height}
    for i in range(count):
        entry = ifd + 2 + 12 * i
        tag, kind = struct.unpack_from("<HH", data, entry)
        if tag in values:
            struct.pack_into("<I" if kind == 4 else "<H", data, entry + 8, values[tag])
    Path(path).write_bytes(bytes(data))


def normalise(value, black, white) -> float:
    """Reference normalisation of one pixel, in float64."""
    return min(max((float(value) - black) / (white - black), 0.0), 1.0)


def set_dng_tag(path, tag: int, value: int | None = None, count: int | None = None) -> None:
    """Overwrite the first value and/or the value count of a tag of a DNG's first IFD, in place
    (a little-endian TIFF as write_dng produces; the value must be stored inline)."""
    data = bytearray(Path(path).read_bytes())
    assert data[:4] == b"II*\x00", "expects a little-endian TIFF as write_dng produces"
    (ifd,) = struct.unpack_from("<I", data, 4)
    (entries,) = struct.unpack_from("<H", data, ifd)
    for i in range(entries):
        entry = ifd + 2 + 12 * i
        found, kind = struct.unpack_from("<HH", data, entry)
        if found == tag:
            if value is not None:
                struct.pack_into("<I" if kind == 4 else "<H", data, entry + 8, value)
            if count is not None:
                struct.pack_into("<I", data, entry + 4, count)
            Path(path).write_bytes(bytes(data))
            return
    raise AssertionError(f"tag {tag} not in {path}")
