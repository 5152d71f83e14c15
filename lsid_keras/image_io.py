"""Writing sRGB images: 16-bit PNG / TIFF and 8-bit PNG / JPEG, always atomically."""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np

from lsid_keras.atomic import atomic_output
from lsid_keras.errors import LsidError

#: File extension -> bit depth written.
FORMATS = {".png": 16, ".tif": 16, ".tiff": 16, ".jpg": 8, ".jpeg": 8}


class ImageWriteError(LsidError, ValueError):
    """An output path that cannot be written (unknown format, missing folder)."""


def check_output_path(path):
    """Raises ImageWriteError unless `path` has a known extension and an existing folder."""
    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lower()
    if extension not in FORMATS:
        raise ImageWriteError(
            f"{path}: unknown image format {extension or '(none)'}; use one of "
            f"{', '.join(sorted(FORMATS))}"
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ImageWriteError(f"{path}: output folder {folder} does not exist")
    return path


def quantize(rgb, bits):
    """[0, 1] float -> uint8 (bits 8) or uint16 (bits 16), clipped, rounded half up."""
    top = 255 if bits == 8 else 65535
    values = np.floor(np.clip(np.asarray(rgb, np.float32), 0, 1) * top + 0.5)
    return values.astype(np.uint8 if bits == 8 else np.uint16)


def _png_bytes(pixels):
    """A PNG file (colour type 2, RGB) of a uint8 or uint16 (H, W, 3) array."""
    height, width, _ = pixels.shape
    depth = 8 if pixels.dtype == np.uint8 else 16
    rows = pixels.astype(">u2" if depth == 16 else np.uint8).reshape(height, -1).view(np.uint8)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, depth, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6))
            + chunk(b"IEND", b""))


def write_image(path, rgb, bits=None):
    """Writes an (H, W, 3) sRGB image in [0, 1] to `path`, format by extension.

    `.png` and `.tif` are 16-bit unless `bits=8`; `.jpg` is 8-bit (quality 95). The file is
    written under a temporary name in the same folder and renamed, so a failure or a kill never
    leaves half an image.

    Returns:
        The path written.
    """
    path = check_output_path(path)
    extension = os.path.splitext(path)[1].lower()
    bits = bits or FORMATS[extension]
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (H, W, 3). Received: shape={rgb.shape}")
    pixels = quantize(rgb, 8 if extension in (".jpg", ".jpeg") else bits)
    with atomic_output(path) as temporary:
        if extension == ".png":
            with open(temporary, "wb") as file:
                file.write(_png_bytes(pixels))
        elif extension in (".tif", ".tiff"):
            import tifffile

            tifffile.imwrite(temporary, pixels, photometric="rgb")
        else:
            import io

            from PIL import Image

            # Encoded in memory: Pillow's encoder writes straight to the file descriptor and
            # ignores a short write, so a full disk would leave a cut JPEG with no error.
            encoded = io.BytesIO()
            Image.fromarray(pixels).save(encoded, format="JPEG", quality=95)
            with open(temporary, "wb") as file:
                file.write(encoded.getbuffer())
    return path


def _read_own_png(data):
    """Decodes an unfiltered RGB PNG as `_png_bytes` writes it; None for any other PNG."""
    position, idat, header = 8, [], None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        position += 12 + length
    if header is None or header[3] != 2 or header[6] != 0:
        return None
    width, height, depth = header[:3]
    rows = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(height, -1)
    if np.any(rows[:, 0]):
        return None  # filtered rows: not ours
    kind = ">u2" if depth == 16 else np.uint8
    return rows[:, 1:].copy().view(kind).reshape(height, width, 3).astype(
        np.uint16 if depth == 16 else np.uint8)


def read_image(path):
    """Reads an 8/16-bit RGB image back as float32 [0, 1] (H, W, 3).

    16-bit RGB PNGs written by `write_image` are decoded here (Pillow reads them as 8-bit);
    everything else goes through imageio.
    """
    import imageio.v3 as iio

    pixels = None
    if str(path).lower().endswith(".png"):
        with open(path, "rb") as file:
            pixels = _read_own_png(file.read())
    if pixels is None:
        pixels = iio.imread(path)
    top = 65535.0 if pixels.dtype == np.uint16 else 255.0
    return pixels[..., :3].astype(np.float32) / np.float32(top)
