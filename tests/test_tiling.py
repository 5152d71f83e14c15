import doctest
import json
import runpy
import sys

import keras
import numpy as np
import pytest

from lsid_keras import tiling
from lsid_keras.models import SIZE_MULTIPLE, get_model
from lsid_keras.tiling import (
    BLENDS,
    DEFAULT_HALO,
    feather_weights,
    fit_tile,
    keras_predictor,
    padded_size,
    reflect_indices,
    run_tiled,
    run_untiled,
    tile_plan,
)

# (height, width, tile, halo): multiples of 16, odd sizes, images smaller than a tile, halos
# that the 16-pixel grid rounds up, the largest halo a tile allows.
PLANS = [
    (80, 112, 48, 8),
    (100, 150, 64, 8),
    (257, 513, 64, 24),
    (17, 33, 32, 0),
    (1, 1, 16, 0),
    (300, 40, 64, 4),
    (96, 96, 64, 16),
    (500, 37, 128, 56),
    (33, 200, 48, 16),
]


def _smooth(height, width, channels, seed=0, noise=0.0):
    """Smooth random packed image in [0, 1]: a coarse grid, repeated, then box-blurred."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0.05, 0.9, size=(height // 16 + 2, width // 16 + 2, channels))
    image = np.kron(coarse, np.ones((16, 16, 1)))
    kernel = np.ones(15) / 15
    for axis in (0, 1):
        image = np.apply_along_axis(np.convolve, axis, image, kernel, mode="same")
    image = image[8:8 + height, 8:8 + width] + rng.normal(0, noise, (height, width, channels))
    return np.clip(image, 0, 1).astype(np.float32)


def _depth_to_space(x, block):
    """numpy `tf.nn.depth_to_space` (DCR order): (n, h, w, b*b*c) -> (n, h*b, w*b, c)."""
    n, h, w, channels = x.shape
    c = channels // (block * block)
    x = x.reshape(n, h, w, block, block, c).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(n, h * block, w * block, c)


def _pointwise_model(channels, block, seed=0):
    """A 'model' without spatial context: a per-pixel nonlinear map, then depth-to-space."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(channels, 3 * block * block)).astype(np.float32)

    def predict(batch):
        return _depth_to_space(np.tanh(batch @ weights), block)

    return predict


