"""Mapping another camera's packed RAW into the training camera's raw colour space.

A network trained on one camera (SID's Sony alpha 7S II) learned that camera's colour response:
how its R, G, B channels answer a colour, and which white-balance gains its developed ground
truth applied. Another camera's raw values for the same scene differ by a 3x3 matrix and other
gains, and go through the network with a strong cast. `to_training_camera` removes the linear
part of that difference before the network, from the file's own metadata:

1. white-balance the source with its as-shot gains `w_s` (`RawFrame.camera_wb`, or dcraw's grey
   world where the camera asked for automatic white balance: `as_shot_gains`);
2. white-balanced source camera RGB -> XYZ -> white-balanced training camera RGB, with each
   camera's XYZ -> camera matrix `M` normalised as LibRaw normalises it before developing
   (`N = rows-sum-to-1(M @ sRGB_to_XYZ)`, `lsid_keras.raw.unprocess.srgb_to_camera_matrix`),
   so a white-balanced white stays white: `N_t @ inv(N_s)`;
3. un-white-balance with the training camera's gains `w_t` for the same illuminant: the
   illuminant's white is `inv(M_s) @ (1 / w_s)` in XYZ, the training camera sees it as
   `M_t @ that`, and `w_t = G / (R, G, B)` of that response.

    camera_t = diag(1 / w_t) @ N_t @ inv(N_s) @ diag(w_s) @ camera_s     (one 3x3 matrix)

Green keeps its level (both gains are 1 for G), so the exposure and the amplification ratio are
unchanged. On the packed frame (channels R, G, B, G for Bayer; the card's order for X-Trans)
each output channel of colour c is `A[c, c] * itself + sum over the other colours j of
A[c, j] * (mean of the channels of colour j)`, so the two greens keep their own values (and
their own noise) and a flat patch is mapped by exactly A. The result is clipped to [0, 1].

What it does not fix: noise (another sensor's read/shot noise and its black-level
behaviour differ from what the network saw), spectral responses that no 3x3 matrix relates
(the matrices are Adobe's least-squares fits for one illuminant), saturated highlights (a
clipped channel stays wrong), and white balance the file does not record.

Files without an XYZ -> camera matrix (LibRaw knows none for the camera, no DNG ColorMatrix,
or one that cannot be inverted) are mapped by the rule LibRaw develops them with: its camera ->
sRGB matrix stays the identity, so white-balanced camera RGB is taken as linear sRGB. That is
the camera whose XYZ -> camera matrix is XYZ -> linear sRGB (`SRGB_AS_CAMERA`), and the formula
above applies unchanged (`N_s` is then the identity): a file whose data is already
white-balanced (gains 1, 1, 1) reaches the network as the training camera's raw of a D65 scene,
not as raw values of no camera the network knows (which came out deep magenta).

NumPy only; no Keras, no TensorFlow.
"""

from __future__ import annotations

import numpy as np

from lsid_keras.raw.unprocess import SRGB_TO_XYZ, srgb_to_camera_matrix

#: Colour (0 R, 1 G, 2 B) of each packed channel (`lsid_keras.raw.pack`).
CHANNEL_COLOURS = {
    "bayer": (0, 1, 2, 1),
    "xtrans": (0, 1, 2, 0, 2, 1, 1, 1, 1),
}
#: Training camera assumed for a model that does not say which camera it learned
#: (`lsid_keras.raw.cameras.CAMERA_SPECS` names): SID's cameras.
DEFAULT_TRAINING_CAMERA = {"bayer": "sony", "xtrans": "fuji"}
# Two matrices closer than this (per entry) are the same camera: nothing to map.
_SAME_CAMERA_ATOL = 1e-4
#: The XYZ -> camera matrix LibRaw develops a RAW without one with: XYZ -> linear sRGB (LibRaw
#: leaves its camera -> sRGB matrix at the identity, so camera RGB times the white balance is
#: taken as linear sRGB).
SRGB_AS_CAMERA = np.linalg.inv(SRGB_TO_XYZ)
SRGB_AS_CAMERA.setflags(write=False)


def _matrix(value, name) -> np.ndarray:
    matrix = np.asarray(value, dtype=np.float64)
    if matrix.shape != (3, 3) or not np.all(np.isfinite(matrix)) or abs(
            np.linalg.det(matrix)) < 1e-9:
        raise ValueError(f"{name} must be an invertible finite 3x3 matrix. Received: {value!r}")
    return matrix


