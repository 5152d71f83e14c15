"""A synthetic low-light dataset laid out exactly like SID, made from sRGB photos and
dead-leaves images.

Each scene: an sRGB photo is cropped (and enlarged if smaller than `size`) and randomly flipped,
or a seeded dead-leaves image is drawn (`lsid_keras.data.dead_leaves`); it is then unprocessed
to a clean linear RAW mosaic (`lsid_keras.raw.unprocess`, Brooks et al. 2019), written as the
10 s long exposure, and, for each amplification ratio, turned into a noisy short exposure of
10 / ratio seconds with the physics noise model (`lsid_keras.raw.noise`, ELD/LED).
Labels are therefore made the way real SID labels are: by developing the long-exposure RAW.

The camera is one real camera (`lsid_keras.raw.cameras`): "sony" is the SID alpha 7S II, with
its colour matrix in every DNG (so rawpy develops labels as it would that camera's files), its
black and white levels, white balance of real illuminants and ELD's noise calibration; "fuji"
the X-T2, "nikon" a D850; "brooks" keeps Brooks et al.'s random camera per scene.

Layout (Sony; other cameras are the same under their folder, e.g. `Fuji/`, `Fuji_*_list.txt`):

    OUT/Sony/long/00001_00_10s.dng
    OUT/Sony/short/00001_00_0.1s.dng      ratio 100
    OUT/Sony/short/00001_00_0.04s.dng     ratio 250
    OUT/Sony/short/00001_00_0.033s.dng    ratio min(10 / 0.033, 300) = 300

Each exposure time's first frame is burst `_00`, as in SID, so `--first-burst-only` (SID's
`_00` protocol) keeps every ratio.
    OUT/Sony_train_list.txt  Sony_test_list.txt  Sony_val_list.txt
    OUT/synth.json                        parameters and per-scene draws

List lines read `./Sony/short/00001_00_0.1s.dng ./Sony/long/00001_00_10s.dng ISO200 F9`, so
`lsid_keras.data.sid_list.read_pair_list` reads them like SID's. Scene ids carry SID's set digit:
0xxxx train, 1xxxx test, 2xxxx val.

Honest splits: the photos are divided between train, test and val (`assign_photos`, by file
name, not by seed); a scene only uses photos of its own split, so test and val scenes show
photos (and scenes) no training scene saw. `synth.json` records the division ("photo_splits")
and what each scene shows.

Determinism: scene k draws everything (photo, crop, flips, camera, noise) from seeds derived from
`seed` and k only, and its split comes from a fixed interleaving of the split fractions, so
scene k is the same file with the same name whatever `scenes` is. Re-running into the same folder
skips files that exist (DNGs are written atomically, so an existing file is complete) and
refuses to mix datasets made with other parameters.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
import warnings
from dataclasses import dataclass

import numpy as np

from lsid_keras.atomic import write_text_atomic
from lsid_keras.data.dead_leaves import dead_leaves
from lsid_keras.data.sid_list import amplification_ratio, parse_exposure_name
from lsid_keras.raw.cameras import CAMERA_CHOICES, CameraSpec, camera_spec
from lsid_keras.raw.dng import write_dng
from lsid_keras.raw.errors import UnsupportedCFAError
from lsid_keras.raw.noise import (
    NOISE_FAMILIES,
    NoiseParams,
    SensorDraw,
    sample_sensor_noise,
    simulate_short_exposure,
)
from lsid_keras.raw.pack import BAYER, XTRANS, cfa_kind_of, cfa_name
from lsid_keras.raw.unprocess import UnprocessParams, unprocess

#: Long exposure time of every synthetic scene, seconds (SID's Sony long exposures are 10 s).
LONG_EXPOSURE = 10.0
SPLITS = ("train", "test", "val")
_SET_DIGIT = {"train": 0, "test": 1, "val": 2}
_MAX_SCENES = 9999
_MAX_BURST = 100
_LIST_TAIL = "ISO200 F9"
_EXTENSION = ".dng"
_JSON_NAME = "synth.json"
_FORMAT_VERSION = 2
#: Read-noise models of `synthesize_dataset(read_noise=...)`: (name, one-line description).
READ_NOISE_CHOICES = (
    ("gaussian", "Gaussian read noise (ELD's G model)"),
    ("tukey", "ELD's Tukey-lambda read noise (heavier tails, as measured on the sensor)"),
)
__all__ = [
    "CAMERA_CHOICES",
    "CONTENT_CHOICES",
    "NOISE_FAMILIES",
    "READ_NOISE_CHOICES",
    "assign_photos",
    "split_summary",
    "synthesize_dataset",
]
#: File extensions read from an `images` folder (case-insensitive).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
#: Colour photos shipped in scikit-image's `skimage/data` folder, the default sources.
DEFAULT_PHOTOS = (
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "color.png",
    "hubble_deep_field.jpg",
    "ihc.png",
    "motorcycle_left.png",
    "motorcycle_right.png",
    "retina.jpg",
    "rocket.jpg",
)
#: Default photos held out first (test, then val): natural scenes, as SID's test scenes are.
DEFAULT_HELD_OUT = ("coffee.png", "rocket.jpg", "chelsea.png", "astronaut.png")
# Photo names that differ only by these suffixes show one scene (a stereo pair).
_SAME_SCENE_SUFFIXES = ("_left", "_right")
#: Scene content of `synthesize_dataset(content=...)`: (name, one-line description).
CONTENT_CHOICES = (
    ("mixed", "training scenes alternate photos and dead-leaves images; test and val scenes "
     "are held-out photos no training scene used"),
    ("photos", "photos only; test and val photos are never used by a training scene"),
    ("dead_leaves", "seeded dead-leaves images only (natural-image statistics, no photos)"),
)
_CONTENTS = tuple(name for name, _ in CONTENT_CHOICES)
# SeedSequence spawn keys: scenes use (_SCENE_KEY, k), the photo order within split i
# (_ORDER_KEY, i), dead-leaves images (_LEAVES_KEY, k), a scene's sensor from its noise family
# (_SENSOR_KEY, k) and its drawn ratios (_RATIO_KEY, k); keys added later leave the draws of
# the earlier ones as they were.
_SCENE_KEY, _ORDER_KEY, _LEAVES_KEY, _SENSOR_KEY, _RATIO_KEY, _BASE_ISO_KEY = 0, 1, 2, 3, 4, 5
_BAYER_ORDERS = ("RGGB", "GRBG", "GBRG", "BGGR")


@dataclass(frozen=True)
class _Frame:
    size_multiple: int  # RAW pixels; packed sides become multiples of 16
    default_size: tuple[int, int]


_FRAMES = {BAYER: _Frame(32, (512, 768)), XTRANS: _Frame(96, (576, 768))}


# --- argument checks ------------------------------------------------------------------------


def _cfa(cfa, camera: CameraSpec) -> np.ndarray:
    """The CFA pattern (0 R, 1 G, 2 B) at the mosaic origin, checked against the camera."""
    if cfa is None:
        cfa = camera.default_cfa
    if isinstance(cfa, str):
        letters = "".join(cfa.split()).replace("/", "").upper()
        side = {4: 2, 36: 6}.get(len(letters))
        if side is None or set(letters) - set("RGB"):
            raise ValueError(
                f"cfa must be a Bayer order ({', '.join(_BAYER_ORDERS)}) for a Bayer camera or "
                f"the 36 letters of an X-Trans pattern for Fuji. Received: cfa={cfa!r}"
            )
        array = np.array(["RGB".index(c) for c in letters]).reshape(side, side)
    else:
        array = np.asarray(cfa)
        if array.ndim != 2 or array.size == 0 or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(
                f"cfa must be letters or a 2-D integer array of 0 (R), 1 (G), 2 (B). "
                f"Received: cfa={cfa!r}"
            )
    try:
        kind = cfa_kind_of(array)
    except UnsupportedCFAError as error:
        raise ValueError(f"cfa {cfa!r}: {error.reason}") from None
    if kind != camera.cfa_kind:
        expected = (
            f"a Bayer order ({', '.join(_BAYER_ORDERS)})"
            if camera.cfa_kind == BAYER
            else f"an X-Trans pattern (default {camera.default_cfa})"
        )
        raise ValueError(
            f"camera {camera.name!r} needs {expected}; cfa {cfa_name(array)} is {kind}. "
            f"Received: cfa={cfa!r}"
        )
    return array.astype(np.int64)


def _size(size, camera: CameraSpec) -> tuple[int, int]:
    frame = _FRAMES[camera.cfa_kind]
    m = frame.size_multiple
    if size is None:
        return frame.default_size
    try:
        height, width = (_as_int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(
            f"size must be (height, width) in RAW pixels. Received: size={size!r}"
        ) from None
    if not all(m <= v <= 65535 and v % m == 0 for v in (height, width)):
        raise ValueError(
            f"size must be two multiples of {m} RAW pixels, at least {m}, for camera "
            f"{camera.name!r} (packed inputs must be multiples of 16). Received: size={size!r}"
        )
    return height, width


def _as_int(value) -> int:
    """int(value) for integers (numpy ones included); TypeError for floats, bools and others."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(value)
    return int(value)


