"""Fuzz the RAW input path: every hostile RAW file must decode or raise a package `RawError`.

Seeds are small DNGs written by the package's own `write_dng` (every Bayer order and the X-Trans
pattern, with and without black-level patterns, colour matrix, white balance and exposure tags;
as one tile, as strips, as several tiles, and with ActiveArea margins, a default crop and a
linearization table). Each mutant is a seed with one to three mutations: bit flips, byte runs
(random, 0x00, 0xFF), truncation inside a region (header, IFD, tag data, image data, end),
TIFF/DNG header fields set to extremes (sizes, strip/tile offsets and byte counts, tile sizes,
bits and samples per pixel, CFA pattern, black/white levels, compression, photometric
interpretation, entry types and counts, IFD entry counts, next-IFD offsets), and width and
height together set to huge or tiny sizes, with and without compression.

Every mutant goes through `read_raw` + `pack`, and through `develop` at ratio 1 and 100, in a
child process. A pool of long-lived workers takes mutants one at a time; the parent kills a
worker that runs past the time limit and replaces one that dies. Outcomes per mutant (the worst
of the three paths):

    decoded          every path returned a non-empty image
    clean error      a RawError whose message starts with the path
    other exception  anything else (a bug: its type, message and raising line are recorded)
    child crash      the worker died (a signal or an abort inside LibRaw's C code)
    timeout          the worker ran past --timeout seconds

Mutants of the last three kinds are copied to --keep DIR with one line each in DIR/kept.jsonl
(run seed, index, mutations, outcome); `make_mutant(make_seeds(), seed, index)` rebuilds any
mutant. Anything written to the worker's stdout/stderr while the package handles a file (LibRaw
prints there) is counted as a stderr leak. Exit status 1 when any mutant raised another
exception or timed out.

    python scripts/fuzz_raw.py --seed 0 --count 2000 --keep fuzz-findings --json fuzz.json

NumPy and rawpy only (pidng to write the seeds): no TensorFlow anywhere in this path.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass

import numpy as np

from lsid_keras.raw.dng import _Tiff

_REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTCOMES = ("decoded", "clean error", "other exception", "child crash", "timeout")
KEPT_OUTCOMES = ("other exception", "child crash", "timeout")
_WORST_FIRST = ("other exception", "clean error", "decoded")

# --- TIFF layout ----------------------------------------------------------------------------

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_MAX_IFDS = 16

FIELDS = {
    256: "ImageWidth",
    257: "ImageLength",
    258: "BitsPerSample",
    259: "Compression",
    262: "PhotometricInterpretation",
    273: "StripOffsets",
    277: "SamplesPerPixel",
    278: "RowsPerStrip",
    279: "StripByteCounts",
    322: "TileWidth",
    323: "TileLength",
    324: "TileOffsets",
    325: "TileByteCounts",
    330: "SubIFDs",
    33421: "CFARepeatPatternDim",
    33422: "CFAPattern",
    50713: "BlackLevelRepeatDim",
    50714: "BlackLevel",
    50712: "LinearizationTable",
    50717: "WhiteLevel",
    50719: "DefaultCropOrigin",
    50720: "DefaultCropSize",
    50829: "ActiveArea",
}
_OFFSET_TAGS = (273, 324, 330)
_DATA_OFFSET_TAGS = {273: 279, 324: 325}  # image data offsets -> their byte counts
# Values LibRaw and the package treat specially, tried for these fields besides the generic ones.
_SPECIAL_VALUES = {
    258: (0, 1, 8, 12, 14, 15, 16, 17, 32, 64),
    259: (0, 1, 6, 7, 8, 32767, 32773, 34713, 34892, 52546),
    262: (0, 1, 2, 6, 32803, 32844, 34892, 65535),
    277: (0, 1, 2, 3, 4, 65535),
    33421: (0, 1, 2, 3, 6, 7, 8, 16, 255),
    33422: (0, 1, 2, 3, 4, 5, 6, 255),
    50713: (0, 1, 2, 3, 6, 7, 12, 255),
}


@dataclass(frozen=True)
class TiffEntry:
    """One IFD entry and where its parts lie in the file (byte offsets)."""

    ifd: int  # offset of the IFD holding it
    position: int  # offset of the 12-byte entry
    tag: int
    kind: int
    count: int
    data: int  # offset of the values (inline: position + 8)
    length: int  # bytes of the values (0 for an unknown type)


class TiffLayout(_Tiff):
    """The package's minimal TIFF reader, plus where every IFD, entry and value lies.

    Args:
        data: the whole file. Raises ValueError / struct.error when the header is not TIFF.
    """

    def __init__(self, data: bytes):
        self.data = bytes(data)
        super().__init__(io.BytesIO(self.data))
        self.ifds: list[tuple[int, int]] = []  # (offset, entry count)
        self.entries: list[TiffEntry] = []
        pending, seen = [self.first_ifd], set()
        while pending and len(seen) < _MAX_IFDS:
            offset = pending.pop(0)
            if offset in seen or not 8 <= offset <= len(self.data) - 6:
                continue
            seen.add(offset)
            (count,) = self._unpack("H", self.data[offset : offset + 2])
            if offset + 6 + 12 * count > len(self.data):
                continue
            self.ifds.append((offset, count))
            for i in range(count):
                position = offset + 2 + 12 * i
                tag, kind, n = self._unpack("HHI", self.data[position : position + 8])
                length = _TYPE_SIZES.get(kind, 0) * n
                if length <= 4:
                    data = position + 8
                else:
                    (data,) = self._unpack("I", self.data[position + 8 : position + 12])
                entry = TiffEntry(offset, position, tag, kind, n, data, length)
                self.entries.append(entry)
                if tag == 330 and length <= 64 and data + length <= len(self.data):
                    pending.extend(self.values_of(entry))
            (next_ifd,) = self._unpack("I", self.data[offset + 2 + 12 * count :][:4])
            pending.append(next_ifd)

    def next_ifd_position(self, ifd: tuple[int, int]) -> int:
        return ifd[0] + 2 + 12 * ifd[1]

    def values_of(self, entry: TiffEntry) -> list[int]:
        """Integer values of a BYTE/SHORT/LONG entry (fewer if the file ends first)."""
        size = _TYPE_SIZES.get(entry.kind)
        if entry.kind not in (1, 3, 4) or entry.length > 1 << 20:
            return []
        n = min(entry.count, max(len(self.data) - entry.data, 0) // size)
        code = {1: "B", 3: "H", 4: "I"}[entry.kind]
        return list(self._unpack(code * n, self.data[entry.data :][: n * size]))

    def find(self, tag: int) -> list[TiffEntry]:
        return [e for e in self.entries if e.tag == tag]

    def regions(self) -> dict[str, list[tuple[int, int]]]:
        """Byte ranges [start, end) of the header, IFDs, tag data, image data and file end."""
        size = len(self.data)
        regions = {"header": [(0, 8)], "ifd": [], "tag data": [], "image data": [], "end": []}
        for offset, count in self.ifds:
            regions["ifd"].append((offset, offset + 6 + 12 * count))
        image_offsets = {e.position for t in _DATA_OFFSET_TAGS for e in self.find(t)}
        for entry in self.entries:
            if entry.length > 4 and entry.data < size:
                regions["tag data"].append((entry.data, min(entry.data + entry.length, size)))
            if entry.position in image_offsets:
                counts = self.find(_DATA_OFFSET_TAGS[entry.tag])
                lengths = self.values_of(counts[0]) if counts else []
                for start, length in zip(self.values_of(entry), lengths, strict=False):
                    if start < size:
                        regions["image data"].append((start, min(start + length, size)))
        regions["end"].append((max(size - 16, 0), size))
        return {name: ranges for name, ranges in regions.items() if ranges}


def _pack_values(endian: str, kind: int, values) -> bytes:
    code = {1: "B", 3: "H", 4: "I"}[kind]
    limit = {1: 0xFF, 3: 0xFFFF, 4: 0xFFFFFFFF}[kind]
    return struct.pack(endian + code * len(values), *(int(v) & limit for v in values))


def rewrite_tiff(layout: TiffLayout, replace: dict[int, tuple[int, list[int] | bytes]],
                 drop=(), image: bytes | None = None, image_tags=None) -> bytes:
    """A new little-endian single-IFD TIFF from `layout`'s first IFD with entries replaced.

    Args:
        replace: tag -> (type, values) (or raw bytes for any type), added or replacing.
        drop: tags to leave out.
        image: bytes of the image data, appended last; `image_tags` maps each offset tag to the
            list of offsets relative to the start of `image`, which are made absolute here.
    """
    entries = {}
    for entry in layout.entries:
        if entry.ifd != layout.ifds[0][0] or entry.tag in drop:
            continue
        raw = layout.data[entry.data : entry.data + entry.length]
        entries[entry.tag] = (entry.kind, entry.count, raw)
    for tag, (kind, values) in replace.items():
        raw = values if isinstance(values, bytes) else _pack_values("<", kind, values)
        entries[tag] = (kind, len(raw) // _TYPE_SIZES[kind], raw)
    tags = sorted(entries)
    ifd_size = 2 + 12 * len(tags) + 4
    blob_start = 8 + ifd_size
    blobs = bytearray()
    fields = []
    for tag in tags:
        kind, count, raw = entries[tag]
        if len(raw) <= 4:
            fields.append(struct.pack("<HHI", tag, kind, count) + raw.ljust(4, b"\0"))
        else:
            if len(blobs) % 2:
                blobs += b"\0"
            fields.append(struct.pack("<HHII", tag, kind, count, blob_start + len(blobs)))
            blobs += raw
    if len(blobs) % 2:
        blobs += b"\0"
    image_start = blob_start + len(blobs)
    out = bytearray(b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", len(tags)))
    for tag, field in zip(tags, fields, strict=True):
        if image_tags and tag in image_tags:
            kind, count, raw = entries[tag]
            absolute = [image_start + v for v in image_tags[tag]]
            packed = _pack_values("<", kind, absolute)
            if len(packed) <= 4:
                field = field[:8] + packed.ljust(4, b"\0")
            else:
                (where,) = struct.unpack_from("<I", field, 8)
                blobs[where - blob_start : where - blob_start + len(packed)] = packed
        out += field
    out += struct.pack("<I", 0) + blobs + (image or b"")
    return bytes(out)


# --- seeds ----------------------------------------------------------------------------------

SEED_SHAPE = (64, 96)  # small and a multiple of 6 and 32 (tiles), so every layout applies
_XTRANS_ROWS = ("RBGBRG", "GGRGGB", "GGBGGR", "BRGRBG", "GGBGGR", "GGRGGB")


def _strips(dng: bytes, mosaic: np.ndarray, rows_per_strip: int) -> bytes:
    layout = TiffLayout(dng)
    height, width = mosaic.shape
    starts = list(range(0, height, rows_per_strip))
    counts = [min(rows_per_strip, height - s) * width * 2 for s in starts]
    offsets = [s * width * 2 for s in starts]
    return rewrite_tiff(
        layout,
        {273: (4, offsets), 278: (4, [rows_per_strip]), 279: (4, counts)},
        drop=(322, 323, 324, 325),
        image=mosaic.astype("<u2").tobytes(),
        image_tags={273: offsets},
    )


def _tiles(dng: bytes, mosaic: np.ndarray, tile: int) -> bytes:
    layout = TiffLayout(dng)
    height, width = mosaic.shape
    chunks, offsets = [], []
    for y in range(0, height, tile):
        for x in range(0, width, tile):
            offsets.append(sum(len(c) for c in chunks))
            chunks.append(mosaic[y : y + tile, x : x + tile].astype("<u2").tobytes())
    return rewrite_tiff(
        layout,
        {
            322: (3, [tile]),
            323: (3, [tile]),
            324: (4, offsets),
            325: (4, [len(c) for c in chunks]),
        },
        image=b"".join(chunks),
        image_tags={324: offsets},
    )


def _margins(dng: bytes, mosaic: np.ndarray, top: int, left: int) -> bytes:
    """The file with an ActiveArea margin, a default crop and a (gamma-like) LinearizationTable,
    tags write_dng does not write but LibRaw reads."""
    height, width = mosaic.shape
    table = np.rint(4095 * (np.arange(4096) / 4095) ** 0.9).astype(int).tolist()
    return rewrite_tiff(
        TiffLayout(dng),
        {
            50712: (3, table),
            50719: (4, [2, 2]),
            50720: (4, [width - left - 4, height - top - 4]),
            50829: (4, [top, left, height, width]),
        },
        image=mosaic.astype("<u2").tobytes(),
        image_tags={324: [0]},
    )


def make_seeds(shape=SEED_SHAPE) -> dict[str, bytes]:
    """Seed DNG files by name: every Bayer order and X-Trans, plain and with every optional tag,
    as one tile (write_dng's layout), as strips, as 32x32 tiles, and with ActiveArea margins,
    a default crop and a linearization table."""
    from lsid_keras.raw.dng import write_dng
    from lsid_keras.raw.unprocess import BROOKS_XYZ_TO_CAMERA

    rng = np.random.default_rng(0)
    white = 4095
    mosaic = rng.integers(0, white + 1, size=shape).astype(np.uint16)
    mosaic.flat[::7] = white
    xtrans = np.array([["RGB".index(c) for c in row] for row in _XTRANS_ROWS])
    patterns = {order: order for order in ("RGGB", "GRBG", "GBRG", "BGGR")} | {"XTRANS": xtrans}
    metadata = {
        "camera_wb": (2.0, 1.0, 1.6),
        "color_matrix": BROOKS_XYZ_TO_CAMERA[0],
        "exposure_time": 0.04,
    }
    seeds = {}
    with tempfile.TemporaryDirectory() as directory:
        for name, cfa in patterns.items():
            side = 6 if name == "XTRANS" else 2
            black_pattern = 60 + np.arange(side * side).reshape(side, side)
            variants = {"plain": (64, {}), "tagged": (black_pattern, metadata)}
            for variant, (black, extra) in variants.items():
                path = os.path.join(directory, "seed.dng")
                write_dng(path, mosaic, cfa, black, white, **extra)
                with open(path, "rb") as file:
                    seeds[f"{name}-{variant}"] = file.read()
        for name in ("RGGB-tagged", "XTRANS-tagged"):
            seeds[f"{name}-strips"] = _strips(seeds[name], mosaic, rows_per_strip=16)
            seeds[f"{name}-tiles"] = _tiles(seeds[name], mosaic, tile=32)
        seeds["GRBG-tagged-margins"] = _margins(seeds["GRBG-tagged"], mosaic, 1, 3)
        seeds["XTRANS-tagged-margins"] = _margins(seeds["XTRANS-tagged"], mosaic, 7, 8)
    return seeds


# --- mutations ------------------------------------------------------------------------------


def _bit_flips(data: bytearray, rng, layout) -> dict:
    flips = int(rng.integers(1, 9))
    positions = rng.integers(0, len(data), size=flips)
    for position in positions:
        data[position] ^= 1 << int(rng.integers(0, 8))
    return {"op": "bit flips", "positions": [int(p) for p in positions]}


def _byte_run(data: bytearray, rng, layout) -> dict:
    fill = str(rng.choice(["random", "0x00", "0xFF"]))
    regions = layout.regions() if layout else {"file": [(0, len(data))]}
    region = str(rng.choice(sorted(regions)))
    start, end = regions[region][int(rng.integers(len(regions[region])))]
    offset = int(rng.integers(start, max(end, start + 1)))
    length = int(rng.integers(1, 65))
    run = {
        "random": rng.integers(0, 256, size=length, dtype=np.uint8).tobytes(),
        "0x00": bytes(length),
        "0xFF": b"\xff" * length,
    }[fill]
    run = run[: max(len(data) - offset, 0)]
    data[offset : offset + len(run)] = run
    return {"op": "byte run", "fill": fill, "region": region, "offset": offset, "length": len(run)}


def _truncate(data: bytearray, rng, layout) -> dict:
    regions = layout.regions() if layout else {"file": [(0, len(data))]}
    region = str(rng.choice(sorted(regions)))
    start, end = regions[region][int(rng.integers(len(regions[region])))]
    cut = int(rng.integers(start, max(end, start + 1)))
    del data[cut:]
    return {"op": "truncate", "region": region, "at": cut}


def _extremes(entry: TiffEntry, original: int, file_size: int) -> list[int]:
    top = {1: 0xFF, 3: 0xFFFF, 4: 0xFFFFFFFF}[entry.kind]
    values = [0, 1, 2, 3, top, top // 2, top // 2 + 1, original + 1, max(original - 1, 0),
              original * 2, original // 2]
    values += list(_SPECIAL_VALUES.get(entry.tag, ()))
    if entry.tag in _OFFSET_TAGS or entry.tag in _DATA_OFFSET_TAGS.values() or entry.tag in (
        50719, 50720, 50829
    ):
        values += [file_size - 1, file_size, file_size + 1, file_size // 2, 8]
    if entry.kind != 1:
        values += [0xFFFF, 0x10000, 65535 * 2, 1 << 20]
    return [v for v in values if 0 <= v <= top]


def _field_extreme(data: bytearray, rng, layout) -> dict:
    candidates = [e for e in layout.entries if e.tag in FIELDS and e.kind in (1, 3, 4)]
    if not candidates:
        return _bit_flips(data, rng, layout)
    entry = candidates[int(rng.integers(len(candidates)))]
    values = layout.values_of(entry)
    if not values:
        return _bit_flips(data, rng, layout)
    which = "all" if len(values) == 1 or rng.random() < 0.5 else int(rng.integers(len(values)))
    original = values[0 if which == "all" else which]
    value = int(rng.choice(_extremes(entry, original, len(data))))
    new = [value] * len(values)
    if which != "all":
        new = values[:which] + [value] + values[which + 1 :]
    packed = _pack_values(layout.endian, entry.kind, new)
    data[entry.data : entry.data + len(packed)] = packed
    return {"op": "field", "tag": entry.tag, "field": FIELDS[entry.tag], "index": which,
            "value": value}


def _entry_header(data: bytearray, rng, layout) -> dict:
    """Change an entry's type or value count (the parser must not trust either)."""
    candidates = [e for e in layout.entries if e.tag in FIELDS]
    if not candidates:
        return _bit_flips(data, rng, layout)
    entry = candidates[int(rng.integers(len(candidates)))]
    if rng.random() < 0.5:
        value = int(rng.choice([0, 1, 2, 3, 4, 5, 7, 11, 12, 13, 16, 17, 0xFFFF]))
        struct.pack_into(layout.endian + "H", data, entry.position + 2, value)
        change = "type"
    else:
        value = int(rng.choice([0, 1, 2, entry.count + 1, entry.count * 2, 0xFFFF, 0x7FFFFFFF,
                                0xFFFFFFFF]))
        struct.pack_into(layout.endian + "I", data, entry.position + 4, value & 0xFFFFFFFF)
        change = "count"
    return {"op": "entry " + change, "tag": entry.tag, "field": FIELDS[entry.tag], "value": value}


def _ifd_structure(data: bytearray, rng, layout) -> dict:
    """IFD entry counts, next-IFD offsets (loops included), the first IFD offset, byte order."""
    if not layout.ifds:
        return _bit_flips(data, rng, layout)
    offset, count = layout.ifds[int(rng.integers(len(layout.ifds)))]
    size = len(data)
    choice = str(rng.choice(["entry count", "next ifd", "first ifd", "byte order"]))
    if choice == "entry count":
        value = int(rng.choice([0, 1, max(count - 1, 0), count + 1, count * 2, 0xFFFF]))
        struct.pack_into(layout.endian + "H", data, offset, value)
    elif choice == "next ifd":
        value = int(rng.choice([0, offset, 8, size - 2, size, 0xFFFFFFFF,
                                int(rng.integers(0, size))]))
        position = layout.next_ifd_position((offset, count))
        if position + 4 <= size:
            struct.pack_into(layout.endian + "I", data, position, value)
    elif choice == "first ifd":
        value = int(rng.choice([0, 2, 4, 7, size - 2, size, 0xFFFFFFFF,
                                int(rng.integers(0, size))]))
        struct.pack_into(layout.endian + "I", data, 4, value)
    else:
        value = {b"II": "MM", b"MM": "II"}.get(bytes(data[:2]), "II")
        data[:2] = value.encode()
    return {"op": choice, "ifd": offset, "value": value}


def _frame_size(data: bytearray, rng, layout) -> dict:
    """Width and height (and the tile or strip size with them) set to extremes together,
    sometimes with a compressed encoding: decoders asked for a frame the file cannot hold."""
    sides = [0, 1, 21, 22, 23, 6000, 14000, 20000, 65535, 0x10000]
    width, height = (int(rng.choice(sides)) for _ in range(2))
    sizes = {256: width, 257: height, 322: width, 323: height, 278: height}
    compression = int(rng.choice([7, 8, 34892, 52546])) if rng.random() < 0.5 else None
    if compression is not None:
        sizes[259] = compression
    for entry in layout.entries:
        if entry.tag in sizes and entry.kind in (3, 4) and entry.count == 1:
            packed = _pack_values(layout.endian, entry.kind, [sizes[entry.tag]])
            data[entry.data : entry.data + len(packed)] = packed
    return {"op": "frame size", "width": width, "height": height, "compression": compression}


MUTATIONS = (
    (_bit_flips, 0.15),
    (_byte_run, 0.15),
    (_truncate, 0.12),
    (_field_extreme, 0.32),
    (_frame_size, 0.06),
    (_entry_header, 0.1),
    (_ifd_structure, 0.1),
)


def make_mutant(seeds: dict[str, bytes], fuzz_seed: int, index: int) -> tuple[bytes, dict]:
    """Mutant number `index` of run `fuzz_seed`: reproducible from these two numbers alone."""
    rng = np.random.default_rng([fuzz_seed, index])
    names = sorted(seeds)
    seed_name = names[int(rng.integers(len(names)))]
    data = bytearray(seeds[seed_name])
    functions = [m for m, _ in MUTATIONS]
    weights = np.array([w for _, w in MUTATIONS])
    steps = []
    for _ in range(int(rng.choice([1, 2, 3], p=[0.6, 0.25, 0.15]))):
        try:
            layout = TiffLayout(data)
        except (ValueError, struct.error):
            layout = None
        mutation = functions[int(rng.choice(len(functions), p=weights / weights.sum()))]
        if layout is None and mutation not in (_bit_flips, _byte_run, _truncate):
            mutation = _bit_flips
        if not data:
            break
        steps.append(mutation(data, rng, layout))
    return bytes(data), {"seed_file": seed_name, "mutations": steps}


# --- the child: one file through the package ------------------------------------------------


def check_file(path: str) -> dict:
    """Runs `path` through read_raw + pack and through develop (as shot and x100); the worst
    outcome of the three. A path that returns an empty image counts as a bug too.

    Returns:
        {"outcome": "decoded" | "clean error" | "other exception", "stage", "type",
        "message", "where"} (the last four describe the error, when there is one).
    """
    import traceback

    from lsid_keras.raw import RawError, pack, read_raw
    from lsid_keras.raw.develop import develop

    results = []
    stages = (
        ("read+pack", lambda: pack(read_raw(path))),
        ("develop", lambda: develop(path)),
        ("develop x100", lambda: develop(path, ratio=100)),  # the traditional-pipeline baseline
    )
    for stage, run in stages:
        try:
            image = run()
            if image.size == 0:
                results.append({"outcome": "other exception", "stage": stage,
                                "type": "empty image", "where": "",
                                "message": f"decoded to an image of shape {image.shape}"})
                continue
            results.append({"outcome": "decoded", "stage": stage})
        except Exception as error:  # noqa: BLE001 - classifying every exception is the point
            frame = traceback.extract_tb(error.__traceback__)[-1]
            where = f"{os.path.relpath(frame.filename, _REPOSITORY)}:{frame.lineno}"
            kind = f"{type(error).__module__}.{type(error).__qualname__}"
            message = str(error)
            outcome = "other exception"
            if isinstance(error, RawError):
                if message.startswith(path):
                    outcome = "clean error"
                else:
                    kind += " (message does not start with the path)"
            results.append({"outcome": outcome, "stage": stage, "type": kind,
                            "message": message[:300], "where": where})
    return min(results, key=lambda r: _WORST_FIRST.index(r["outcome"]))


def worker_main(memory_mb: int) -> None:
    """Reads mutant paths from stdin, one per line; answers one JSON line each.

    Answers go to a private copy of the original stdout, so any text LibRaw prints on fd 1 or
    fd 2 lands in the stderr file the parent gave this process and counts as a leak.
    """
    import faulthandler
    import resource

    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    faulthandler.enable()
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import lsid_keras.raw.develop  # noqa: F401  (imported before the first mutant's clock)

    answers.write("ready\n")
    for line in sys.stdin:
        path = line.strip()
        if path:
            started = time.monotonic()
            result = check_file(path)
            result["seconds"] = round(time.monotonic() - started, 3)
            answers.write(json.dumps(result) + "\n")


# --- the parent: a pool of workers ----------------------------------------------------------


def worker_command(memory_mb: int) -> list[str]:
    """The command line of one fuzz worker (this script with --worker)."""
    return [sys.executable, os.path.abspath(__file__), "--worker", "--memory-mb", str(memory_mb)]


class _Worker:
    """One long-lived child speaking the worker protocol, its stderr in a file of its own.

    Protocol: the child prints "ready", then answers each path it reads on stdin with one JSON
    line ({"outcome", "seconds", ...}).
    """

    def __init__(self, directory: str, number: int, command: list[str]):
        self.stderr_path = os.path.join(directory, f"worker{number}.stderr")
        self.stderr = open(self.stderr_path, "w+b")
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                   MKL_NUM_THREADS="1", PYTHONFAULTHANDLER="1")
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, env=env,
        )
        self.job = None
        self.spawned = time.monotonic()
        self.started = 0.0
        self.buffer = b""
        self.ready = False
        self.stderr_seen = 0

    def send(self, job) -> None:
        self.job = job
        self.started = time.monotonic()
        self.process.stdin.write((job["file"] + "\n").encode())
        self.process.stdin.flush()

    def read_lines(self) -> list[str] | None:
        """Complete lines now available; None at end of file (the worker died)."""
        chunk = os.read(self.process.stdout.fileno(), 65536)
        if not chunk:
            return None
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        return [line.decode() for line in lines]

    def new_stderr(self) -> str:
        self.stderr.seek(self.stderr_seen)
        text = self.stderr.read()
        self.stderr_seen += len(text)
        return text.decode("utf-8", "replace")

    def kill(self) -> int:
        if self.process.poll() is None:
            self.process.kill()
        code = self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self.stderr.close()
        return code


