import numpy as np
import pytest
from raw_fixtures import (
    BAYER_ORDERS,
    BAYER_RED_AT,
    XT2,
    XT2_TABLE,
    bayer_pattern,
    normalise,
    random_mosaic,
    shifted,
    write_test_dng,
)

from lsid_keras.raw import (
    RawFrame,
    UnsupportedCFAError,
    amplify,
    block_size,
    cfa_phase,
    pack,
    pack_bayer,
    pack_xtrans,
    packed_channels,
    packing_window,
    read_raw,
)


def expected_bayer(mosaic, order, black, white):
    """SID packing by explicit index arithmetic: R(0,0) G(0,1) B(1,1) G(1,0) of each RGGB cell."""
    dy, dx = BAYER_RED_AT[order]
    black = np.broadcast_to(np.asarray(black, float), (2, 2))
    h, w = (mosaic.shape[0] - dy) // 2, (mosaic.shape[1] - dx) // 2
    out = np.zeros((h, w, 4))
    for i in range(h):
        for j in range(w):
            for k, (a, b) in enumerate([(0, 0), (0, 1), (1, 1), (1, 0)]):
                y, x = dy + 2 * i + a, dx + 2 * j + b
                out[i, j, k] = normalise(mosaic[y, x], black[y % 2, x % 2], white)
    return out


def expected_xtrans(mosaic, black, white):
    """SID X-Trans packing of an X-T2-phase mosaic, straight from the REFERENCE.md table."""
    black = np.broadcast_to(np.asarray(black, float), (6, 6))
    th, tw = mosaic.shape[0] // 6, mosaic.shape[1] // 6
    out = np.zeros((2 * th, 2 * tw, 9))
    for ty in range(th):
        for tx in range(tw):
            for k, pixels in enumerate(XT2_TABLE):
                for (a, b), (r, c) in zip([(0, 0), (0, 1), (1, 0), (1, 1)], pixels, strict=True):
                    value = mosaic[6 * ty + r, 6 * tx + c]
                    out[2 * ty + a, 2 * tx + b, k] = normalise(value, black[r, c], white)
    return out