def _ratios(ratios) -> tuple[float, ...]:
    try:
        values = tuple(float(r) for r in ratios)
    except (TypeError, ValueError):
        raise ValueError(f"ratios must be numbers. Received: ratios={ratios!r}") from None
    if not 1 <= len(values) <= _MAX_BURST or not all(
        math.isfinite(r) and 1 < r <= 300 for r in values
    ):
        raise ValueError(
            f"ratios must be 1 to {_MAX_BURST} numbers in (1, 300] (SID caps the amplification "
            f"at 300). Received: ratios={ratios!r}"
        )
    return values


def _ratio_range(ratio_range, random_ratios) -> tuple[tuple[float, float] | None, int]:
    if isinstance(random_ratios, bool) or not isinstance(random_ratios, (int, np.integer)) or (
        not 0 <= random_ratios <= _MAX_BURST
    ):
        raise ValueError(f"random_ratios must be an integer in [0, {_MAX_BURST}]. "
                         f"Received: random_ratios={random_ratios!r}")
    if not random_ratios:
        return None, 0
    try:
        low, high = (float(v) for v in ratio_range)
    except (TypeError, ValueError):
        raise ValueError(f"ratio_range must be (low, high). Received: {ratio_range!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and 1 <= low <= high <= 300):
        raise ValueError(f"ratio_range must satisfy 1 <= low <= high <= 300. Received: "
                         f"ratio_range={ratio_range!r}")
    return (low, high), int(random_ratios)


def _base_iso_share(share, random_ratios) -> float:
    valid = not isinstance(share, bool) and isinstance(share, (int, float, np.integer,
                                                               np.floating))
    if not valid or not 0.0 <= float(share) <= 1.0:
        raise ValueError(f"base_iso_share must be a number in [0, 1]. Received: "
                         f"base_iso_share={share!r}")
    share = float(share)
    if share and not random_ratios:
        raise ValueError("base_iso_share applies to the random_ratios exposures; set "
                         "random_ratios too")
    return share


def _noise_family(noise_family, read_noise) -> str:
    names = [name for name, _ in NOISE_FAMILIES]
    if noise_family not in names:
        raise ValueError(f"noise_family must be one of {names}. Received: {noise_family!r}")
    if noise_family != "camera" and read_noise != "gaussian":
        raise ValueError(f"noise_family={noise_family!r} draws the read-noise model itself; "
                         f"read_noise={read_noise!r} applies to noise_family='camera' only")
    return noise_family


def _read_noise(read_noise, spec: CameraSpec) -> str:
    names = [name for name, _ in READ_NOISE_CHOICES]
    if read_noise not in names:
        raise ValueError(f"read_noise must be one of {names}. Received: read_noise={read_noise!r}")
    if read_noise == "tukey" and not spec.noise.has_tukey:
        raise ValueError(
            f"camera {spec.name!r} ({spec.noise.name}) has no Tukey-lambda read-noise fit; "
            "use read_noise='gaussian'"
        )
    return read_noise


def _exposure_label(seconds: float, ratio: float) -> str:
    """Shortest decimal (at least 2 significant digits, as SID's 0.033) whose name-derived
    ratio `min(10 / t, 300)` equals `ratio` to 0.1 %."""
    for digits in range(2, 8):
        label = f"{seconds:.{digits}g}"
        short = parse_exposure_name(f"00000_00_{label}s{_EXTENSION}").exposure
        if abs(amplification_ratio(short, LONG_EXPOSURE) - ratio) <= 1e-3 * ratio:
            return label
    raise ValueError(f"no short-exposure name recovers ratio {ratio}")  # unreachable for <= 300


def _splits(splits) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in splits)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 3 or not all(math.isfinite(v) and v >= 0 for v in values) or not any(values):
        raise ValueError(
            "splits must be three non-negative fractions (train, test, val) with a positive "
            f"sum. Received: splits={splits!r}"
        )
    total = sum(values)
    return tuple(v / total for v in values)