def _signal_name(code: int) -> str:
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


def run_pool(jobs, workers: int, timeout: float, command: list[str], directory: str, on_result):
    """Feeds `jobs` (dicts with "file") to `workers` children running `command`.

    Calls on_result(job, result) for each job: the worker's answer (plus "stderr" when the
    worker wrote to stdout/stderr meanwhile), {"outcome": "child crash", "signal", "stderr"}
    when the worker died on it, or {"outcome": "timeout"} when it ran past `timeout` seconds
    (the worker is killed). Dead and killed workers are replaced. `directory` holds the
    workers' stderr files.
    """
    pending = jobs if isinstance(jobs, _Lazy) else deque(jobs)
    selector = selectors.DefaultSelector()
    pool = []
    numbers = iter(range(1 << 30))

    def start():
        worker = _Worker(directory, next(numbers), command)
        selector.register(worker.process.stdout, selectors.EVENT_READ, worker)
        pool.append(worker)
        return worker

    def replace(worker):
        selector.unregister(worker.process.stdout)
        pool.remove(worker)
        code = worker.kill()
        if pending or any(w.job for w in pool):
            start()
        return code

    for _ in range(workers):
        start()
    while pending or any(w.job for w in pool):
        for worker in pool:
            if worker.ready and worker.job is None and pending:
                worker.send(pending.popleft())
        deadlines = [w.started + timeout for w in pool if w.job]
        wait = max(min(deadlines) - time.monotonic(), 0.0) if deadlines else 1.0
        for key, _ in selector.select(timeout=min(wait, 1.0)):
            worker = key.data
            lines = worker.read_lines()
            if lines is None:
                job = worker.job
                stderr = worker.new_stderr()
                code = replace(worker)
                if job is None and not worker.ready:
                    raise RuntimeError(f"fuzz worker failed to start ({_signal_name(code)}): "
                                       f"{stderr[-2000:]}")
                if job is not None:
                    on_result(job, {"outcome": "child crash", "signal": _signal_name(code),
                                    "stderr": stderr[-2000:]})
                continue
            for line in lines:
                if line == "ready":
                    worker.ready = True
                    continue
                job, worker.job = worker.job, None
                result = json.loads(line)
                leak = worker.new_stderr()
                if leak:
                    result["stderr"] = leak[:500]
                on_result(job, result)
        now = time.monotonic()
        for worker in list(pool):
            if worker.job and now - worker.started > timeout:
                job = worker.job
                replace(worker)
                on_result(job, {"outcome": "timeout", "seconds": round(now - worker.started, 1)})
            elif not worker.ready and now - worker.spawned > max(timeout, 60.0):
                raise RuntimeError(f"fuzz worker did not start within {max(timeout, 60.0):g} s")
    for worker in list(pool):
        selector.unregister(worker.process.stdout)
        worker.kill()
    selector.close()


