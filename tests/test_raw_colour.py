import numpy as np
import pytest
from raw_fixtures import write_test_dng

from lsid_keras.raw import pack, read_raw
from lsid_keras.raw.cameras import CAMERA_SPECS
from lsid_keras.raw.colour import (
    apply_to_packed,
    camera_to_camera_matrix,
    mapping_for,
    to_training_camera,
    training_gains,
)
from lsid_keras.raw.read import RawFrame
from lsid_keras.raw.unprocess import unprocess_rgb

SONY, NIKON = CAMERA_SPECS["sony"], CAMERA_SPECS["nikon"]


def _packed(camera_rgb):
    """(H, W, 3) camera RGB -> the (H, W, 4) R, G, B, G layout pack() gives."""
    return camera_rgb[..., [0, 1, 2, 1]].astype(np.float32)


@pytest.mark.parametrize("temperature", [2900.0, 4300.0, 6500.0])
def test_training_gains_are_the_training_cameras_own_gains_for_that_illuminant(temperature):
    red, blue = NIKON.white_balance(temperature)
    gains = training_gains(NIKON.xyz_to_camera, [red, 1.0, blue], SONY.xyz_to_camera)
    np.testing.assert_allclose(gains, [SONY.white_balance(temperature)[0], 1.0,
                                       SONY.white_balance(temperature)[1]], rtol=1e-9)


def test_a_nikon_scene_maps_onto_the_same_scene_shot_by_the_sony():
    # The same sRGB colours under the same illuminant and brightening gain, unprocessed by
    # each camera's matrix and gains: the mapping must turn one raw into the other.
    rng = np.random.default_rng(3)
    srgb = rng.uniform(0.05, 0.8, size=(6, 8, 3))
    nikon = NIKON.sample_unprocess_params(np.random.default_rng(11))
    sony = SONY.sample_unprocess_params(np.random.default_rng(11))
    assert nikon.temperature == sony.temperature and nikon.rgb_gain == sony.rgb_gain
    source, target = _packed(unprocess_rgb(srgb, nikon)), _packed(unprocess_rgb(srgb, sony))
    assert np.abs(source - target).max() > 0.05  # the cameras do differ
    matrix = camera_to_camera_matrix(NIKON.xyz_to_camera, nikon.camera_wb, SONY.xyz_to_camera)
    np.testing.assert_allclose(apply_to_packed(source, matrix, "bayer"), target, atol=1e-5)


def test_packed_mapping_keeps_each_green_and_clips():
    packed = np.zeros((2, 3, 4), np.float32)
    packed[..., 1], packed[..., 3] = 0.2, 0.4  # two different greens, no red or blue
    matrix = np.array([[1.5, -0.2, 0.0], [0.1, 1.0, 0.1], [0.0, 0.3, 2.0]])
    out = apply_to_packed(packed, matrix, "bayer")
    np.testing.assert_allclose(out[..., 1], 0.2, atol=1e-7)
    np.testing.assert_allclose(out[..., 3], 0.4, atol=1e-7)
    np.testing.assert_allclose(out[..., 0], 0.0)  # -0.2 * 0.3 clipped at 0
    np.testing.assert_allclose(out[..., 2], 0.3 * 0.3, rtol=1e-6)
    with pytest.raises(ValueError, match=r"\(H, W, 9\)"):
        apply_to_packed(packed, matrix, "xtrans")


def _frame(matrix, wb=(2.0, 1.0, 1.5, 0.0)):
    return RawFrame(mosaic=np.zeros((4, 4), np.uint16), cfa=[[0, 1], [1, 2]], black_level=0,
                    white_level=1, camera_wb=wb, xyz_to_camera=matrix)


def test_nothing_is_mapped_for_the_same_or_an_unknown_camera():
    packed = np.full((2, 2, 4), 0.3, np.float32)
    assert mapping_for(_frame(SONY.xyz_to_camera), "sony") is None
    assert mapping_for(_frame(NIKON.xyz_to_camera), None) is None
    same, matrix = to_training_camera(packed, _frame(NIKON.xyz_to_camera), None)
    assert same is packed and matrix is None
    mapped, matrix = to_training_camera(packed, _frame(NIKON.xyz_to_camera), "sony")
    assert matrix.shape == (3, 3) and not np.allclose(mapped, packed)


def test_read_raw_takes_the_matrix_and_camera_names_from_the_file(tmp_path):
    mosaic = np.full((32, 48), 600, np.uint16)
    path = write_test_dng(tmp_path, "d850.dng", mosaic, "RGGB", 400, 16383,
                          camera_wb=(2.0, 1.0, 1.4), color_matrix=NIKON.xyz_to_camera,
                          **NIKON.dng_identity)
    frame = read_raw(path)
    np.testing.assert_allclose(frame.xyz_to_camera, NIKON.xyz_to_camera, atol=1e-6)
    assert (frame.make, frame.model) == ("NIKON CORPORATION", "NIKON D850")
    assert frame.orientation == 0 and frame.iso is None
    mapped, matrix = to_training_camera(pack(frame), frame, "sony")
    assert matrix is not None and mapped.shape == (16, 24, 4)


