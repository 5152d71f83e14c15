"""Camera geometry as the network sees it: packed channels, sub-pixel block, size multiple.

One small module, free of Keras and of RAW decoding, that the models, the data pipeline, the
tiler, training settings and the export card all read, so a number such as "a Bayer frame packs
to 4 channels at half resolution" lives in exactly one place.

Units: `frame` sizes are RAW (mosaic) pixels; `SIZE_MULTIPLE` is in packed pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The U-Net pools four times, so packed input sides must be multiples of 2**4.
POOLINGS = 4
SIZE_MULTIPLE = 2**POOLINGS

BAYER = "bayer"
XTRANS = "xtrans"
#: Packed input channels per CFA kind: a 2x2 Bayer cell (R, G, B, G), or 9 X-Trans channels.
_PACKED_CHANNELS = {BAYER: 4, XTRANS: 9}
#: Sub-pixel factor from the packed grid back to the full mosaic, per CFA kind.
_BLOCK_SIZE = {BAYER: 2, XTRANS: 3}


def packed_channels(cfa_kind: str) -> int:
    """Channels of the packed input: 4 for "bayer", 9 for "xtrans"."""
    try:
        return _PACKED_CHANNELS[cfa_kind]
    except KeyError:
        raise ValueError(
            f"cfa_kind must be one of {sorted(_PACKED_CHANNELS)}. Received: cfa_kind={cfa_kind!r}"
        ) from None


def block_size(cfa_kind: str) -> int:
    """Sub-pixel factor between the packed input and the full mosaic: 2 (Bayer) or 3 (X-Trans)."""
    try:
        return _BLOCK_SIZE[cfa_kind]
    except KeyError:
        raise ValueError(
            f"cfa_kind must be one of {sorted(_BLOCK_SIZE)}. Received: cfa_kind={cfa_kind!r}"
        ) from None


def cfa_kind_for_channels(channels: int) -> str | None:
    """The CFA kind whose packed input has `channels` channels, or None."""
    for kind, count in _PACKED_CHANNELS.items():
        if count == channels:
            return kind
    return None


@dataclass(frozen=True)
class Camera:
    """What a camera family means for the network.

    Attributes:
        cfa_kind: "bayer" or "xtrans".
        packed_channels: channels of the packed RAW input.
        block_size: sub-pixel factor from packed to full resolution.
        frame: (height, width) of a full SID frame in RAW pixels, for cost figures.
    """

    cfa_kind: str
    packed_channels: int
    block_size: int
    frame: tuple


def _camera(cfa_kind, frame):
    return Camera(cfa_kind, packed_channels(cfa_kind), block_size(cfa_kind), frame)


#: The SID camera families: Sony α7S II (Bayer) and Fujifilm X-T2 (X-Trans).
CAMERAS = {
    "sony": _camera(BAYER, (2832, 4240)),
    "fuji": _camera(XTRANS, (4032, 6030)),
}
