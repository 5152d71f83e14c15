"""Noise-adaptive fusion of the traditional rendering (`lsid_keras.isp_fusion`)."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from lsid_keras import isp_fusion
from lsid_keras.isp_fusion import fuse_traditional, noise_table


def _scene(shape=(192, 256), seed=0):
    """An sRGB scene in [0.1, 0.9]: smooth colour fields, with fine structure (foliage, say) in
    its right half; the left half is flat, as sky and walls are, which is where the rendering's
    noise is measured."""
    rng = np.random.default_rng(seed)
    coarse = gaussian_filter(rng.uniform(0, 1, shape + (3,)), (12, 12, 0))
    coarse = (coarse - coarse.min()) / (coarse.max() - coarse.min())
    fine = gaussian_filter(rng.standard_normal(shape), 0.8)
    fine *= (np.arange(shape[1]) >= shape[1] // 2) / fine.std()
    return np.clip(0.15 + 0.6 * coarse + 0.06 * fine[..., None], 0.0, 1.0).astype(np.float32)


def _psnr(a, b):
    return 10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2))


def _smoothed(scene):
    """A stand-in for a network that removed the noise and some of the detail with it."""
    return gaussian_filter(scene, (1.5, 1.5, 0)).astype(np.float32)


def test_clean_rendering_restores_detail_the_network_lost():
    scene = _scene()
    network = _smoothed(scene)
    rendering = np.clip(scene + 0.003 * np.random.default_rng(1).standard_normal(scene.shape),
                        0, 1).astype(np.float32)
    fused, weights = fuse_traditional(network, rendering)
    assert _psnr(fused, scene) > _psnr(network, scene) + 5
    assert weights["low"] > 0.9 and weights["detail"] > 0.5


def test_clean_rendering_restores_colour_detail_too():
    """Detail that is all colour (stripes of equal luminance, as a red flower on green leaves)
    comes from the rendering as well: the high band is taken in all three colours."""
    scene = _scene()
    _, width, _ = scene.shape
    stripes = np.where((np.arange(width) // 2) % 2, 1.0, -1.0).astype(np.float32)
    chroma = np.array([0.06, -0.06 * 0.2126 / 0.7152, 0.0], np.float32)  # luminance-neutral
    scene = np.clip(scene + stripes[None, :, None] * chroma, 0.0, 1.0)
    network = _smoothed(scene)
    rendering = np.clip(scene + 0.002 * np.random.default_rng(2).standard_normal(scene.shape),
                        0, 1).astype(np.float32)
    fused, _ = fuse_traditional(network, rendering)
    red = (slice(None), slice(None), 0)
    assert _psnr(fused[red], scene[red]) > _psnr(network[red], scene[red]) + 3


def test_the_wiener_weight_is_lighter_where_the_frame_is_clean():
    """beta runs from `WIENER_BETA` (noisy) to `WIENER_BETA_CLEAN` (clean): on a clean frame
    a lower clean-end beta takes more of the rendering's detail, and the noisy end's beta
    does not matter there."""
    scene = _scene()
    network = _smoothed(scene)
    rendering = np.clip(scene + 0.004 * np.random.default_rng(3).standard_normal(scene.shape),
                        0, 1).astype(np.float32)
    far = {"snr_top": 1e6}  # the SNR never nears SNR_TOP: beta_clean alone
    light = fuse_traditional(network, rendering, beta_clean=0.5, **far)[1]["detail"]
    heavy = fuse_traditional(network, rendering, beta_clean=4.0, **far)[1]["detail"]
    assert light > heavy + 0.05
    same = fuse_traditional(network, rendering, beta=8.0)[1]["detail"]
    assert same == pytest.approx(fuse_traditional(network, rendering)[1]["detail"], abs=0.02)


def test_beta_falls_on_to_its_top_value_where_the_snr_is_highest():
    """Above `SNR_FULL` beta goes on falling to `WIENER_BETA_TOP` at `SNR_TOP`: on a frame
    whose SNR is about 100 (a daylight frame's) a lower top beta takes more detail, and
    putting `SNR_TOP` out of reach gives beta_top no say."""
    scene = _scene()
    network = _smoothed(scene)
    rendering = np.clip(scene + 0.005 * np.random.default_rng(4).standard_normal(scene.shape),
                        0, 1).astype(np.float32)
    light = fuse_traditional(network, rendering, beta_top=0.0)[1]["detail"]
    heavy = fuse_traditional(network, rendering, beta_top=1.0)[1]["detail"]
    assert light > heavy + 0.05
    far = {"snr_top": 1e6}
    assert fuse_traditional(network, rendering, beta_top=0.0, **far)[1]["detail"] == \
        pytest.approx(fuse_traditional(network, rendering, beta_top=1.0, **far)[1]["detail"],
                      abs=0.01)


def test_noisy_rendering_leaves_the_network_output_alone():
    scene = _scene(seed=2)
    network = _smoothed(scene)
    rendering = np.clip(scene + 0.25 * np.random.default_rng(3).standard_normal(scene.shape),
                        0, 1).astype(np.float32)
    fused, weights = fuse_traditional(network, rendering)
    assert weights["low"] < 0.01
    assert _psnr(fused, scene) > _psnr(network, scene) - 0.2
    assert np.abs(fused - network).mean() < 0.01


def test_fusion_is_never_much_worse_than_the_better_input():
    scene = _scene(seed=4)
    network = _smoothed(scene)
    rng = np.random.default_rng(5)
    for sigma in (0.005, 0.02, 0.05, 0.1):
        rendering = np.clip(scene + sigma * rng.standard_normal(scene.shape), 0, 1)
        fused, _ = fuse_traditional(network, rendering.astype(np.float32))
        best = max(_psnr(network, scene), _psnr(rendering, scene))
        assert _psnr(fused, scene) > best - 0.5, sigma


def test_bands_give_the_whole_frame_result(monkeypatch):
    scene = _scene((300, 200), seed=6)
    network = _smoothed(scene)
    rendering = np.clip(scene + 0.02 * np.random.default_rng(7).standard_normal(scene.shape),
                        0, 1).astype(np.float32)
    monkeypatch.setattr(isp_fusion, "BAND_ROWS", 1000)
    whole, whole_weights = fuse_traditional(network, rendering)
    monkeypatch.setattr(isp_fusion, "BAND_ROWS", 64)
    banded, banded_weights = fuse_traditional(network, rendering)
    in_place = network.copy()
    written, _ = fuse_traditional(in_place, rendering, out=in_place)
    assert written is in_place
    np.testing.assert_allclose(banded, whole, atol=1e-5)
    np.testing.assert_allclose(in_place, whole, atol=1e-5)
    for key in ("low", "detail"):
        assert banded_weights[key] == pytest.approx(whole_weights[key], abs=1e-6)
    # Bands on threads, in groups that do or do not divide the 5 bands, in place or not: the
    # same numbers to the bit.
    for threads in (1, 2, 3, 8):
        alone, weights = fuse_traditional(network, rendering, threads=threads)
        np.testing.assert_array_equal(alone, banded)
        assert weights == banded_weights
        in_place = network.copy()
        fuse_traditional(in_place, rendering, out=in_place, threads=threads)
        np.testing.assert_array_equal(in_place, banded)


def test_sixteen_bit_rendering_and_float16_network_are_taken_as_they_come():
    scene = _scene(seed=8)
    network = _smoothed(scene)
    rendering = np.clip(scene + 0.01 * np.random.default_rng(9).standard_normal(scene.shape),
                        0, 1)
    codes = np.rint(rendering * 65535).astype(np.uint16)
    as_float, _ = fuse_traditional(network, codes.astype(np.float32) / 65535)
    as_codes, _ = fuse_traditional(network.astype(np.float16), codes)
    assert as_codes.dtype == np.float32
    np.testing.assert_allclose(as_codes, as_float, atol=1 / 255)  # float16: 1e-3 steps


def test_noise_table_measures_the_noise_of_flat_regions():
    rng = np.random.default_rng(10)
    shape = (256, 256)
    levels = np.repeat(np.linspace(0.1, 0.9, 8), 32)[None, :].repeat(256, axis=0)
    clean = np.repeat(levels[..., None], 3, axis=2).astype(np.float32)
    sigma = 0.02
    rendering = (clean + sigma * rng.standard_normal(shape)[..., None]).astype(np.float32)
    y, d2, texture = isp_fusion._noise_samples(clean, rendering, slice(0, 256), step=1)
    _, variances = noise_table(y, d2, texture)
    # The high band keeps sum((delta - k)^2) of white noise's variance, k the low band's
    # kernel: a 5x5 box mean applied twice, 1 - 2 * 0.2^2 + (85 / 625)^2 = 0.9385.
    kept = 1 - 2 * 0.2 ** 2 + (85 / 625) ** 2
    assert np.median(variances) == pytest.approx(sigma ** 2 * kept, rel=0.15)


def test_the_gate_reads_the_noise_from_the_two_greens():
    from lsid_keras.isp_fusion import raw_snr_fraction, worth_fusing

    rng = np.random.default_rng(12)
    level = np.repeat(np.linspace(0.02, 0.9, 64), 4)[None, :, None].repeat(256, 0)
    clean = np.repeat(level, 4, axis=2).astype(np.float32)
    clean[(np.arange(256) // 8) % 2 == 0] += 0.3  # texture both greens share: not noise
    levels = clean[::4, ::4, 1]
    for sigma in (0.002, 0.02, 0.05):
        packed = clean + sigma * rng.standard_normal(clean.shape).astype(np.float32)
        expected = np.mean(4 * levels / sigma >= 6)  # GATE_SNR_GAIN * SNR >= SNR_FLOOR
        assert raw_snr_fraction(packed) == pytest.approx(expected, abs=0.05), sigma
    noisy = np.clip(clean + rng.standard_normal(clean.shape).astype(np.float32), 0, 1)
    assert not worth_fusing(noisy) and worth_fusing(noisy, "xtrans")
    assert worth_fusing(clean[:8, :8])  # too small to judge


def test_bad_arguments_are_refused():
    image = np.zeros((16, 16, 3), np.float32)
    with pytest.raises(ValueError, match="one size"):
        fuse_traditional(image, np.zeros((16, 8, 3), np.float32))
    with pytest.raises(ValueError, match="snr_floor"):
        fuse_traditional(image, image, snr_floor=20, snr_full=6)
    with pytest.raises(ValueError, match="beta"):
        fuse_traditional(image, image, beta=0)
    with pytest.raises(ValueError, match="beta_clean"):
        fuse_traditional(image, image, beta_clean=0)
    with pytest.raises(ValueError, match="snr_top"):
        fuse_traditional(image, image, snr_full=20, snr_top=20)
    with pytest.raises(ValueError, match="beta_top"):
        fuse_traditional(image, image, beta_top=-0.1)
    with pytest.raises(ValueError, match="threads"):
        fuse_traditional(image, image, threads=0)


def test_a_flat_frame_without_measurable_noise_is_returned_as_it_is():
    network = np.full((8, 8, 3), 0.5, np.float32)
    fused, weights = fuse_traditional(network, network.copy())
    np.testing.assert_array_equal(fused, network)
    assert weights == {"low": 0.0, "detail": 0.0}



# --- `lsid enhance` with the shipped model: fused by default, --no-fusion the network alone ---

@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """One emulated alpha 7S II scene of a held-out photo at x4 (little noise) and x300."""
    from lsid_keras.data.sid_list import read_pair_list
    from lsid_keras.data.synth import synthesize_dataset

    root = tmp_path_factory.mktemp("fusion")
    synthesize_dataset(root, camera="sony", scenes=1, seed=3, size=(192, 288), progress=False,
                       splits=(0.0, 1.0, 0.0), content="photos", ratios=(4, 300))
    return {p.ratio: p for p in read_pair_list(root / "Sony_test_list.txt", root=root)}


@pytest.fixture(scope="module")
def shipped():
    from lsid_keras.enhance import load_shipped_enhancer

    return load_shipped_enhancer(num_threads=2)


def _scores(enhancer, pair):
    from lsid_keras.enhance import enhance_file
    from lsid_keras.metrics import psnr
    from lsid_keras.raw.develop import develop

    truth = develop(pair.long_path).astype(np.float32) / 65535
    results = {fusion: enhance_file(enhancer, pair.short_path, ratio=pair.ratio,
                                    auto_bright=False, fusion=fusion)
               for fusion in (True, False)}
    return ({fusion: float(psnr(truth, r.rgb, protocol="reference"))
             for fusion, r in results.items()}, results)


def test_a_clean_frame_takes_the_rendering_and_gains(pairs, shipped):
    scores, results = _scores(shipped, pairs[4])
    assert results[True].fusion["low"] > 0.5
    assert results[False].fusion is None
    assert scores[True] > scores[False] + 1.0


def test_a_dark_noisy_frame_is_not_even_developed(pairs, shipped, monkeypatch):
    import lsid_keras.raw.develop as develop_module
    from lsid_keras.enhance import enhance_file

    def refuse(*args, **kwargs):
        raise AssertionError("the gate should have skipped the rendering")

    with monkeypatch.context() as patch:
        patch.setattr(develop_module, "develop", refuse)
        assert enhance_file(shipped, pairs[300].short_path, ratio=300).fusion is None
    scores, results = _scores(shipped, pairs[300])
    assert results[True].fusion is None
    assert scores[True] == scores[False]


def test_a_file_libraw_renders_at_another_size_keeps_the_networks_picture(pairs, shipped,
                                                                         monkeypatch):
    # develop refuses a rendering that does not match the mosaic; lsid enhance must still
    # give the network's picture, not fail on a file it can read.
    import lsid_keras.raw.develop as develop_module
    from lsid_keras.enhance import enhance_file
    from lsid_keras.raw.errors import CorruptRawFileError

    alone = enhance_file(shipped, pairs[4].short_path, ratio=4, fusion=False)

    def mismatched(path, *args, **kwargs):
        raise CorruptRawFileError(path, "developed image is 10x10 but the visible mosaic is 8x8")

    monkeypatch.setattr(develop_module, "develop", mismatched)
    result = enhance_file(shipped, pairs[4].short_path, ratio=4)
    assert result.fusion is None
    # colour and auto-bright then come in two passes, not one: float rounding only
    np.testing.assert_allclose(result.rgb, alone.rgb, atol=1e-5)


def test_the_network_colour_is_never_fused(pairs, shipped):
    from lsid_keras.enhance import enhance_file

    result = enhance_file(shipped, pairs[4].short_path, ratio=4, colour="network")
    assert result.fusion is None


def test_lsid_enhance_says_it_fused_and_no_fusion_turns_it_off(pairs, tmp_path):
    import subprocess
    import sys

    from PIL import Image

    from lsid_keras.image_io import read_image

    fused, alone = tmp_path / "fused.tif", tmp_path / "alone.tif"
    runs = {path: subprocess.run([sys.executable, "-m", "lsid_keras", "enhance",
                                  str(pairs[4].short_path), "-o", str(path), "--ratio", "4",
                                  "--quiet", *extra], capture_output=True, text=True,
                                 timeout=600)
            for path, extra in ((fused, []), (alone, ["--no-fusion"]))}
    for run in runs.values():
        assert run.returncode == 0, run.stderr
    assert "traditional rendering fused in" in runs[fused].stdout
    assert "fused" not in runs[alone].stdout
    with Image.open(fused) as image:
        assert "traditional rendering fused in" in image.tag_v2[270]
    difference = np.abs(read_image(fused) - read_image(alone)).mean()
    assert difference > 0.002


def test_lsid_evaluate_fuses_only_when_asked_and_as_lsid_enhance_does(pairs, shipped, tmp_path):
    from lsid_keras.enhance import enhance_file
    from lsid_keras.evaluate import evaluate_pairs
    from lsid_keras.metrics import psnr
    from lsid_keras.raw.develop import develop

    pair = pairs[4]
    rows, _ = evaluate_pairs([pair], enhancer=shipped, colour="as-shot", fusion=True,
                             progress=False, tile=0)
    alone, _ = evaluate_pairs([pair], enhancer=shipped, colour="as-shot", progress=False,
                              tile=0)
    truth = develop(pair.long_path).astype(np.float32) / 65535
    enhanced = enhance_file(shipped, pair.short_path, ratio=pair.ratio, auto_bright=False,
                            tile=0)
    assert rows[0]["psnr"] == pytest.approx(float(psnr(truth, enhanced.rgb,
                                                       protocol="reference")), abs=0.01)
    assert rows[0]["psnr"] > alone[0]["psnr"] + 1.0
    with pytest.raises(ValueError, match="as-shot"):
        evaluate_pairs([pair], enhancer=shipped, fusion=True, progress=False)


def test_lsid_evaluate_refuses_fusion_without_the_as_shot_colour(tmp_path, capsys):
    from lsid_keras.cli import main

    assert main(["evaluate", "--data", str(tmp_path), "--list", "x.txt", "--fusion"]) == 2
    assert "--fusion needs" in capsys.readouterr().err