def _box_model(radius, block=2):
    """A 'model' with context exactly `radius` packed pixels: a (2r+1)^2 box sum with zero
    padding, as SAME convolutions pad, then depth-to-space."""

    def predict(batch):
        n, h, w, c = batch.shape
        padded = np.pad(batch, ((0, 0), (radius, radius), (radius, radius), (0, 0)))
        total = np.zeros_like(batch)
        for dy in range(2 * radius + 1):
            for dx in range(2 * radius + 1):
                total += padded[:, dy:dy + h, dx:dx + w]
        features = np.concatenate([total] * (3 * block * block // c + 1), axis=-1)
        return _depth_to_space(features[..., : 3 * block * block], block)

    return predict


def _calibrated_unet(packed, block=2, seed=0, output_std=0.25, name="sid", width=4):
    """Random-init U-Net (width 4 SID by default) whose last 1x1 conv is scaled so the untiled
    output on `packed` has std 0.25, like a trained model's sRGB output
    (scripts/measure_seams.py)."""
    keras.utils.set_random_seed(seed)
    model = get_model(name, camera="sony" if block == 2 else "fuji", width=width)
    predict = keras_predictor(model)
    last = model.layers[-2]
    assert last.name.startswith("conv") and last.kernel_size == (1, 1)
    kernel, bias = last.get_weights()
    scale = output_std / run_untiled(predict, packed, block).std()
    last.set_weights([kernel * scale, bias * scale])
    return predict


# ---------------------------------------------------------------------------- plan


@pytest.mark.parametrize("height, width, tile, halo", PLANS)
def test_cores_partition_image_and_windows_are_full_tiles_on_grid(height, width, tile, halo):
    plan = tile_plan(height, width, tile, halo)
    padded_h, padded_w = padded_size(height, width, tile, halo)
    assert padded_h % 16 == 0 and padded_w % 16 == 0
    assert padded_h >= max(height + 2 * halo, tile) and padded_w >= max(width + 2 * halo, tile)
    coverage = np.zeros((height, width), dtype=int)
    for t in plan:
        assert (t.height, t.width) == (tile, tile)
        assert t.top % 16 == 0 and t.left % 16 == 0
        assert 0 <= t.top and t.top + tile <= padded_h
        assert 0 <= t.left and t.left + tile <= padded_w
        assert t.core_height > 0 and t.core_width > 0
        # The core lies in the window with at least `halo` of context on every side: interior
        # sides by the overlap, image borders by the reflect padding.
        assert t.pad == halo
        before_top = t.core_top + halo - t.top
        after_bottom = t.top + tile - (t.core_top + halo + t.core_height)
        before_left = t.core_left + halo - t.left
        after_right = t.left + tile - (t.core_left + halo + t.core_width)
        assert min(before_top, after_bottom, before_left, after_right) >= halo
        coverage[t.core()] += 1
    np.testing.assert_array_equal(coverage, 1)


def test_windows_are_spread_evenly_from_edge_to_edge():
    # Padded by 8 on every side to 116 x 166, then to 128 x 176 on the 16-grid. Fewest windows
    # with steps <= 64 - 2 * 8 = 48: 3 rows, 4 columns, spread evenly on the grid (the old plan
    # stepped 48 and shifted only the last window inward, overlapping it far more).
    plan = tile_plan(100, 150, tile=64, halo=8)
    tops = sorted({t.top for t in plan})
    lefts = sorted({t.left for t in plan})
    assert tops == [0, 32, 128 - 64]
    assert lefts == [0, 32, 64, 176 - 64]
    assert len(plan) == len(tops) * len(lefts)
    assert [(t.top, t.left) for t in plan[:3]] == [(0, 0), (0, 32), (0, 64)]  # row-major


@pytest.mark.parametrize("height, width, halo, max_tile, expected, tiles", [
    (1424, 2128, 32, 800, 784, (2, 3)),   # Sony frame: 1.22x its pixels
    (1424, 2128, 32, 512, 496, (4, 5)),
    (1344, 2010, 32, 800, 736, (2, 3)),   # Fuji frame: 1344 / 2 + 64 = 736
    (50, 70, 8, 256, 96, (1, 1)),         # one tile: image plus halos on the grid
])
def test_fit_tile_chooses_the_count_then_the_smallest_tile(height, width, halo, max_tile,
                                                          expected, tiles):
    tile = fit_tile(height, width, halo, max_tile)
    assert tile == expected and tile % 16 == 0 and tile <= max_tile
    plan = tile_plan(height, width, tile, halo)
    assert (len({t.top for t in plan}), len({t.left for t in plan})) == tiles
    # The next smaller tile needs more tiles: the count was chosen first.
    if tile > 16 + 2 * halo:
        assert len(tile_plan(height, width, tile - 16, halo)) > len(plan)


def test_image_smaller_than_tile_is_one_padded_tile():
    (only,) = tile_plan(20, 30, tile=64, halo=16)
    assert (only.top, only.left, only.height, only.width) == (0, 0, 64, 64)
    assert only.core() == (slice(0, 20), slice(0, 30))
    assert only.ramps == (0, 0, 0, 0)
    assert padded_size(20, 30, 64, 16) == (64, 64)


def test_tile_plan_example_in_docstring_holds():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    for test in finder.find(tiling.tile_plan, "tile_plan", globs={"tile_plan": tile_plan}):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"tile": 250}, r"tile size 250 is not a multiple of 16 .* Received: tile=250"),
        ({"halo": -1}, r"halo must be an int >= 0"),
        ({"halo": 25}, r"use halo <= 24 for tile 64"),
        ({"halo": 32}, r"tile - 2 \* halo must be at least 16"),
        ({"tile": 0}, r"tile must be a positive int"),
        ({"height": 0}, r"height must be a positive int"),
        ({"width": 2.5}, r"width must be a positive int"),
        ({"halo": 1.0}, r"halo must be an int"),
        ({"tile": 48, "multiple": 32}, r"tile size 48 is not a multiple of 32"),
    ],
)
def test_tile_plan_rejects_bad_arguments(kwargs, message):
    args = {"height": 100, "width": 100, "tile": 64, "halo": 8, **kwargs}
    with pytest.raises(ValueError, match=message):
        tile_plan(**args)