def _split_schedule(fractions, count: int) -> list[tuple[str, int]]:
    """(split, 1-based number within the split) of scenes 0..count-1.

    Scene k goes to the split furthest behind its share after k + 1 scenes (ties: the smaller
    split, then train/test/val order), so the assignment of scene k never depends on `count`.
    """
    counts = [0, 0, 0]
    schedule = []
    for k in range(count):
        deficits = [round(f * (k + 1) - c, 9) for f, c in zip(fractions, counts, strict=True)]
        best = max(range(3), key=lambda i: (deficits[i], -fractions[i], -i))
        counts[best] += 1
        schedule.append((SPLITS[best], counts[best]))
    return schedule


# --- source photos -------------------------------------------------------------------------


def _default_photo_folder() -> str:
    import skimage

    return os.path.join(os.path.dirname(skimage.__file__), "data")


def _readable(path: str) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.size[0] > 0 and image.size[1] > 0
    except (OSError, ValueError, Image.DecompressionBombError):
        return False


def _photo_paths(images) -> list[str]:
    """Readable photos, sorted by file name; unreadable candidates are skipped with a warning."""
    if images is None:
        folder = _default_photo_folder()
        candidates = [os.path.join(folder, name) for name in DEFAULT_PHOTOS]
        candidates = [path for path in candidates if os.path.isfile(path)]
        if not candidates:
            raise FileNotFoundError(
                f"{folder}: none of scikit-image's sample photos ({', '.join(DEFAULT_PHOTOS)}) "
                "found; pass images=<folder of photos>"
            )
    else:
        folder = os.fspath(images)
        if not os.path.exists(folder):
            raise FileNotFoundError(f"{folder}: images folder not found")
        if not os.path.isdir(folder):
            raise ValueError(f"{folder}: images must be a folder of photos, not a file")
        candidates = sorted(
            os.path.join(folder, name)
            for name in os.listdir(folder)
            if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")
        )
    paths = [path for path in candidates if _readable(path)]
    skipped = sorted(set(candidates) - set(paths))
    if skipped:
        warnings.warn(
            f"skipping unreadable images: {', '.join(skipped)}", RuntimeWarning, stacklevel=3
        )
    if not paths:
        raise ValueError(
            f"{folder}: no readable images ({', '.join(IMAGE_EXTENSIONS)}; RGB, greyscale or RGBA)"
        )
    return sorted(paths, key=os.path.basename)


def _load_photo(path: str) -> np.ndarray:
    """(H, W, 3) float32 sRGB in [0, 1]; greyscale is repeated, alpha dropped, EXIF rotation
    applied, 16-bit greyscale kept at full precision."""
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            if image.mode.startswith("I;16") or image.mode == "I":
                array = np.asarray(image, dtype=np.float32) / 65535.0
            elif image.mode == "F":
                array = np.asarray(image, dtype=np.float32)
            else:
                array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise ValueError(f"{path}: cannot read image ({error})") from error
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=-1)
    return np.clip(np.nan_to_num(array), 0.0, 1.0)