def white_balance_gains(camera_wb, xyz_to_camera=None) -> np.ndarray:
    """As-shot gains (R, G, B) relative to green from rawpy's 4 multipliers.

    Missing or unusable multipliers (LibRaw reports 0 for a file that has none) fall back to
    the gains of the camera for a D65 white when `xyz_to_camera` is given, else None.
    """
    values = np.asarray(camera_wb, dtype=np.float64).ravel()
    if values.size >= 3 and np.all(np.isfinite(values[:3])) and np.all(values[:3] > 0):
        return values[:3] / values[1]
    if xyz_to_camera is None:
        return None
    d65 = np.array([0.95047, 1.0, 1.08883])
    response = _matrix(xyz_to_camera, "xyz_to_camera") @ d65
    return response[1] / response


#: `RawFrame.camera_wb[0]` of a file whose camera asked for automatic white balance (LibRaw's
#: `cam_mul[0] == -1`, e.g. Canon EOS D30 CRWs); `postprocess(use_camera_wb=True)` then
#: white-balances the frame by dcraw's grey world (`grey_world_gains`).
AUTO_WB = -1.0
#: dcraw's grey world: blocks of this many pixels a side, left out when any value in them is
#: within `GREY_WORLD_HEADROOM` DN of the white level.
GREY_WORLD_BLOCK = 8
GREY_WORLD_HEADROOM = 25


