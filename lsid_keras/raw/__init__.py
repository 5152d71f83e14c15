"""Camera RAW in: reading (rawpy), packing for the network, amplification, DNG writing.

NumPy and rawpy only (pidng on first `write_dng` call); never TensorFlow.

    frame = read_raw("Sony/short/10003_00_0.04s.ARW")
    x = amplify(pack(frame), ratio=250)   # (H/2, W/2, 4) float32 in [0, 1]
"""

from lsid_keras.raw.dng import dng_black_level_pattern, write_dng
from lsid_keras.raw.errors import (
    CorruptRawFileError,
    EmptyRawFileError,
    NotARawFileError,
    RawError,
    RawFileNotFoundError,
    RawReadError,
    RawTooLargeError,
    TruncatedRawFileError,
    UnsupportedBlackLevelError,
    UnsupportedCFAError,
)
from lsid_keras.raw.pack import (
    BAYER,
    XTRANS,
    XTRANS_PACKING,
    XTRANS_PATTERN,
    amplify,
    block_size,
    cfa_kind_of,
    cfa_name,
    cfa_phase,
    pack,
    pack_bayer,
    pack_xtrans,
    packed_channels,
    packing_window,
)
from lsid_keras.raw.read import MAX_PIXELS, MAX_PIXELS_PER_BYTE, RawFrame, read_raw

__all__ = [
    "BAYER",
    "MAX_PIXELS",
    "MAX_PIXELS_PER_BYTE",
    "XTRANS",
    "XTRANS_PACKING",
    "XTRANS_PATTERN",
    "CorruptRawFileError",
    "EmptyRawFileError",
    "NotARawFileError",
    "RawError",
    "RawFileNotFoundError",
    "RawFrame",
    "RawReadError",
    "RawTooLargeError",
    "TruncatedRawFileError",
    "UnsupportedBlackLevelError",
    "UnsupportedCFAError",
    "amplify",
    "block_size",
    "cfa_kind_of",
    "cfa_name",
    "cfa_phase",
    "dng_black_level_pattern",
    "pack",
    "pack_bayer",
    "pack_xtrans",
    "packed_channels",
    "packing_window",
    "read_raw",
    "write_dng",
]