def test_tile_plan_multiple_matches_the_models():
    assert tiling.SIZE_MULTIPLE == SIZE_MULTIPLE


def test_reflect_indices_match_numpy_reflect_padding():
    for length in (1, 2, 3, 7, 16, 50):
        for padded in (length, 16, 64, 100):
            for before in (0, 5, 32):
                if padded < length + before:
                    continue
                expected = np.pad(np.arange(length), (before, padded - length - before),
                                  mode="reflect")
                np.testing.assert_array_equal(reflect_indices(length, padded, before), expected)


# ---------------------------------------------------------------------------- feather


@pytest.mark.parametrize("block", [1, 2, 3])
@pytest.mark.parametrize("height, width, tile, halo", PLANS)
def test_feather_weights_sum_to_one(height, width, tile, halo, block):
    plan = tile_plan(height, width, tile, halo)
    padded_h, padded_w = padded_size(height, width, tile, halo)
    total = np.zeros((padded_h * block, padded_w * block))
    for t in plan:
        weights = feather_weights(t, block)
        assert weights.shape == (tile * block, tile * block)
        assert weights.min() >= 0 and weights.max() <= 1
        # Zero outside the core widened by the ramps (both in output pixels of the frame).
        rows, cols = t.blend_region(block)
        top, left = (t.top - halo) * block, (t.left - halo) * block
        outside = np.ones_like(weights, dtype=bool)
        outside[rows.start - top:rows.stop - top, cols.start - left:cols.stop - left] = False
        assert not weights[outside].any()
        total[t.window(block)] += weights
    image = slice(halo * block, (halo + height) * block), slice(halo * block,
                                                                  (halo + width) * block)
    np.testing.assert_allclose(total[image], 1.0, atol=1e-6)


def test_feather_ramps_are_linear_and_centred_on_core_edges():
    plan = tile_plan(100, 150, tile=64, halo=8)
    first = plan[0]
    # Windows at 0 and 32 overlap by 32: margin 16, ramp half of it; core edge at padded 48.
    assert first.ramps == (0, 8, 0, 8)
    assert first.core_left + first.core_width + first.pad == (0 + 64 + 32) // 2
    weights = feather_weights(first, block=1)
    assert not weights[:8].any()  # the reflect padding above the image is no tile's core
    row = weights[8]  # the image's top row: only the right ramp, centred on column 48
    np.testing.assert_allclose(row[:8], 0.0)
    np.testing.assert_allclose(row[8:40], 1.0)
    np.testing.assert_allclose(row[40:56], 1 - (np.arange(16) + 0.5) / 16)
    np.testing.assert_allclose(row[56:], 0.0)


# ---------------------------------------------------------------------------- bookkeeping


@pytest.mark.parametrize("block, channels", [(2, 4), (3, 9)])
@pytest.mark.parametrize("blend", BLENDS)
@pytest.mark.parametrize("height, width, tile, halo", PLANS)
def test_pointwise_model_tiles_exactly(height, width, tile, halo, blend, block, channels):
    packed = np.random.default_rng(1).uniform(0, 1, (height, width, channels))
    predict = _pointwise_model(channels, block)
    untiled = run_untiled(predict, packed, block)
    tiled = run_tiled(predict, packed, tile=tile, halo=halo, block=block, blend=blend,
                      batch_size=3)
    assert tiled.shape == untiled.shape == (height * block, width * block, 3)
    assert tiled.dtype == np.float32
    # Not bit-equal: the matmul of differently shaped batches rounds differently (1 ulp).
    np.testing.assert_allclose(tiled, untiled, atol=1e-6, rtol=0)
    # Direct check of the reference too: the pointwise map of the unpadded image.
    direct = predict(packed[None].astype(np.float32))[0]
    np.testing.assert_allclose(untiled, direct, atol=1e-6, rtol=0)


@pytest.mark.parametrize("blend, exact_halo", [("crop", 8), ("feather", 16)])
def test_context_within_halo_tiles_exactly(blend, exact_halo):
    """A model that sees 8 pixels around each pixel is exact once the contributing pixels keep
    8 pixels of context: halo 8 for crop, 16 for feather (ramps use half the margin)."""
    packed = np.random.default_rng(2).uniform(0, 1, (112, 144, 4))
    predict = _box_model(radius=8)
    untiled = run_untiled(predict, packed, block=2)
    exact = run_tiled(predict, packed, tile=64, halo=exact_halo, block=2, blend=blend)
    np.testing.assert_allclose(exact, untiled, atol=1e-4, rtol=0)
    short = run_tiled(predict, packed, tile=64, halo=0, block=2, blend=blend)
    assert np.abs(short - untiled).max() > 1.0  # can fail: too little context shows