# --- Bayer -------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", BAYER_ORDERS)
@pytest.mark.parametrize("shape", [(37, 53), (36, 52), (3, 3), (2, 2)])
def test_pack_bayer_matches_hand_computation(order, shape):
    mosaic = random_mosaic(shape, white=4095, seed=3)
    packed = pack_bayer(mosaic, bayer_pattern(order), 64, 4095)
    dy, dx = BAYER_RED_AT[order]
    assert packed.dtype == np.float32
    assert packed.shape == ((shape[0] - dy) // 2, (shape[1] - dx) // 2, 4)
    np.testing.assert_allclose(packed, expected_bayer(mosaic, order, 64, 4095), rtol=0, atol=1e-6)


@pytest.mark.parametrize("order", BAYER_ORDERS)
def test_pack_bayer_black_per_position(order):
    mosaic = random_mosaic((21, 30), white=16383, seed=4)
    black = np.array([[500, 510], [520, 530]])  # per mosaic position, not per colour
    packed = pack_bayer(mosaic, bayer_pattern(order), black, 16383)
    np.testing.assert_allclose(
        packed, expected_bayer(mosaic, order, black, 16383), rtol=0, atol=1e-6
    )


def test_pack_clips_to_unit_range():
    mosaic = np.array([[0, 64, 100, 5000], [4095, 9000, 63, 65]] * 2, dtype=np.uint16)
    packed = pack_bayer(mosaic, bayer_pattern("RGGB"), 64, 4095)
    assert packed.min() == 0.0 and packed.max() == 1.0
    assert packed[0, 0, 0] == 0.0  # 0 is below black
    assert packed[0, 1, 1] == 1.0  # 5000 is above white


@pytest.mark.parametrize(("order", "dy", "dx"), [("GRBG", 0, 1), ("GBRG", 1, 0), ("BGGR", 1, 1)])
def test_bayer_orders_of_one_scene_pack_alike(tmp_path, order, dy, dx):
    # Two crops of one RGGB sensor: at offset (dy, dx) the top-left cell reads as `order`.
    scene = random_mosaic((42, 60), white=4095, seed=5)
    rggb = write_test_dng(tmp_path, "rggb.dng", scene[:37, :53], "RGGB", 64, 4095)
    other = write_test_dng(tmp_path, "o.dng", scene[dy : dy + 37, dx : dx + 53], order, 64, 4095)
    frame = read_raw(other)
    np.testing.assert_array_equal(frame.cfa, bayer_pattern(order))
    a, b = pack(read_raw(rggb)), pack(frame)
    # The other file starts one row/column later and drops one more to reach an R pixel: its
    # packed image is the RGGB one shifted by one packed row/column (dy, dx).
    assert b.shape == ((37 - dy) // 2, (53 - dx) // 2, 4)
    h, w = min(a.shape[0] - dy, b.shape[0]), min(a.shape[1] - dx, b.shape[1])
    assert h >= 17 and w >= 25
    np.testing.assert_array_equal(b[:h, :w], a[dy : dy + h, dx : dx + w])


def test_packing_window_and_phase():
    assert cfa_phase(bayer_pattern("RGGB")) == (0, 0)
    assert cfa_phase(bayer_pattern("BGGR")) == (1, 1)
    rows, cols = packing_window((37, 53), bayer_pattern("GRBG"))
    assert (rows, cols) == (slice(0, 36), slice(1, 53))
    rows, cols = packing_window((41, 55), shifted(XT2, 1, 2))
    assert (rows.start, cols.start) == cfa_phase(shifted(XT2, 1, 2))
    assert (rows.stop - rows.start) % 6 == 0 and (cols.stop - cols.start) % 6 == 0


# --- X-Trans -----------------------------------------------------------------------------------


def test_reference_table_covers_the_tile_and_matches_colours():
    # Guards the test's own copy of the table: 36 distinct pixels, colours as labelled.
    pixels = [p for channel in XT2_TABLE for p in channel]
    assert len(set(pixels)) == 36
    colours = [0, 1, 2, 0, 2, 1, 1, 1, 1]
    for k, channel in enumerate(XT2_TABLE):
        assert all(XT2[r, c] == colours[k] for r, c in channel)


@pytest.mark.parametrize("shape", [(41, 55), (36, 36), (6, 6), (5, 12)])
def test_pack_xtrans_matches_table(shape):
    mosaic = random_mosaic(shape, white=16383, seed=6)
    black = 1000 + np.arange(36).reshape(6, 6)
    packed = pack_xtrans(mosaic, XT2, black, 16383)
    assert packed.dtype == np.float32
    assert packed.shape == (2 * (shape[0] // 6), 2 * (shape[1] // 6), 9)
    np.testing.assert_allclose(packed, expected_xtrans(mosaic, black, 16383), rtol=0, atol=1e-6)


def test_pack_xtrans_uses_every_pixel_once():
    # Unique values: each packed 2x2x9 cell must hold exactly the 36 values of its tile.
    height, width = 18, 24
    mosaic = np.arange(height * width, dtype=np.uint16).reshape(height, width)
    white = 65535
    packed = pack_xtrans(mosaic, XT2, 0, white)
    recovered = np.rint(packed.astype(np.float64) * white).astype(np.int64)
    for ty in range(height // 6):
        for tx in range(width // 6):
            cell = recovered[2 * ty : 2 * ty + 2, 2 * tx : 2 * tx + 2, :].ravel()
            tile = mosaic[6 * ty : 6 * ty + 6, 6 * tx : 6 * tx + 6].ravel()
            assert len(cell) == 36
            assert sorted(cell.tolist()) == sorted(tile.tolist())


@pytest.mark.parametrize("dy, dx", [(0, 0), (1, 0), (0, 5), (3, 2), (5, 5), (2, 4)])
def test_shifted_xtrans_phase_packs_like_xt2(tmp_path, dy, dx):
    scene = random_mosaic((48, 60), white=16383, seed=7)
    black = 1000 + np.arange(36).reshape(6, 6)  # per position of the X-T2-phase scene
    crop = scene[dy:, dx:]
    crop_black = shifted(black, dy, dx)
    path = write_test_dng(tmp_path, "x.dng", crop, shifted(XT2, dy, dx), crop_black, 16383)
    frame = read_raw(path)
    np.testing.assert_array_equal(frame.cfa, shifted(XT2, dy, dx))
    np.testing.assert_array_equal(frame.black_level, crop_black)
    packed = pack(frame)

    # The crop that packing starts from must be an X-T2 tile origin of the scene: the pattern
    # repeats under a (3, 3) shift, so origins are (0, 0) or (3, 3) modulo 6.
    py, px = cfa_phase(frame.cfa)
    oy, ox = dy + py, dx + px
    assert 0 <= py < 6 and 0 <= px < 6
    assert (oy % 6, ox % 6) in ((0, 0), (3, 3))
    np.testing.assert_array_equal(shifted(XT2, oy, ox), XT2)
    expected = expected_xtrans(scene[oy:, ox:], shifted(black, oy, ox), 16383)
    assert packed.shape == expected.shape
    np.testing.assert_allclose(packed, expected, rtol=0, atol=1e-6)
    if oy % 6 == 0 and ox % 6 == 0:
        whole = pack_xtrans(scene, XT2, black, 16383)
        ty, tx = oy // 6, ox // 6
        np.testing.assert_array_equal(
            packed, whole[2 * ty : 2 * ty + packed.shape[0], 2 * tx : 2 * tx + packed.shape[1]]
        )


# --- dispatch, refusal, constants --------------------------------------------------------------


def test_pack_dispatches_on_cfa_kind():
    mosaic = random_mosaic((24, 30), white=4095, seed=8)
    bayer = RawFrame(mosaic, bayer_pattern("GBRG"), 64, 4095)
    xtrans = RawFrame(mosaic, XT2, 64, 4095)
    assert pack(bayer).shape == (11, 15, 4)
    assert pack(xtrans).shape == (8, 10, 9)
    np.testing.assert_array_equal(pack(xtrans), pack_xtrans(mosaic, XT2, 64, 4095))


@pytest.mark.parametrize(
    "cfa, name",
    [
        (np.array([[1, 2], [2, 1]]), "GB/BG"),  # no R
        (np.array([[1, 1], [0, 2]]), "GG/RB"),  # greens not diagonal
        (np.array([[0, 1, 2], [1, 2, 0], [2, 0, 1]]), "RGB/GBR/BRG"),
        (np.array([[XT2[r, c] for c in range(6)] for r in (0, 2, 1, 3, 4, 5)]), "RBGBRG/GGBGGR"),
        (np.where(np.eye(6, dtype=bool) & (XT2 == 0), 1, XT2), "GBGBRG"),  # two Rs turned G
    ],
)
def test_unsupported_patterns_are_refused(cfa, name):
    mosaic = random_mosaic((24, 24), white=4095)
    frame = RawFrame(mosaic, cfa, 0, 4095, path="cam/x.dng")
    with pytest.raises(UnsupportedCFAError) as info:
        pack(frame)
    assert name in str(info.value)
    assert "cam/x.dng" in str(info.value)


def test_packers_refuse_the_other_kind():
    mosaic = random_mosaic((24, 24), white=4095)
    with pytest.raises(UnsupportedCFAError, match="RG/GB"):
        pack_xtrans(mosaic, bayer_pattern("RGGB"), 0, 4095)
    with pytest.raises(UnsupportedCFAError, match="RBGBRG"):
        pack_bayer(mosaic, XT2, 0, 4095)


def test_bad_levels_are_refused():
    mosaic = random_mosaic((24, 24), white=4095)
    with pytest.raises(ValueError, match="white"):
        pack_bayer(mosaic, bayer_pattern("RGGB"), 64, 64)
    with pytest.raises(ValueError, match="black"):
        pack_bayer(mosaic, bayer_pattern("RGGB"), np.zeros(3), 4095)


def test_amplify_scales_and_clips():
    packed = np.array([0.0, 0.001, 0.002, 0.5], dtype=np.float32)
    out = amplify(packed, 300)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0.0, 0.3, 0.6, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(amplify(packed, 1), packed)


def test_amplify_in_place_gives_the_same_frame_in_the_same_memory():
    """`lsid enhance` amplifies its own packed frame in place (no second frame), channel-
    planar as `pack_bayer` leaves it."""
    rng = np.random.default_rng(0)
    planar = np.moveaxis(rng.random((4, 6, 8), dtype=np.float32) * 0.01, 0, -1)
    expected = amplify(planar, 150)
    result = amplify(planar, 150, out=planar)
    assert result is planar
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("ratio", [0, -1, float("nan"), float("inf")])
def test_amplify_refuses_bad_ratio(ratio):
    with pytest.raises(ValueError, match="ratio"):
        amplify(np.zeros(3, np.float32), ratio)


def test_constants():
    assert packed_channels("bayer") == 4 and packed_channels("xtrans") == 9
    assert block_size("bayer") == 2 and block_size("xtrans") == 3
    with pytest.raises(ValueError, match="foveon"):
        packed_channels("foveon")
    with pytest.raises(ValueError, match="foveon"):
        block_size("foveon")