def _scene_group(path: str) -> str:
    """Photos of one scene share a group: a stereo pair such as motorcycle_left / _right."""
    stem = os.path.splitext(os.path.basename(path))[0].lower()
    for suffix in _SAME_SCENE_SUFFIXES:
        if stem.endswith(suffix) and len(stem) > len(suffix):
            return stem[: -len(suffix)]
    return stem


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def assign_photos(photos, splits, content: str = "mixed", held_out_first=()) -> dict[str, list]:
    """Which photos each split may use: disjoint sets, so no test or val scene shows a photo (or
    a photo of the same scene) that a training scene saw.

    Photos of one scene (names differing only by `_left` / `_right`, a stereo pair) form one
    group and go to one split. Groups are ordered by `held_out_first`, then by a hash of their
    name (not by the seed, so datasets made with different seeds from the same photos agree);
    test takes groups until it holds `max(1, round(f_test * n))` photos, then val
    `max(1, round(f_val * n))` (none for a zero fraction), and train the rest.

    Args:
        photos: photo paths.
        splits: (train, test, val) fractions, normalised.
        content: "mixed", "photos" or "dead_leaves" (no photos at all).
        held_out_first: file names to hold out first, in this order (the default photos put
            natural scenes here, so test scenes are photos like SID's, not charts or
            micrographs).

    Returns:
        {"train": [...], "test": [...], "val": [...]} paths, each list in file-name order.

    Raises:
        ValueError: too few photos to give every split with a positive fraction its own (train
            may go without in "mixed" content: it then uses dead-leaves images only).
    """
    if content == "dead_leaves":
        return {split: [] for split in SPLITS}
    groups: dict[str, list] = {}
    for path in sorted(photos, key=os.path.basename):
        groups.setdefault(_scene_group(path), []).append(path)
    preference = {name: i for i, name in enumerate(held_out_first)}

    def rank(key):
        first = min(preference.get(os.path.basename(p), len(preference)) for p in groups[key])
        return (first, _hash(key))

    ordered = sorted(groups, key=rank)
    n = len(photos)
    wanted = {
        split: 0 if fraction == 0 else max(1, round(fraction * n))
        for split, fraction in zip(SPLITS[1:], splits[1:], strict=True)
    }
    assigned = {split: [] for split in SPLITS}
    for key in ordered:
        split = next(
            (s for s in ("test", "val") if len(assigned[s]) < wanted[s]), "train"
        )
        assigned[split].extend(groups[key])
    needed_train = 1 if content == "photos" and splits[0] > 0 else 0
    if any(len(assigned[s]) < min(wanted[s], 1) for s in ("test", "val")) or (
        len(assigned["train"]) < needed_train
    ):
        raise ValueError(
            f"{n} photo(s) in {len(groups)} scene(s) cannot keep the splits apart: test needs "
            f"{wanted['test']}, val {wanted['val']} and train at least {needed_train} photos of "
            "their own; add photos, give test or val a zero fraction, or use content='mixed' "
            "or 'dead_leaves'"
        )
    return {split: sorted(assigned[split], key=os.path.basename) for split in SPLITS}


def _content(content) -> str:
    if content not in _CONTENTS:
        raise ValueError(f"content must be one of {_CONTENTS}. Received: content={content!r}")
    return content


def _crop(photo: np.ndarray, size, origin, flip_vertical: bool, flip_horizontal: bool):
    """A `size` crop of `photo` at fractional `origin`, turned a quarter if that needs less
    enlarging, and enlarged first if the photo is still smaller."""
    height, width = size
    rows, cols = photo.shape[:2]
    scale = max(height / rows, width / cols)
    if scale > 1 and max(height / cols, width / rows) < scale:
        # A portrait photo in a landscape frame (or the reverse) is turned rather than enlarged
        # more than it must be: enlarging blurs the detail the network should learn to keep.
        photo = np.rot90(photo)
        rows, cols = cols, rows
        scale = max(height / rows, width / cols)
    if scale > 1:
        from skimage.transform import resize

        shape = (max(height, round(rows * scale)), max(width, round(cols * scale)), 3)
        photo = np.clip(resize(photo, shape, order=1, mode="edge", anti_aliasing=False), 0, 1)
        rows, cols = photo.shape[:2]
    top = min(int(origin[0] * (rows - height + 1)), rows - height)
    left = min(int(origin[1] * (cols - width + 1)), cols - width)
    crop = photo[top : top + height, left : left + width]
    if flip_vertical:
        crop = crop[::-1]
    if flip_horizontal:
        crop = crop[:, ::-1]
    return np.ascontiguousarray(crop)


# --- scenes --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Scene:
    index: int
    scene_id: int
    split: str
    photo: str | None  # None: a dead-leaves image
    leaves_seed: np.random.SeedSequence
    crop_origin: tuple[float, float]
    flip_vertical: bool
    flip_horizontal: bool
    camera: UnprocessParams
    sensor: SensorDraw
    ratios: tuple[float, ...]  # the dataset's ratios, then the scene's drawn ones
    noise: tuple[NoiseParams, ...]
    noise_rngs: tuple[np.random.Generator, ...]  # positioned after the noise parameter draws