def fuzz(seed: int = 0, count: int = 200, keep: str | None = None, timeout: float = 10.0,
         workers: int = 2, memory_mb: int = 4096, json_out: str | None = None,
         progress=None) -> dict:
    """Fuzzes `count` mutants of run `seed`; returns the summary (also written to `json_out`).

    Args:
        seed: run seed; mutant i of a run is reproducible from (seed, i) alone.
        count: number of mutants.
        keep: folder for mutants that crashed a worker, timed out or raised another exception
            (files plus kept.jsonl), or None.
        timeout: seconds one mutant may take in a worker before the worker is killed.
        workers: worker processes.
        memory_mb: address-space limit of each worker (MiB; 0 = none), so a huge allocation
            surfaces as MemoryError instead of swapping the machine.
        json_out: path of the JSON summary, or None.
        progress: callable(done, count) or None.

    Returns:
        {"seed", "count", "seconds", "counts": {outcome: n}, "stderr_leaks",
        "error_types": {class: n}, "findings": [...]} where findings lists every mutant of a
        kept outcome with its recipe and error.
    """
    seeds = make_seeds()
    counts = Counter({outcome: 0 for outcome in OUTCOMES})
    error_types = Counter()
    findings, leaks, slowest = [], [], []
    started = time.monotonic()
    if keep:
        os.makedirs(keep, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fuzz_raw.") as directory:
        def jobs():
            for index in range(count):
                data, recipe = make_mutant(seeds, seed, index)
                file = os.path.join(directory, f"mutant{index:06d}.dng")
                with open(file, "wb") as handle:
                    handle.write(data)
                yield {"index": index, "file": file, **recipe}

        def on_result(job, result):
            outcome = result["outcome"]
            counts[outcome] += 1
            if outcome == "clean error":
                error_types[result["type"].rsplit(".", 1)[-1]] += 1
            record = {"index": job["index"], "seed_file": job["seed_file"],
                      "mutations": job["mutations"], **result}
            if outcome in ("decoded", "clean error"):
                slowest.append((result["seconds"], job["index"]))
                slowest.sort(reverse=True)
                del slowest[5:]
            if result.get("stderr") and outcome not in ("child crash",):
                leaks.append(record)
            if outcome in KEPT_OUTCOMES:
                if keep:
                    name = f"{outcome.replace(' ', '-')}-{seed}-{job['index']:06d}.dng"
                    shutil.copyfile(job["file"], os.path.join(keep, name))
                    record["kept"] = os.path.join(keep, name)
                    with open(os.path.join(keep, "kept.jsonl"), "a") as listing:
                        listing.write(json.dumps({"file": name, "fuzz_seed": seed, **record})
                                      + "\n")
                findings.append(record)
            os.unlink(job["file"])
            if progress:
                progress(sum(counts.values()), count)

        # Mutants are written lazily, a few ahead of the workers, so the folder stays small.
        run_pool(_Lazy(jobs()), workers, timeout, worker_command(memory_mb), directory, on_result)
    summary = {
        "seed": seed,
        "count": count,
        "timeout_s": timeout,
        "workers": workers,
        "seconds": round(time.monotonic() - started, 2),
        "counts": {outcome: counts[outcome] for outcome in OUTCOMES},
        "stderr_leaks": len(leaks),
        "slowest": [{"index": index, "seconds": seconds} for seconds, index in slowest],
        "error_types": dict(error_types.most_common()),
        "findings": findings,
        "stderr_leak_examples": leaks[:10],
    }
    if json_out:
        from lsid_keras.atomic import write_json_atomic

        write_json_atomic(json_out, summary)
    return summary


class _Lazy:
    """A deque-like view of a generator: popleft() pulls the next job, truth = more to come."""

    def __init__(self, iterator):
        self.iterator = iterator
        self.head = deque()

    def _fill(self) -> bool:
        if not self.head:
            item = next(self.iterator, None)
            if item is not None:
                self.head.append(item)
        return bool(self.head)

    def __bool__(self):
        return self._fill()

    def popleft(self):
        self._fill()
        return self.head.popleft()


def format_table(summary: dict) -> str:
    total = max(summary["count"], 1)
    lines = [f"{'outcome':<18}{'mutants':>9}{'share':>9}"]
    for outcome, n in summary["counts"].items():
        lines.append(f"{outcome:<18}{n:>9}{100 * n / total:>8.1f}%")
    lines.append(f"{'stderr leaks':<18}{summary['stderr_leaks']:>9}")
    if summary["slowest"]:
        lines.append(f"slowest mutant: #{summary['slowest'][0]['index']}, "
                     f"{summary['slowest'][0]['seconds']:.2f} s")
    lines.append(
        f"{summary['count']} mutants (seed {summary['seed']}) in {summary['seconds']:.1f} s, "
        f"{summary['workers']} workers, limit {summary['timeout_s']:g} s per mutant"
    )
    if summary["error_types"]:
        lines.append("clean errors: " + ", ".join(f"{k} {v}" for k, v in
                                                  summary["error_types"].items()))
    for finding in summary["findings"][:20]:
        what = finding.get("type") or finding.get("signal") or ""
        lines.append(f"  #{finding['index']} {finding['outcome']}: {what} "
                     f"{finding.get('message', '')[:100]} [{finding.get('where', '')}]")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    parser.add_argument("--count", type=int, default=200, help="mutants (default 200)")
    parser.add_argument("--keep", help="folder for crashing / hanging / other-exception mutants")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds per mutant before its worker is killed (default 10)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--memory-mb", type=int, default=4096,
                        help="address-space limit per worker in MiB, 0 for none (default 4096)")
    parser.add_argument("--json", dest="json_out", help="write the summary as JSON here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(args.memory_mb)
        return 0
    if args.count < 1 or args.workers < 1 or not args.timeout > 0:
        parser.error("--count and --workers must be >= 1 and --timeout > 0")
    summary = fuzz(args.seed, args.count, args.keep, args.timeout, args.workers, args.memory_mb,
                   args.json_out)
    print(format_table(summary))
    bad = summary["counts"]["other exception"] + summary["counts"]["timeout"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