def test_predict_always_gets_full_batches_of_tiles():
    shapes = []
    pointwise = _pointwise_model(4, 2)

    def predict(batch):
        shapes.append(batch.shape)
        assert batch.dtype == np.float32
        return pointwise(batch)

    packed = np.random.default_rng(3).uniform(0, 1, (100, 150, 4)).astype(np.float64)
    out = run_tiled(predict, packed, tile=64, halo=8, block=2, batch_size=5, progress=True)
    assert len(tile_plan(100, 150, 64, 8)) == 12
    assert shapes == [(5, 64, 64, 4)] * 3  # 12 tiles: the third batch is filled up
    np.testing.assert_allclose(out, run_untiled(pointwise, packed, 2, halo=8), atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"blend": "hann"}, r"blend must be one of \('crop', 'feather'\)"),
        ({"batch_size": 0}, r"batch_size must be a positive int"),
        ({"block": 3}, r"predict returned shape \(1, 128, 128, 3\) .* block=3"),
        ({"block": 0}, r"block must be a positive int"),
        ({"tile": 40}, r"tile size 40 is not a multiple of 16"),
    ],
)
def test_run_tiled_rejects_bad_arguments(kwargs, message):
    args = {"tile": 64, "halo": 8, "block": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        run_tiled(_pointwise_model(4, 2), np.zeros((80, 80, 4)), **args)


def test_packed_must_be_one_image():
    with pytest.raises(ValueError, match=r"packed must be one .* shape=\(1, 80, 80, 4\)"):
        run_tiled(_pointwise_model(4, 2), np.zeros((1, 80, 80, 4)))
    with pytest.raises(ValueError, match="packed must be one packed RAW image"):
        run_untiled(_pointwise_model(4, 2), np.zeros((80, 80)))


# ---------------------------------------------------------------------------- real U-Net


@pytest.fixture(scope="module")
def unet_case():
    packed = _smooth(192, 256, 4, noise=0.05)
    predict = _calibrated_unet(packed)
    # Reflect padding beyond the receptive field (107): the answer on the reflected frame,
    # which tiles approach at the edges as at the seams when the halo grows.
    return packed, predict, run_untiled(predict, packed, 2, halo=112)


def test_unet_seam_error_below_one_level_at_default_halo(unet_case):
    """Max error < 1/255 at DEFAULT_HALO, several windows per axis (a random-init net: 0.06
    levels crop, 0.09 feather at halo 32 with tiles of 128; halo 16 gives 0.6 / 0.67, halo 8
    6.7 / 4.2; the default of 64 is set by the trained shipped GIA-Net, whose context reaches
    further: scripts/measure_seams.py --weights)."""
    packed, predict, untiled = unet_case
    tile = 2 * DEFAULT_HALO + 32
    assert len(tile_plan(*packed.shape[:2], tile, DEFAULT_HALO)) >= 4
    for blend in BLENDS:
        tiled = run_tiled(predict, packed, tile=tile, halo=DEFAULT_HALO, block=2, blend=blend)
        assert np.abs(tiled - untiled).max() < 1 / 255, blend


def test_unet_seam_error_falls_as_halo_grows(unet_case):
    packed, predict, untiled = unet_case
    errors = [
        np.abs(run_tiled(predict, packed, tile=128, halo=halo, block=2) - untiled).max()
        for halo in (0, 8, 16, 32, 48)
    ]
    assert all(a > b for a, b in zip(errors[:-1], errors[1:], strict=True)), errors
    assert errors[0] > 50 / 255  # no halo: a visible seam, so the test can fail


def test_unet_tiles_exactly_when_halo_covers_receptive_field():
    """The U-Net reaches 107 packed pixels (scripts/measure_seams.py); with more context and
    windows on the 16-pixel grid, tiles reproduce the untiled output bit for bit."""
    keras.utils.set_random_seed(0)
    predict = keras_predictor(get_model("sid", width=4))
    packed = np.random.default_rng(4).uniform(0, 1, (64, 80, 4)).astype(np.float32)
    untiled = run_untiled(predict, packed, 2, halo=112)  # the same padded frame
    tiled = run_tiled(predict, packed, tile=256, halo=112, block=2, batch_size=2)
    assert len(tile_plan(64, 80, 256, 112)) == 6  # 2 x 3 windows 32 or 16 apart
    np.testing.assert_allclose(tiled, untiled, atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ["sid", "gia_net"])
def test_one_answer_per_frame_whatever_the_tile_size(name):
    """The reported bug: edge pixels moved by 45-60 8-bit levels between tile 256 and a tile
    larger than the frame (reflect padding only then). With the frame padded the same way for
    every tile size, outputs agree within one 8-bit level everywhere, edges included."""
    packed = _smooth(160, 208, 4, noise=0.05, seed=5)
    predict = _calibrated_unet(packed, name=name, width=8)
    untiled = run_untiled(predict, packed, 2, halo=DEFAULT_HALO)
    big = 384  # one tile larger than the padded frame
    for tile in (2 * DEFAULT_HALO + 32, 2 * DEFAULT_HALO + 64, big):
        tiled = run_tiled(predict, packed, tile=tile, halo=DEFAULT_HALO, block=2)
        error = np.abs(tiled - untiled)
        assert error.max() < 1 / 255, (tile, error.max() * 255)
        edges = np.concatenate([error[:8].ravel(), error[-8:].ravel(),
                                error[:, :8].ravel(), error[:, -8:].ravel()])
        assert edges.max() < 1 / 255, (tile, edges.max() * 255)
    # Padding that differs at the edge (none vs reflect) moves the edges far more: the test
    # can fail.
    unpadded = run_untiled(predict, packed, 2, halo=0)
    assert np.abs(unpadded - untiled)[-8:].max() > 5 / 255


@pytest.mark.parametrize("camera, block, channels, size", [
    ("sony", 2, 4, (37, 53)),
    ("sony", 2, 4, (80, 112)),
    ("fuji", 3, 9, (41, 29)),
])
def test_any_input_size_comes_back_at_full_resolution(camera, block, channels, size):
    keras.utils.set_random_seed(0)
    predict = keras_predictor(get_model("sid", camera=camera, width=4))
    packed = _smooth(*size, channels)
    tiled = run_tiled(predict, packed, tile=32, halo=8, block=block)
    untiled = run_untiled(predict, packed, block)
    assert tiled.shape == untiled.shape == (size[0] * block, size[1] * block, 3)
    assert np.isfinite(tiled).all()
    assert predict.traces == 2  # one tile shape, one whole-image shape


def test_keras_predictor_traces_once_per_tile_shape():
    keras.utils.set_random_seed(0)
    predict = keras_predictor(get_model("sid", width=4))
    packed = _smooth(100, 150, 4)
    run_tiled(predict, packed, tile=64, halo=8, block=2, batch_size=4)  # 6 tiles, 2 calls
    run_tiled(predict, packed * 0.5, tile=64, halo=8, block=2, batch_size=4)
    assert predict.traces == 1
    out = predict(np.zeros((1, 32, 32, 4)))
    assert isinstance(out, np.ndarray) and out.shape == (1, 64, 64, 3)
    assert predict.traces == 2


# ---------------------------------------------------------------------------- script


def test_measure_seams_script_runs_small_and_writes_json(tmp_path, monkeypatch, capsys):
    out = tmp_path / "seams.json"
    argv = ["measure_seams.py", "--widths", "2", "--size", "64x96", "--tile", "32",
            "--halos", "0", "8", "--noise", "0", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    try:
        runpy.run_path("scripts/measure_seams.py", run_name="__main__")
    except SystemExit as exit_:
        assert exit_.code == 0
    report = json.loads(out.read_text())
    (model,) = report["models"]
    assert model["graph_receptive_field"] == {"width": 204, "before": 107, "after": 107}
    assert [(r["halo"], r["blend"]) for r in model["rows"]] == [
        (0, "crop"), (0, "feather"), (8, "crop"), (8, "feather")]
    assert model["rows"][0]["max_abs"] > model["rows"][2]["max_abs"] > 0
    assert "smallest halo" in capsys.readouterr().out