def _scene_photo(split: str, number: int, content: str, photo_splits, orders) -> str | None:
    """The photo of the `number`-th (1-based) scene of `split`, or None for dead leaves.

    Only photos of the scene's own split are used. In "mixed" content, training scenes alternate
    photo (odd numbers) and dead leaves (even numbers).
    """
    photos = photo_splits[split]
    if content == "dead_leaves" or not photos:
        return None
    index = number - 1
    if content == "mixed" and split == "train":
        if number % 2 == 0:
            return None
        index //= 2
    return photos[orders[split][index % len(photos)]]


def _drawn_ratios(seed, k, ratio_range, count) -> tuple[float, ...]:
    """Scene k's `count` ratios, log-uniform in `ratio_range`, each rounded to what its
    short-exposure name recovers (`_exposure_label`)."""
    if not count:
        return ()
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_RATIO_KEY, k)))
    low, high = (math.log(v) for v in ratio_range)
    ratios = []
    for value in np.exp(rng.uniform(low, high, size=count)):
        label = _exposure_label(LONG_EXPOSURE / value, value)
        ratios.append(amplification_ratio(float(label), LONG_EXPOSURE))
    return tuple(ratios)


def _base_iso_draws(seed, k, count, share) -> tuple[bool, ...]:
    """Which of scene k's `count` drawn exposures are shot at base ISO (probability `share`);
    no draw at all when `share` is 0, so datasets made without the option stay bit for bit."""
    if not count or not share:
        return (False,) * count
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_BASE_ISO_KEY, k)))
    return tuple(bool(v) for v in rng.random(count) < share)


def _plan_scene(
    k, seed, photo_splits, orders, schedule, ratios, spec, read_noise, content,
    noise_family="camera", ratio_range=None, random_ratios=0, base_iso_share=0.0,
) -> _Scene:
    """Every random draw of scene k, from seeds that depend on (seed, k) only.

    Training scenes add `random_ratios` ratios drawn from `ratio_range` to `ratios`, each shot
    at base ISO with probability `base_iso_share`; test and val scenes keep `ratios`, so their
    per-ratio figures compare across datasets.
    """
    split, number = schedule[k]
    base_iso = (False,) * len(ratios)
    if split == "train":
        drawn = _drawn_ratios(seed, k, ratio_range, random_ratios)
        base_iso += _base_iso_draws(seed, k, len(drawn), base_iso_share)
        ratios = tuple(ratios) + drawn
    content_seed, *noise_seeds = np.random.SeedSequence(seed, spawn_key=(_SCENE_KEY, k)).spawn(
        1 + len(ratios)
    )
    rng = np.random.default_rng(content_seed)
    origin = tuple(float(v) for v in rng.random(2))
    flip_vertical, flip_horizontal = (bool(v) for v in rng.random(2) < 0.5)
    camera = spec.sample_unprocess_params(rng)
    sensor = sample_sensor_noise(
        np.random.SeedSequence(seed, spawn_key=(_SENSOR_KEY, k)), noise_family, spec.noise,
        read_noise,
    )
    noise_rngs = tuple(np.random.default_rng(s) for s in noise_seeds)
    noise = tuple(
        sensor.exposure_params(r, base_iso=b) for r, b in zip(noise_rngs, base_iso, strict=True)
    )
    return _Scene(
        index=k,
        scene_id=_SET_DIGIT[split] * 10000 + number,
        split=split,
        photo=_scene_photo(split, number, content, photo_splits, orders),
        leaves_seed=np.random.SeedSequence(seed, spawn_key=(_LEAVES_KEY, k)),
        crop_origin=origin,
        flip_vertical=flip_vertical,
        flip_horizontal=flip_horizontal,
        camera=camera,
        sensor=sensor,
        ratios=tuple(ratios),
        noise=noise,
        noise_rngs=noise_rngs,
    )


def _read_record(path: str) -> dict:
    if not os.path.exists(path):
        return {"generator": __name__, "format_version": _FORMAT_VERSION, "datasets": {}}
    try:
        with open(path, encoding="utf-8") as file:
            record = json.load(file)
        if not isinstance(record.get("datasets"), dict):
            raise ValueError("no 'datasets' entry")
    except (OSError, ValueError, AttributeError) as error:
        raise ValueError(
            f"{path}: not a synthetic-dataset record ({error}); use another out_dir"
        ) from None
    return record