def grey_world_gains(frame) -> np.ndarray | None:
    """dcraw's (and LibRaw's) automatic white balance of a `RawFrame`: gains (R, G, B), G = 1,
    that give each colour the same mean over the frame's 8 x 8 blocks with no value near
    saturation (mosaic - black, clipped at 0). None when no block qualifies or a colour has
    no signal.

    LibRaw applies it under `use_camera_wb=True` when the file's camera white balance is
    `AUTO_WB` (dcraw's `scale_colors`: `pre_mul[c] = count[c] / sum[c]`), over the whole
    raw area; this uses the visible mosaic, which differs from it only at the margins.
    """
    mosaic = np.asarray(frame.mosaic)
    block = GREY_WORLD_BLOCK
    height, width = (mosaic.shape[0] // block) * block, (mosaic.shape[1] // block) * block
    if height == 0 or width == 0:
        return None
    mosaic = mosaic[:height, :width]
    kept = mosaic.reshape(height // block, block, width // block, block).max(axis=(1, 3)) <= (
        float(frame.white_level) - GREY_WORLD_HEADROOM)
    n = frame.cfa.shape[0]
    sums, counts = np.zeros(3), np.zeros(3)
    for i in range(n):
        for j in range(n):
            plane = mosaic[i::n, j::n]
            # The block of each of this CFA position's pixels.
            in_kept = kept[((i + n * np.arange(plane.shape[0])) // block)[:, None],
                           ((j + n * np.arange(plane.shape[1])) // block)[None, :]]
            signal = np.maximum(plane[in_kept].astype(np.float64)
                                - float(frame.black_level[i, j]), 0.0)
            colour = int(frame.cfa[i, j])
            sums[colour] += signal.sum()
            counts[colour] += signal.size
    if not np.all(counts > 0) or not np.all(sums > 0):
        return None
    means = sums / counts
    return means[1] / means


def as_shot_gains(frame, xyz_to_camera=None) -> np.ndarray | None:
    """The white-balance gains (R, G, B), G = 1, LibRaw's `use_camera_wb=True` develops `frame`
    (a `RawFrame`) with: dcraw's grey world when the camera asked for automatic white balance
    (`AUTO_WB`), else `white_balance_gains` of its camera white balance."""
    if len(frame.camera_wb) and frame.camera_wb[0] == AUTO_WB:
        gains = grey_world_gains(frame)
        if gains is not None:
            return gains
    return white_balance_gains(frame.camera_wb, xyz_to_camera)


def training_gains(source_xyz_to_camera, source_gains, target_xyz_to_camera) -> np.ndarray:
    """The training camera's white-balance gains (R, G, B), G = 1, for the illuminant the
    source was white-balanced for: `G / (M_t @ inv(M_s) @ (1 / w_s))`."""
    white_xyz = np.linalg.solve(_matrix(source_xyz_to_camera, "source xyz_to_camera"),
                                1.0 / np.asarray(source_gains, dtype=np.float64))
    response = _matrix(target_xyz_to_camera, "target xyz_to_camera") @ white_xyz
    if np.any(response <= 0):
        raise ValueError(f"the source white {white_xyz.tolist()} (XYZ) has no positive response "
                         f"in the training camera: {response.tolist()}")
    return response[1] / response


def camera_to_camera_matrix(source_xyz_to_camera, source_gains,
                            target_xyz_to_camera) -> np.ndarray:
    """3x3 A with `camera_t = A @ camera_s` for un-white-balanced raw RGB (see module doc)."""
    source_gains = np.asarray(source_gains, dtype=np.float64)
    target_gains = training_gains(source_xyz_to_camera, source_gains, target_xyz_to_camera)
    to_target = srgb_to_camera_matrix(target_xyz_to_camera)
    from_source = np.linalg.inv(srgb_to_camera_matrix(source_xyz_to_camera))
    return np.diag(1.0 / target_gains) @ to_target @ from_source @ np.diag(source_gains)


def apply_to_packed(packed, matrix, cfa_kind) -> np.ndarray:
    """Applies a 3x3 colour matrix to a packed frame (H, W, C); returns float32 in [0, 1].

    Each channel of colour c becomes `A[c, c] * itself + sum_j A[c, j] * mean(colour j)` over
    the other colours j (see the module docstring)."""
    packed = np.asarray(packed, dtype=np.float32)
    colours = np.asarray(CHANNEL_COLOURS[cfa_kind])
    if packed.ndim != 3 or packed.shape[-1] != colours.size:
        raise ValueError(f"packed must be (H, W, {colours.size}) for {cfa_kind}. "
                         f"Received: shape={packed.shape}")
    matrix = np.asarray(matrix, dtype=np.float32)
    means = np.stack([packed[..., colours == c].mean(axis=-1) for c in range(3)], axis=-1)
    out = np.empty_like(packed)
    for k, c in enumerate(colours):
        others = [j for j in range(3) if j != c]
        out[..., k] = matrix[c, c] * packed[..., k] + means[..., others] @ matrix[c, others]
    return np.clip(out, 0.0, 1.0, out=out)


def training_camera_matrix(camera) -> np.ndarray | None:
    """The XYZ -> camera matrix of a training camera: a `CAMERA_SPECS` name, a 3x3 matrix, or
    None (no mapping)."""
    if camera is None:
        return None
    if isinstance(camera, str):
        from lsid_keras.raw.cameras import camera_spec

        return camera_spec(camera).xyz_to_camera
    return _matrix(camera, "training camera xyz_to_camera")


def rendering_xyz_to_camera(frame) -> np.ndarray:
    """The XYZ -> camera matrix LibRaw renders `frame` (a `RawFrame`) with: its own, or
    `SRGB_AS_CAMERA` when it carries none (camera RGB taken as linear sRGB)."""
    matrix = getattr(frame, "xyz_to_camera", None)
    return SRGB_AS_CAMERA if matrix is None else np.asarray(matrix, dtype=np.float64)


def mapping_for(frame, training_camera) -> np.ndarray | None:
    """The 3x3 camera-to-camera matrix for `frame` (a `RawFrame`) into `training_camera`, or
    None when there is nothing to do: the model's camera is unknown, or both are the same
    camera. A frame without an XYZ -> camera matrix is mapped from the camera LibRaw renders
    it as (`rendering_xyz_to_camera`)."""
    target = training_camera_matrix(training_camera)
    if target is None:
        return None
    source = rendering_xyz_to_camera(frame)
    if np.allclose(source, target, rtol=0, atol=_SAME_CAMERA_ATOL):
        return None
    gains = as_shot_gains(frame, source)
    return camera_to_camera_matrix(source, gains, target)


def to_training_camera(packed, frame, training_camera, cfa_kind=None):
    """`(packed, matrix)`: the packed frame in the training camera's raw colour space and the
    3x3 matrix applied, or the frame unchanged and None (see `mapping_for`).

    Args:
        packed: `pack(frame)`, (H, W, C) in [0, 1], not amplified.
        frame: the `RawFrame` it was packed from (its `xyz_to_camera`, see
            `rendering_xyz_to_camera`, and `camera_wb`).
        training_camera: the camera the model was trained on (`CAMERA_SPECS` name or 3x3
            XYZ -> camera matrix), or None.
        cfa_kind: "bayer" or "xtrans" (default: the frame's).
    """
    matrix = mapping_for(frame, training_camera)
    if matrix is None:
        return packed, None
    return apply_to_packed(packed, matrix, cfa_kind or frame.cfa_kind), matrix