def test_the_model_card_carries_the_training_cameras_matrix():
    from lsid_keras.export.card import training_camera_description

    told = training_camera_description("fuji", "xtrans")
    assumed = training_camera_description(None, "bayer")
    assert told["name"] == "fuji" and not told["assumed"]
    assert assumed["name"] == "sony" and assumed["assumed"]
    np.testing.assert_array_equal(assumed["xyz_to_camera"], SONY.xyz_to_camera)


@pytest.mark.parametrize("wb", [(1.0, 1.0, 1.0, 0.0), (2.0, 1.0, 1.6, 0.0)])
def test_a_frame_without_a_matrix_is_mapped_by_the_rule_libraw_renders_it_with(wb):
    # LibRaw renders a RAW without a colour matrix as camera RGB x white balance = linear sRGB.
    # So camera values c / wb stand for the linear sRGB colour c under the light whose white
    # is 1 / wb; for white-balanced data (wb 1) that is sRGB's own D65 white. The Sony sees
    # that colour as rows-normalised(M_sony @ sRGB->XYZ) @ c / (its gains for that light):
    # spelled out here from the matrices, not through camera_to_camera_matrix.
    from lsid_keras.raw.unprocess import SRGB_TO_XYZ

    rng = np.random.default_rng(4)
    srgb = rng.uniform(0.05, 0.8, size=(6, 8, 3))
    gains = np.asarray(wb[:3])
    source = _packed(srgb / gains)
    to_sony = SONY.xyz_to_camera @ SRGB_TO_XYZ
    to_sony /= to_sony.sum(axis=1, keepdims=True)
    white = SONY.xyz_to_camera @ SRGB_TO_XYZ @ (1.0 / gains)  # the Sony's raw of that white
    sony_gains = white[1] / white
    expected = _packed(srgb @ to_sony.T / sony_gains)
    matrix = mapping_for(_frame(None, wb), "sony")
    assert matrix is not None
    np.testing.assert_allclose(apply_to_packed(source, matrix, "bayer"), expected, atol=1e-5)
    if wb[0] == 1.0:  # pre-balanced data: the Sony's own gains for a D65 white
        d65 = SONY.xyz_to_camera @ [0.95047, 1.0, 1.08883]
        np.testing.assert_allclose(sony_gains, d65[1] / d65, rtol=1e-3)


def test_a_camera_asking_for_auto_white_balance_gets_dcraws_grey_world():
    """LibRaw reports camera white balance -1 for a camera that asked for automatic white
    balance (a Canon EOS D30 CRW) and `postprocess(use_camera_wb=True)` then balances the
    frame by dcraw's grey world; the as-shot colour must use the same gains, not the D65
    fallback of a file without any (33 a*b* off on that real file before)."""
    from lsid_keras.as_shot_colour import scene_colour
    from lsid_keras.raw.colour import AUTO_WB, as_shot_gains, grey_world_gains

    rng = np.random.default_rng(0)
    cast = np.array([0.5, 1.0, 0.25])  # camera response of a grey scene: a strong cast
    grey = rng.uniform(0.1, 0.6, (64, 64))
    mosaic = np.empty((64, 64))
    cfa = np.array([[0, 1], [1, 2]])
    for i in range(2):
        for j in range(2):
            mosaic[i::2, j::2] = grey[i::2, j::2] * cast[cfa[i, j]]
    codes = np.rint(64 + mosaic * 4000).astype(np.uint16)
    codes[:8, :8] = 4095  # a saturated block: left out, as dcraw leaves it out
    frame = RawFrame(codes, cfa, 64, 4095, camera_wb=(AUTO_WB, 1.03, 2.69, 0.0),
                     xyz_to_camera=SONY.xyz_to_camera)
    gains = grey_world_gains(frame)
    kept = np.ones((64, 64), bool)
    kept[:8, :8] = False
    signal = codes.astype(float) - 64
    means = [signal[kept & (np.kron(np.ones((32, 32), int), cfa) == c)].mean() for c in range(3)]
    np.testing.assert_allclose(gains, means[1] / np.array(means), rtol=1e-12)
    np.testing.assert_allclose(gains, 1 / cast, rtol=0.05)
    np.testing.assert_array_equal(as_shot_gains(frame, SONY.xyz_to_camera), gains)
    unclipped = np.rint(64 + mosaic * 4000).astype(np.uint16)
    colour = scene_colour(RawFrame(unclipped, cfa, 64, 4095, camera_wb=(AUTO_WB, 1, 1, 0)))
    np.testing.assert_allclose(colour / colour[1], 1.0, atol=1e-6)  # grey, as LibRaw shows it
    # Camera white balance recorded: used as it is; every block saturated: the D65 fallback.
    recorded = RawFrame(codes, cfa, 64, 4095, camera_wb=(2.0, 1.0, 1.5, 0.0))
    np.testing.assert_allclose(as_shot_gains(recorded), [2.0, 1.0, 1.5])
    saturated = RawFrame(np.full((16, 16), 4095, np.uint16), cfa, 64, 4095,
                         camera_wb=(AUTO_WB, 1.0, 2.0, 0.0), xyz_to_camera=SONY.xyz_to_camera)
    assert grey_world_gains(saturated) is None
    assert as_shot_gains(saturated, SONY.xyz_to_camera)[1] == 1.0
