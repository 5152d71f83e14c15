"""The cameras the synthetic data emulates: one place for each camera's sensor and colour facts.

A `CameraSpec` holds what a RAW file of that camera says about colour and levels: CFA kind and
default pattern, black and white level (DN), the XYZ -> camera colour matrix (LibRaw's table,
`src/tables/colordata.cpp` of github.com/LibRaw/LibRaw, per 10000, which is Adobe DNG
Converter's ColorMatrix2 for D65), the range of white-balance gains the camera meets from
tungsten to daylight, and its noise calibration. `lsid synth` reads it, and so can anything
that needs to map another camera's colour (model card, colour conversion).

White balance. A camera's white-balance gains under an illuminant are `G / R` and `G / B` of its
response to the illuminant's white, `M @ XYZ_white`. Whites are taken on the Planckian locus
below 4000 K (tungsten, halogen; Kim et al.'s cubic fit) and on the CIE daylight locus from
4000 K (D-illuminants), for colour temperatures 2800 K to 7000 K, drawn uniformly in mired
(1e6 / T). The resulting ranges (red gain, blue gain), from these matrices:

    sony  (alpha 7S II)   red 1.70 .. 2.83   blue 1.37 .. 2.77   (5500 K: 2.61, 1.58)
    fuji  (X-T2)          red 1.18 .. 2.37   blue 1.55 .. 3.37   (5500 K: 2.09, 1.80)
    nikon (D850)          red 1.15 .. 2.30   blue 1.20 .. 2.62   (5500 K: 2.03, 1.41)
    brooks                red 1.90 .. 2.40   blue 1.50 .. 1.90   (Brooks et al.'s ranges)

(`CameraSpec.red_gain_range` / `blue_gain_range` compute them; a test pins these figures.)

NumPy only; no Keras, no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lsid_keras.raw.noise import ELD_NIKON_D850, ELD_SONY_A7S2, NoiseCalibration
from lsid_keras.raw.pack import BAYER, XTRANS, XTRANS_PATTERN, cfa_name
from lsid_keras.raw.unprocess import (
    BLUE_GAIN_RANGE,
    RED_GAIN_RANGE,
    UnprocessParams,
    sample_rgb_gain,
    sample_unprocess_params,
    srgb_to_camera_matrix,
)

#: Colour temperatures (K) of the illuminants a camera's white balance is drawn from.
TEMPERATURE_RANGE = (2800.0, 7000.0)
# Below this temperature whites lie on the Planckian locus, from it on the daylight locus.
_DAYLIGHT_FROM = 4000.0


def _planckian_xy(temperature: float) -> tuple[float, float]:
    """CIE 1931 xy of a black body, 1667 K to 25000 K (Kim et al. 2002 cubic fit)."""
    t = temperature
    if t < _DAYLIGHT_FROM:
        x = -0.2661239e9 / t**3 - 0.2343589e6 / t**2 + 0.8776956e3 / t + 0.179910
    else:
        x = -3.0258469e9 / t**3 + 2.1070379e6 / t**2 + 0.2226347e3 / t + 0.240390
    if t < 2222:
        y = -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683
    elif t < _DAYLIGHT_FROM:
        y = -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867
    else:
        y = 3.0817580 * x**3 - 5.87338670 * x**2 + 3.75112997 * x - 0.37001483
    return x, y


def _daylight_xy(temperature: float) -> tuple[float, float]:
    """CIE 1931 xy of the CIE daylight illuminant of this correlated colour temperature,
    4000 K to 25000 K (CIE 15)."""
    t = temperature
    if t <= 7000:
        x = -4.6070e9 / t**3 + 2.9678e6 / t**2 + 0.09911e3 / t + 0.244063
    else:
        x = -2.0064e9 / t**3 + 1.9018e6 / t**2 + 0.24748e3 / t + 0.237040
    return x, -3.0 * x * x + 2.87 * x - 0.275


def illuminant_white_xyz(temperature: float) -> np.ndarray:
    """XYZ (Y = 1) of the white of an illuminant: Planckian below 4000 K, CIE daylight from
    4000 K. `temperature` in kelvin, 1667 to 25000."""
    temperature = float(temperature)
    if not 1667 <= temperature <= 25000:
        raise ValueError(f"temperature must lie in [1667, 25000] K. Received: {temperature}")
    if temperature < _DAYLIGHT_FROM:
        x, y = _planckian_xy(temperature)
    else:
        x, y = _daylight_xy(temperature)
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


@dataclass(frozen=True, eq=False)
class CameraSpec:
    """One camera as the synthetic data emulates it.

    Args:
        name: the `--camera` name ("sony", "fuji", "nikon", "brooks").
        model: make and model in words.
        description: one line for command-line help.
        folder: dataset folder and list-file prefix ("Sony" -> `Sony/short`,
            `Sony_train_list.txt`).
        cfa_kind: "bayer" or "xtrans".
        default_cfa: CFA letters at the mosaic origin (4 for Bayer, 36 for X-Trans).
        black_level, white_level: DN of the 14-bit RAW data.
        xyz_to_camera: 3x3 XYZ -> camera matrix (D65), or None for Brooks' random matrices.
        matrix_source: where the matrix comes from.
        noise: the `NoiseCalibration` short exposures are simulated with.
        noise_note: why this calibration, when it is not the camera's own.
        exif_make, exif_model: the DNG's Make and Model tags, as the camera writes them, so
            LibRaw identifies the camera (None: the generic "lsid_keras" / "synthetic").
        temperature_range: (low, high) K of the white-balance illuminants; None: Brooks' gains.
    """

    name: str
    model: str
    description: str
    folder: str
    cfa_kind: str
    default_cfa: str
    black_level: int
    white_level: int
    xyz_to_camera: np.ndarray | None
    matrix_source: str
    noise: NoiseCalibration
    noise_note: str = ""
    exif_make: str | None = None
    exif_model: str | None = None
    temperature_range: tuple | None = TEMPERATURE_RANGE

    def __post_init__(self):
        if self.xyz_to_camera is not None:
            matrix = np.array(self.xyz_to_camera, dtype=np.float64).reshape(3, 3)
            matrix.setflags(write=False)
            object.__setattr__(self, "xyz_to_camera", matrix)

    def white_balance(self, temperature: float) -> tuple[float, float]:
        """(red_gain, blue_gain) = (G / R, G / B) of the camera's response to the white of an
        illuminant of `temperature` kelvin."""
        if self.xyz_to_camera is None:
            raise ValueError(f"camera {self.name!r} has no fixed colour matrix")
        red, green, blue = self.xyz_to_camera @ illuminant_white_xyz(temperature)
        return float(green / red), float(green / blue)

    def _gain_extremes(self, index: int) -> tuple[float, float]:
        if self.temperature_range is None:
            return (RED_GAIN_RANGE, BLUE_GAIN_RANGE)[index]
        low, high = self.temperature_range
        # Dense enough that the extremes are exact to 1e-4 (the gains are monotonic in T
        # apart from the step where the loci meet at 4000 K).
        temperatures = 1e6 / np.linspace(1e6 / high, 1e6 / low, 2001)
        gains = [self.white_balance(t)[index] for t in temperatures]
        return float(min(gains)), float(max(gains))

    @property
    def red_gain_range(self) -> tuple[float, float]:
        """(min, max) red white-balance gain this camera draws."""
        return self._gain_extremes(0)

    @property
    def blue_gain_range(self) -> tuple[float, float]:
        """(min, max) blue white-balance gain this camera draws."""
        return self._gain_extremes(1)

    def sample_unprocess_params(self, rng) -> UnprocessParams:
        """The camera of one synthetic scene.

        Real cameras: their fixed colour matrix, a colour temperature drawn uniformly in mired
        from `temperature_range` and that illuminant's white-balance gains, and Brooks'
        brightening gain. "brooks": Brooks et al.'s random camera (`sample_unprocess_params`).

        Args:
            rng: a `numpy.random.Generator` (or a seed for one).
        """
        rng = np.random.default_rng(rng)
        if self.xyz_to_camera is None:
            return sample_unprocess_params(rng)
        low, high = self.temperature_range
        temperature = 1e6 / rng.uniform(1e6 / high, 1e6 / low)
        red_gain, blue_gain = self.white_balance(temperature)
        return UnprocessParams(
            srgb_to_camera=srgb_to_camera_matrix(self.xyz_to_camera),
            rgb_gain=sample_rgb_gain(rng),
            red_gain=red_gain,
            blue_gain=blue_gain,
            color_matrix=self.xyz_to_camera,
            temperature=temperature,
        )

    @property
    def dng_identity(self) -> dict:
        """`write_dng` keyword arguments make / model (empty for the generic camera)."""
        if self.exif_make is None:
            return {}
        return {"make": self.exif_make, "model": self.exif_model}

    def as_dict(self) -> dict:
        """JSON-ready description (for `synth.json` and model cards)."""
        return {
            "name": self.name,
            "model": self.model,
            "exif_make": self.exif_make,
            "exif_model": self.exif_model,
            "cfa_kind": self.cfa_kind,
            "default_cfa": self.default_cfa,
            "black_level": self.black_level,
            "white_level": self.white_level,
            "xyz_to_camera": None if self.xyz_to_camera is None else self.xyz_to_camera.tolist(),
            "matrix_source": self.matrix_source,
            "temperature_range": (
                None if self.temperature_range is None else list(self.temperature_range)
            ),
            "red_gain_range": list(self.red_gain_range),
            "blue_gain_range": list(self.blue_gain_range),
            "noise": self.noise.name,
        }


def _per_10000(*values) -> np.ndarray:
    return np.array(values, dtype=np.float64).reshape(3, 3) / 10000.0


_LIBRAW = "LibRaw src/tables/colordata.cpp adobe_coeff"

CAMERA_SPECS = {
    spec.name: spec
    for spec in (
        CameraSpec(
            name="sony",
            model="Sony ILCE-7SM2 (alpha 7S II), the SID Sony camera",
            description="Sony alpha 7S II (SID's Sony): its colour matrix, WB range and ELD noise",
            folder="Sony",
            cfa_kind=BAYER,
            default_cfa="RGGB",
            black_level=512,
            white_level=16383,
            xyz_to_camera=_per_10000(5838, -1430, -246, -3497, 11477, 2297, -748, 1885, 5778),
            matrix_source=f'{_LIBRAW} "ILCE-7S" (same CMs: ILCE-7S, ILCE-7SM2)',
            noise=ELD_SONY_A7S2,
            exif_make="SONY",
            exif_model="ILCE-7SM2",
        ),
        CameraSpec(
            name="fuji",
            model="Fujifilm X-T2, the SID Fuji camera",
            description="Fujifilm X-T2 (SID's Fuji, X-Trans): its colour matrix and WB range",
            folder="Fuji",
            cfa_kind=XTRANS,
            default_cfa=cfa_name(XTRANS_PATTERN),
            black_level=1024,
            white_level=16383,
            xyz_to_camera=_per_10000(11434, -4948, -1210, -3746, 12042, 1903, -666, 1479, 5235),
            matrix_source=f'{_LIBRAW} "X-T2" (same CMs: X-T2, X-T20)',
            noise=ELD_SONY_A7S2,
            noise_note="ELD published no X-T2 calibration; the alpha 7S II fit stands in",
            exif_make="FUJIFILM",
            exif_model="X-T2",
        ),
        CameraSpec(
            name="nikon",
            model="Nikon D850",
            description="Nikon D850 (Bayer): another camera's colour matrix, WB and ELD noise",
            folder="Nikon",
            cfa_kind=BAYER,
            default_cfa="RGGB",
            # LibRaw's table holds 0 / 0 (levels read from the file); 400 is the black level
            # of the D850's 14-bit NEFs, 16383 the 14-bit full scale.
            black_level=400,
            white_level=16383,
            xyz_to_camera=_per_10000(10405, -3755, -1270, -5461, 13787, 1793, -1040, 2015, 6785),
            matrix_source=f'{_LIBRAW} "D850"',
            noise=ELD_NIKON_D850,
            exif_make="NIKON CORPORATION",
            exif_model="NIKON D850",
        ),
        CameraSpec(
            name="brooks",
            model="Brooks et al.'s random camera (a new random colour matrix per scene)",
            description="Brooks et al.'s random camera: a random colour matrix and gains per "
            "scene (multi-camera experiments)",
            folder="Brooks",
            cfa_kind=BAYER,
            default_cfa="RGGB",
            black_level=512,
            white_level=16383,
            xyz_to_camera=None,
            matrix_source="random convex mix of Brooks et al.'s four camera matrices",
            noise=ELD_SONY_A7S2,
            temperature_range=None,
        ),
    )
}

#: (name, one-line description) of every camera, for `lsid synth --camera` choices and help.
CAMERA_CHOICES = tuple((spec.name, spec.description) for spec in CAMERA_SPECS.values())


def camera_spec(name) -> CameraSpec:
    """The `CameraSpec` called `name` (case-insensitive).

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    key = name.lower() if isinstance(name, str) else name
    if key not in CAMERA_SPECS:
        raise ValueError(
            f"camera must be one of {', '.join(CAMERA_SPECS)}. Received: camera={name!r}"
        )
    return CAMERA_SPECS[key]

