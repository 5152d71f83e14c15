"""The SID dataset's list files, file names and amplification ratios (Chen et al.'s protocol)."""

import os
import re
from dataclasses import dataclass

from lsid_keras.errors import LsidError

#: Scenes whose short and long exposures are misaligned; later papers drop them from the test
#: set (93 -> 88 Sony `_00` pairs).
MISALIGNED_SCENES = frozenset({10034, 10045, 10172})
#: Chen et al. cap the amplification at x300.
MAX_RATIO = 300.0
#: `[set digit][4-digit scene]_[burst index]_[exposure]s`, e.g. `10003_00_0.04s`.
_NAME = re.compile(r"^(?P<scene>\d{5})_(?P<burst>\d{2})_(?P<exposure>\d+(?:\.\d+)?)s$")
_SETS = {"0": "train", "1": "test", "2": "val"}


class SidListError(LsidError, ValueError):
    """A list line or SID file name that does not parse, or names a missing file."""


@dataclass(frozen=True)
class ExposureName:
    """What a SID file name says.

    Attributes:
        scene: int, 5-digit scene id (first digit: 0 train, 1 test, 2 val).
        burst: int, index of the exposure within the scene's burst (0 = `_00`).
        exposure: float, exposure time in seconds (> 0).
    """

    scene: int
    burst: int
    exposure: float

    @property
    def subset(self):
        """"train", "test" or "val", from the scene's first digit."""
        return _SETS.get(f"{self.scene:05d}"[0], "unknown")


def parse_exposure_name(path):
    """Parses a SID file name such as `./Sony/short/10003_00_0.04s.ARW`.

    Raises:
        SidListError: the name does not follow the SID pattern or the exposure is zero.
    """
    stem = os.path.splitext(os.path.basename(str(path)))[0]
    match = _NAME.match(stem)
    if not match or float(match["exposure"]) <= 0:
        raise SidListError(
            f"{path}: not a SID file name (expected e.g. 10003_00_0.04s.ARW: "
            "5-digit scene, 2-digit burst index, exposure in seconds)"
        )
    return ExposureName(int(match["scene"]), int(match["burst"]), float(match["exposure"]))


def amplification_ratio(short_exposure, long_exposure, max_ratio=MAX_RATIO):
    """`min(long / short, max_ratio)`: the gain that brings the short exposure to the long one.

    Args:
        short_exposure, long_exposure: exposure times in seconds (> 0).
        max_ratio: cap (300 in the reference protocol).

    Returns:
        float >= 0, 100, 250 or 300 for the SID test pairs.
    """
    if short_exposure <= 0 or long_exposure <= 0:
        raise ValueError(
            f"exposures must be > 0 s. Received: short={short_exposure}, long={long_exposure}"
        )
    return min(long_exposure / short_exposure, max_ratio)


@dataclass(frozen=True)
class SidPair:
    """One training or test pair of the SID dataset.

    Attributes:
        short_path, long_path: absolute paths of the short- and long-exposure RAW files.
        scene, burst: from the short file's name.
        short_exposure, long_exposure: seconds.
        ratio: amplification ratio, `min(long / short, 300)`.
        iso, aperture: the list line's trailing fields as written (e.g. "ISO200", "F9"), or "".
    """

    short_path: str
    long_path: str
    scene: int
    burst: int
    short_exposure: float
    long_exposure: float
    ratio: float
    iso: str = ""
    aperture: str = ""


def read_pair_list(
    list_path,
    root=None,
    first_burst_only=False,
    drop_misaligned=False,
    check_files=True,
):
    """Reads a SID list file (`Sony_train_list.txt`, ...) into `SidPair`s.

    A line reads `./Sony/short/10003_00_0.04s.ARW ./Sony/long/10003_00_10s.ARW ISO200 F9`;
    paths are relative to `root` (default: the list file's folder). Blank lines are skipped.

    Args:
        list_path: path of the list file.
        root: dataset root the list's paths are relative to.
        first_burst_only: keep only the `_00` short exposures (the reference training and test
            protocol: 280 Sony training pairs, 93 Sony / 94 Fuji test pairs).
        drop_misaligned: drop `MISALIGNED_SCENES` (10034, 10045, 10172).
        check_files: raise if a listed file does not exist.

    Raises:
        FileNotFoundError: the list file does not exist.
        SidListError: a line does not parse, names a missing file, or pairs different scenes;
            the message names the list file and the line number.
    """
    list_path = os.fspath(list_path)
    root = os.path.dirname(os.path.abspath(list_path)) if root is None else os.fspath(root)
    if not os.path.isfile(list_path):
        raise FileNotFoundError(f"{list_path}: list file not found")
    pairs = []
    with open(list_path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            where = f"{list_path}:{number}"
            if len(fields) < 2:
                raise SidListError(
                    f"{where}: expected 'SHORT LONG [ISO] [F]', got {line.strip()!r}"
                )
            try:
                short, long = parse_exposure_name(fields[0]), parse_exposure_name(fields[1])
            except SidListError as err:
                raise SidListError(f"{where}: {err}") from None
            if short.scene != long.scene:
                raise SidListError(
                    f"{where}: short scene {short.scene:05d} != long scene {long.scene:05d}"
                )
            if first_burst_only and short.burst != 0:
                continue
            if drop_misaligned and short.scene in MISALIGNED_SCENES:
                continue
            paths = [os.path.normpath(os.path.join(root, f)) for f in fields[:2]]
            if check_files:
                for path in paths:
                    if not os.path.isfile(path):
                        raise SidListError(f"{where}: {path}: file not found")
            pairs.append(
                SidPair(
                    short_path=paths[0],
                    long_path=paths[1],
                    scene=short.scene,
                    burst=short.burst,
                    short_exposure=short.exposure,
                    long_exposure=long.exposure,
                    ratio=amplification_ratio(short.exposure, long.exposure),
                    iso=fields[2] if len(fields) > 2 else "",
                    aperture=fields[3] if len(fields) > 3 else "",
                )
            )
    return pairs