def synthesize_dataset(
    out_dir,
    images=None,
    camera: str = "sony",
    cfa=None,
    scenes: int = 12,
    seed: int = 0,
    size=None,
    ratios=(100, 250, 300),
    splits=(0.7, 0.2, 0.1),
    progress: bool = True,
    read_noise: str = "gaussian",
    content: str = "mixed",
    noise_family: str = "camera",
    ratio_range=(1, 300),
    random_ratios: int = 0,
    base_iso_share: float = 0.0,
) -> dict:
    """Write a synthetic SID-style dataset of clean 10 s long and noisy short exposures (DNG).

    Args:
        out_dir: dataset root (created); gets `<Folder>/short`, `<Folder>/long`, the three list
            files and `synth.json`. Datasets of different cameras may share one root.
        images: folder of sRGB photos (.png, .jpg, .jpeg, .tif; RGB, greyscale or RGBA), read
            in file-name order; default: the colour photos in scikit-image's `skimage/data`.
            The photos are split between train, test and val (`assign_photos`): a test or val
            scene never shows a photo a training scene used. `synth.json` lists which photos
            went where ("photo_splits").
        camera: a camera of `lsid_keras.raw.cameras.CAMERA_SPECS` (`CAMERA_CHOICES`): "sony"
            (the SID alpha 7S II, Bayer, black 512, white 16383 DN, folder Sony/), "fuji" (the
            SID X-T2, X-Trans, black 1024, white 16383, Fuji/), "nikon" (D850, Bayer, black
            400, white 16383, Nikon/) or "brooks" (Brooks et al.'s random camera, Bayer, black
            512, white 16383, Brooks/). Real cameras use their own colour matrix (written into
            every DNG) and white-balance gains of illuminants from 2800 K to 7000 K.
        cfa: Bayer cameras: a Bayer order "RGGB" (default), "GRBG", "GBRG" or "BGGR"; Fuji: a
            6x6 X-Trans pattern, 36 letters or an integer array (0 R, 1 G, 2 B), default the
            X-T2 phase `XTRANS_PATTERN`. Either may also be given as a 2x2 / 6x6 integer array.
        scenes: number of scenes (1 to 9999); each gives one long and len(ratios) short files.
        seed: non-negative integer; scene k depends only on (seed, k).
        size: (height, width) of every frame in RAW pixels, multiples of 32 (Bayer) or 96
            (X-Trans) so packed inputs are multiples of 16; default (512, 768) for Bayer,
            (576, 768) for X-Trans. Smaller photos are enlarged to cover it. With a Bayer
            order other than RGGB (or another X-Trans phase) `pack` drops the leading
            row/column, so packed frames are one cell smaller.
        ratios: amplification ratios in (1, 300]; ratio r gives a short exposure of 10 / r s,
            named so that `min(10 / short, 300)` recovers r (100 -> 0.1 s, 250 -> 0.04 s,
            300 -> 0.033 s). The noise is simulated with the named exposures' ratio (10 / 0.033
            = 303 for 300, as in real SID files). As in SID, the burst index counts exposures
            of the same time: each exposure time's first frame is `_00`
            (`00001_00_0.1s.dng`, `00001_00_0.04s.dng`, ...), a repeated ratio gives `_01`.
        splits: fractions (train, test, val), normalised to sum 1; scene k's split depends on
            k and these fractions only.
        progress: show a tqdm progress bar.
        read_noise: "gaussian" or "tukey" (ELD's Tukey-lambda read noise; cameras with
            a Tukey-lambda calibration only), see `READ_NOISE_CHOICES`.
        content: "mixed" (default: training scenes alternate the training photos and seeded
            dead-leaves images, `lsid_keras.data.dead_leaves`; test and val scenes are their
            own held-out photos), "photos" or "dead_leaves"; see `CONTENT_CHOICES`.
        noise_family: where each scene's sensor noise comes from (`NOISE_FAMILIES`):
            "camera" (default: the camera's own ELD calibration with `read_noise`, as SID's
            emulation), "wide" (per scene one of several calibrated cameras or a random
            heteroscedastic sensor, with column noise, fixed pattern, hot pixels, black-level
            error and 12-bit steps at random; the camera's colour stays) or "held_out" (ELD's
            Canon EOS 700D, which "wide" never draws: for cross-noise test sets).
        ratio_range: (low, high) in [1, 300], where `random_ratios` are drawn log-uniformly.
        random_ratios: short exposures each training scene adds to `ratios`, at ratios drawn
            from `ratio_range` (0: none). Ratio 1 is a clean, normally exposed input. Test and
            val scenes keep `ratios` only, so their per-ratio figures stay comparable.
        base_iso_share: in [0, 1]; each `random_ratios` exposure is shot at base ISO with this
            probability: its system gain drawn from 1/8 of the sensor's lowest calibrated gain
            up to it (`lsid_keras.raw.noise.base_iso_calibration`; ISO 100-800 for ELD's
            cameras), so the cleanest inputs are as clean as a daylight frame. Needs
            `random_ratios`. Default 0: every exposure from the calibrated range.

    Returns:
        dict with "out_dir", "camera" (folder name), "camera_name", "cfa", "scenes", "pairs"
        ({split: short files}), "lists" ({split: list path}), "files_written",
        "scenes_skipped" (already complete), "seconds", "content", "photo_splits" ({split:
        photo file names}) and "scene_sources" ({split: {"photos": n, "dead_leaves": n}});
        `split_summary(summary)` words the last three for a command line.

    Raises:
        FileNotFoundError: `images` does not exist (or no default photos found).
        ValueError: bad camera, cfa, size, ratios, splits, scenes or seed; no readable photo in
            `images`; a photo of an evaluation set (`lsid_keras.data.photo_sets`: Set5, Set14,
            Urban100, found by content) among them while training scenes are made; a photo
            that cannot be decoded; `out_dir` holds a dataset of this camera made with other
            parameters.
    """
    from lsid_keras.progress import progress_bar

    start = time.monotonic()
    spec = camera_spec(camera)
    read_noise = _read_noise(read_noise, spec)
    noise_family = _noise_family(noise_family, read_noise)
    ratio_range, random_ratios = _ratio_range(ratio_range, random_ratios)
    base_iso_share = _base_iso_share(base_iso_share, random_ratios)
    pattern = _cfa(cfa, spec)
    height, width = _size(size, spec)
    ratios = _ratios(ratios)
    fractions = _splits(splits)
    if (
        isinstance(scenes, bool)
        or not isinstance(scenes, (int, np.integer))
        or not (1 <= scenes <= _MAX_SCENES)
    ):
        raise ValueError(f"scenes must be an integer in [1, 9999]. Received: scenes={scenes!r}")
    scenes = int(scenes)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer. Received: seed={seed!r}")
    seed = int(seed)
    content = _content(content)
    photos = [] if content == "dead_leaves" else _photo_paths(images)
    if photos and fractions[0] > 0:
        from lsid_keras.data.photo_sets import reserved_for_evaluation

        reserved = reserved_for_evaluation(photos)
        if reserved:
            names = ", ".join(os.path.basename(p) for p in reserved[:5])
            raise ValueError(
                f"{os.path.dirname(os.path.abspath(reserved[0]))}: {len(reserved)} photo(s) "
                f"reserved for evaluation ({names}{', ...' if len(reserved) > 5 else ''}; "
                "Set5, Set14, Urban100) could reach training scenes; remove them, or make a "
                "test-only set with splits=(0, 1, 0)"
            )
    try:
        photo_splits = assign_photos(
            photos, fractions, content, DEFAULT_HELD_OUT if images is None else ()
        )
    except ValueError as error:
        raise ValueError(f"{os.path.dirname(os.path.abspath(photos[0]))}: {error}") from None

    labels = [_exposure_label(LONG_EXPOSURE / r, r) for r in ratios]
    short_exposures = [float(label) for label in labels]
    long_label = f"{LONG_EXPOSURE:g}"
    parameters = {
        "format_version": _FORMAT_VERSION,
        "camera": spec.name,
        "camera_spec": spec.as_dict(),
        "read_noise": read_noise,
        "cfa": cfa_name(pattern),
        "seed": seed,
        "size": [height, width],
        "ratios": list(ratios),
        "short_exposures": short_exposures,
        "long_exposure": LONG_EXPOSURE,
        "splits": list(fractions),
        "black_level": spec.black_level,
        "white_level": spec.white_level,
        "images": [os.path.basename(p) for p in photos],
        "content": content,
    }
    # Recorded only when used, so datasets made before these options compare equal on rerun.
    if noise_family != "camera":
        parameters["noise_family"] = noise_family
    if random_ratios:
        parameters["ratio_range"] = list(ratio_range)
        parameters["random_ratios"] = random_ratios
    if base_iso_share:
        parameters["base_iso_share"] = base_iso_share

    out_dir = os.fspath(out_dir)
    short_dir = os.path.join(out_dir, spec.folder, "short")
    long_dir = os.path.join(out_dir, spec.folder, "long")
    record_path = os.path.join(out_dir, _JSON_NAME)
    record = _read_record(record_path)
    previous = record["datasets"].get(spec.folder)
    if previous is not None and previous.get("parameters") != parameters:
        old = previous.get("parameters") or {}
        differing = sorted(
            k for k in parameters.keys() | old.keys() if old.get(k) != parameters.get(k)
        )
        detail = ", ".join(f"{k}: {old.get(k)!r} -> {parameters.get(k)!r}" for k in differing)
        raise ValueError(
            f"{out_dir}: holds a {spec.folder} synthetic dataset made with other parameters "
            f"({detail}); use another out_dir or delete {spec.folder}/ and {_JSON_NAME}"
        )
    os.makedirs(short_dir, exist_ok=True)
    os.makedirs(long_dir, exist_ok=True)
    entry = {
        "parameters": parameters,
        "images_dir": os.path.dirname(os.path.abspath(photos[0])) if photos else None,
        "photo_splits": {
            split: [os.path.basename(p) for p in paths] for split, paths in photo_splits.items()
        },
    }
    record["datasets"][spec.folder] = entry | {"complete": False}
    write_text_atomic(record_path, json.dumps(record, indent=1) + "\n")

    orders = {
        split: np.random.default_rng(
            np.random.SeedSequence(seed, spawn_key=(_ORDER_KEY, i))
        ).permutation(len(photo_splits[split]))
        for i, split in enumerate(SPLITS)
    }
    schedule = _split_schedule(fractions, scenes)
    span = spec.white_level - spec.black_level
    lines = {split: [] for split in SPLITS}
    scene_records = []
    written = skipped = 0
    for k in progress_bar(range(scenes), desc=f"synth {spec.folder}", unit="scene",
                          disable=not progress):
        scene = _plan_scene(
            k, seed, photo_splits, orders, schedule, ratios, spec, read_noise, content,
            noise_family, ratio_range, random_ratios, base_iso_share,
        )
        stem = f"{scene.scene_id:05d}"
        long_name = f"{stem}_00_{long_label}s{_EXTENSION}"
        long_path = os.path.join(long_dir, long_name)
        scene_labels = labels + [
            _exposure_label(LONG_EXPOSURE / r, r) for r in scene.ratios[len(ratios):]
        ]
        scene_exposures = [float(label) for label in scene_labels]
        bursts = [scene_labels[:j].count(label) for j, label in enumerate(scene_labels)]
        short_names = [
            f"{stem}_{burst:02d}_{label}s{_EXTENSION}"
            for burst, label in zip(bursts, scene_labels, strict=True)
        ]
        short_paths = [os.path.join(short_dir, name) for name in short_names]
        missing = [not os.path.exists(p) for p in [long_path, *short_paths]]
        if not any(missing):
            skipped += 1
        else:
            if scene.photo is None:
                srgb = dead_leaves(height, width, np.random.default_rng(scene.leaves_seed))
            else:
                srgb = _crop(
                    _load_photo(scene.photo),
                    (height, width),
                    scene.crop_origin,
                    scene.flip_vertical,
                    scene.flip_horizontal,
                )
            clean, _ = unprocess(srgb, pattern, params=scene.camera)
            clean_dn = clean.astype(np.float64) * span
            metadata = {
                "camera_wb": scene.camera.camera_wb,
                "color_matrix": scene.camera.xyz_to_camera,
                **spec.dng_identity,
            }
            if missing[0]:
                long_dn = np.rint(clean_dn) + spec.black_level
                write_dng(
                    long_path,
                    long_dn.astype(np.uint16),
                    pattern,
                    spec.black_level,
                    spec.white_level,
                    exposure_time=LONG_EXPOSURE,
                    **metadata,
                )
                written += 1
            for j, path in enumerate(short_paths):
                if not missing[1 + j]:
                    continue
                short_dn = simulate_short_exposure(
                    clean_dn,
                    LONG_EXPOSURE / scene_exposures[j],
                    spec.black_level,
                    spec.white_level,
                    scene.noise_rngs[j],
                    scene.noise[j],
                )
                write_dng(
                    path,
                    short_dn,
                    pattern,
                    spec.black_level,
                    spec.white_level,
                    exposure_time=scene_exposures[j],
                    **metadata,
                )
                written += 1

        relative_long = f"./{spec.folder}/long/{long_name}"
        shorts = []
        for j, name in enumerate(short_names):
            relative_short = f"./{spec.folder}/short/{name}"
            lines[scene.split].append(f"{relative_short} {relative_long} {_LIST_TAIL}")
            shorts.append(
                {
                    "path": relative_short,
                    "exposure": scene_exposures[j],
                    "ratio": scene.ratios[j],
                    "simulated_ratio": LONG_EXPOSURE / scene_exposures[j],
                    "noise": scene.noise[j].as_dict(),
                }
            )
        scene_records.append(
            {
                "index": k,
                "scene": stem,
                "split": scene.split,
                "content": "dead_leaves" if scene.photo is None else "photo",
                "image": None if scene.photo is None else os.path.basename(scene.photo),
                "crop_origin": list(scene.crop_origin),
                "flip_vertical": scene.flip_vertical,
                "flip_horizontal": scene.flip_horizontal,
                "camera": scene.camera.as_dict(),
                **({} if noise_family == "camera" else {"sensor": scene.sensor.as_dict()}),
                "long": relative_long,
                "short": shorts,
            }
        )

    list_paths = {}
    for split in SPLITS:
        list_paths[split] = os.path.join(out_dir, f"{spec.folder}_{split}_list.txt")
        text = "".join(line + "\n" for line in sorted(lines[split]))
        write_text_atomic(list_paths[split], text)
    pairs = {split: len(lines[split]) for split in SPLITS}
    sources = {
        split: {
            "photos": sum(r["split"] == split and r["image"] is not None for r in scene_records),
            "dead_leaves": sum(r["split"] == split and r["image"] is None for r in scene_records),
        }
        for split in SPLITS
    }
    record["datasets"][spec.folder] = entry | {
        "scene_sources": sources,
        "complete": True,
        "scenes": scene_records,
        "pairs": pairs,
    }
    write_text_atomic(record_path, json.dumps(record, indent=1) + "\n")
    return {
        "out_dir": out_dir,
        "camera": spec.folder,
        "camera_name": spec.name,
        "cfa": cfa_name(pattern),
        "scenes": scenes,
        "pairs": pairs,
        "lists": list_paths,
        "files_written": written,
        "scenes_skipped": skipped,
        "seconds": time.monotonic() - start,
        "content": content,
        "photo_splits": entry["photo_splits"],
        "scene_sources": sources,
    }


def split_summary(summary: dict) -> str:
    """One line on where each split's scenes come from, for the command line, e.g.
    "held-out photos: test 2 (coffee.png, rocket.jpg), val 1 (ihc.png); train: 7 photos +
    dead leaves; no test or val photo appears in training"."""
    photo_splits = summary["photo_splits"]
    sources = summary["scene_sources"]
    parts = []
    for split in ("train", "test", "val"):
        counts = sources.get(split, {})
        if not counts.get("photos") and not counts.get("dead_leaves"):
            continue
        kinds = []
        if counts.get("photos"):
            names = photo_splits[split]
            listed = ", ".join(names) if len(names) <= 4 else f"{', '.join(names[:4])}, ..."
            kinds.append(f"{len(names)} photos ({listed})")
        if counts.get("dead_leaves"):
            kinds.append(f"{counts['dead_leaves']} dead-leaves scenes")
        parts.append(f"{split}: {' + '.join(kinds)}")
    return "; ".join(parts) + "; no test or val photo is used by a training scene"
