"""The synthetic SID-style dataset: layout, names, lists, metadata, determinism and resuming."""

import json
import os

import numpy as np
import pytest
import rawpy
from PIL import Image
from raw_fixtures import XT2, bayer_pattern

from lsid_keras.data.sid_list import amplification_ratio, parse_exposure_name, read_pair_list
from lsid_keras.data.synth import (
    DEFAULT_HELD_OUT,
    DEFAULT_PHOTOS,
    assign_photos,
    split_summary,
    synthesize_dataset,
)
from lsid_keras.raw import pack, read_raw
from lsid_keras.raw.cameras import CAMERA_SPECS
from lsid_keras.raw.unprocess import srgb_to_camera_matrix

SONY_SIZE = (64, 96)
THIRDS = (1, 1, 1)
EXPOSURE_RATIOS = {0.1: 100.0, 0.04: 250.0, 0.033: 300.0}


def smooth_photo(height, width, seed=0):
    """A smooth, colourful 8-bit sRGB image with values well inside (0, 255)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    channels = [
        0.45 + 0.3 * np.sin(2.5 * x + 3 * y * rng.uniform(0.5, 1.5) + rng.uniform(0, 6))
        for _ in range(3)
    ]
    return (np.stack(channels, axis=-1) * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """An RGB photo of exactly SONY_SIZE, a small greyscale one and a large RGBA one."""
    folder = tmp_path_factory.mktemp("photos")
    Image.fromarray(smooth_photo(*SONY_SIZE, seed=1)).save(folder / "a_rgb.png")
    Image.fromarray(smooth_photo(40, 50, seed=2)[..., 0]).save(folder / "b_grey.png")
    rgba = np.dstack([smooth_photo(150, 200, seed=3), np.full((150, 200), 128, np.uint8)])
    Image.fromarray(rgba).save(folder / "c_rgba.png")
    Image.fromarray(smooth_photo(130, 140, seed=4)).save(folder / "d.jpg", quality=95)
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.fixture(scope="module")
def sony(tmp_path_factory, photos):
    out = tmp_path_factory.mktemp("sony")
    summary = synthesize_dataset(
        out, images=photos, scenes=3, seed=4, size=SONY_SIZE, splits=THIRDS, progress=False
    )
    return out, summary


def all_files(root):
    return sorted(
        os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs
    )


def test_layout_names_and_lists_follow_sid(sony):
    out, summary = sony
    assert summary["pairs"] == {"train": 3, "test": 3, "val": 3}
    assert summary["files_written"] == 12 and summary["scenes_skipped"] == 0
    assert all_files(out) == sorted(
        [f"Sony/long/{s}_00_10s.dng" for s in ("00001", "10001", "20001")]
        + [
            f"Sony/short/{s}_{b}.dng"
            for s in ("00001", "10001", "20001")
            for b in ("00_0.1s", "00_0.04s", "00_0.033s")
        ]
        + ["Sony_train_list.txt", "Sony_test_list.txt", "Sony_val_list.txt", "synth.json"]
    )
    lines = (out / "Sony_test_list.txt").read_text().splitlines()
    assert lines == sorted(lines)
    assert "./Sony/short/10001_00_0.1s.dng ./Sony/long/10001_00_10s.dng ISO200 F9" in lines
    for split, digit in (("train", 0), ("test", 1), ("val", 2)):
        pairs = read_pair_list(out / f"Sony_{split}_list.txt")
        assert sorted(p.ratio for p in pairs) == [100.0, 250.0, 300.0]
        assert {p.scene // 10000 for p in pairs} == {digit}
        # SID names each exposure time's first frame `_00`: the `_00` protocol keeps every ratio.
        assert [p.burst for p in pairs] == [0, 0, 0]
        first = read_pair_list(out / f"Sony_{split}_list.txt", first_burst_only=True)
        assert sorted(p.ratio for p in first) == [100.0, 250.0, 300.0]


def test_files_read_back_as_sony_raw(sony):
    out, _ = sony
    for pair in read_pair_list(out / "Sony_train_list.txt"):
        short, long = read_raw(pair.short_path), read_raw(pair.long_path)
        for frame in (short, long):
            assert frame.mosaic.shape == SONY_SIZE
            np.testing.assert_array_equal(frame.cfa, bayer_pattern("RGGB"))
            np.testing.assert_array_equal(frame.black_level, 512)
            assert frame.white_level == 16383
            assert pack(frame).shape == (32, 48, 4)
        assert long.exposure_time == 10.0
        assert short.exposure_time == pair.short_exposure
        assert amplification_ratio(short.exposure_time, long.exposure_time) == pair.ratio
        # The short exposure collects 1/ratio of the light, plus zero-mean noise.
        signal_long = long.mosaic.astype(float).mean() - 512
        signal_short = short.mosaic.astype(float).mean() - 512
        ratio = long.exposure_time / short.exposure_time
        assert signal_short == pytest.approx(signal_long / ratio, rel=0.15)
        assert not np.array_equal(short.mosaic, np.rint((long.mosaic - 512) / ratio + 512))


def test_exposure_names_recover_the_ratios(sony):
    out, _ = sony
    for name in os.listdir(out / "Sony" / "short"):
        exposure = parse_exposure_name(name).exposure
        assert amplification_ratio(exposure, 10.0) == EXPOSURE_RATIOS[exposure]


@pytest.mark.parametrize("camera", ["sony", "nikon", "brooks"])
def test_long_exposure_develops_to_the_source_photo(tmp_path, photos, camera):
    # A folder with one photo of exactly the frame size: the crop is the whole photo.
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "a_rgb.png").write_bytes((photos / "a_rgb.png").read_bytes())
    out = tmp_path / "out"
    synthesize_dataset(
        out, images=folder, camera=camera, scenes=2, size=SONY_SIZE, seed=2, splits=(1, 0, 0),
        content="photos", progress=False,
    )
    record = json.loads((out / "synth.json").read_text())["datasets"][camera.capitalize()]
    source = np.asarray(Image.open(folder / "a_rgb.png"), dtype=np.float64) / 255
    for scene in record["scenes"]:
        expected = source[::-1] if scene["flip_vertical"] else source
        expected = expected[:, ::-1] if scene["flip_horizontal"] else expected
        with rawpy.imread(str(out / scene["long"])) as raw:
            developed = raw.postprocess(
                use_camera_wb=True, half_size=False, no_auto_bright=True, output_bps=16
            )
        with rawpy.imread(str(out / scene["long"])) as raw:
            linear = raw.postprocess(
                use_camera_wb=True, no_auto_bright=True, output_bps=16, gamma=(1, 1)
            )
        inner = np.s_[4:-4, 4:-4]
        weights = np.array([0.2126, 0.7152, 0.0722])
        correlation = np.corrcoef(
            (developed[inner] @ weights).ravel(), (expected[inner] @ weights).ravel()
        )[0, 1]
        assert correlation > 0.9
        # Colour: white balance and colour matrix must bring back the photo's linear colours
        # (darker by rgb_gain, the brightening no DNG tag carries).
        g = 0.5 - np.sin(np.arcsin(1 - 2 * expected) / 3)
        source_linear = g**2.2
        developed_linear = linear.astype(np.float64) / 65535 * scene["camera"]["rgb_gain"]
        error = np.abs(developed_linear[inner] - source_linear[inner]) / source_linear[inner]
        assert np.median(error, axis=(0, 1)).max() < 0.05


def test_fuji_xtrans_dataset(tmp_path, photos):
    summary = synthesize_dataset(
        tmp_path, images=photos, camera="fuji", scenes=2, size=(96, 96), progress=False
    )
    assert summary["camera"] == "Fuji" and summary["cfa"].startswith("RBGBRG/")
    pairs = read_pair_list(tmp_path / "Fuji_train_list.txt") + read_pair_list(
        tmp_path / "Fuji_test_list.txt"
    )
    assert len(pairs) == 6
    assert all(p.short_path.endswith(".dng") and "/Fuji/short/" in p.short_path for p in pairs)
    frame = read_raw(pairs[0].long_path)
    np.testing.assert_array_equal(frame.cfa, XT2)
    np.testing.assert_array_equal(frame.black_level, 1024)
    assert frame.white_level == 16383
    assert pack(frame).shape == (32, 32, 9)


def test_bayer_order_option(tmp_path, photos):
    synthesize_dataset(
        tmp_path, images=photos, cfa="GRBG", scenes=1, size=SONY_SIZE, progress=False
    )
    frame = read_raw(next((tmp_path / "Sony" / "long").iterdir()))
    np.testing.assert_array_equal(frame.cfa, bayer_pattern("GRBG"))


def test_default_photos_come_from_scikit_image(tmp_path):
    synthesize_dataset(tmp_path, scenes=2, size=SONY_SIZE, progress=False)
    record = json.loads((tmp_path / "synth.json").read_text())["datasets"]["Sony"]
    assert {s["image"] for s in record["scenes"]} <= set(DEFAULT_PHOTOS)
    assert record["parameters"]["images"] == sorted(record["parameters"]["images"])
    assert len(record["parameters"]["images"]) >= 5


def file_bytes(root):
    return {name: (root / name).read_bytes() for name in all_files(root) if name.endswith(".dng")}


def test_same_seed_same_files_and_scene_k_independent_of_scene_count(tmp_path, photos, sony):
    reference, _ = sony
    again = tmp_path / "again"
    synthesize_dataset(
        again, images=photos, scenes=3, seed=4, size=SONY_SIZE, splits=THIRDS, progress=False
    )
    assert file_bytes(again) == file_bytes(reference)
    fewer = tmp_path / "fewer"
    synthesize_dataset(
        fewer, images=photos, scenes=2, seed=4, size=SONY_SIZE, splits=THIRDS, progress=False
    )
    fewer_files = file_bytes(fewer)
    assert len(fewer_files) == 8
    assert all(
        fewer_files[name] == content
        for name, content in file_bytes(reference).items()
        if name in fewer_files
    )
    other = tmp_path / "other"
    synthesize_dataset(
        other, images=photos, scenes=3, seed=5, size=SONY_SIZE, splits=THIRDS, progress=False
    )
    other_files = file_bytes(other)
    assert other_files.keys() == file_bytes(reference).keys()
    assert all(other_files[n] != c for n, c in file_bytes(reference).items())


def test_rerun_rewrites_only_missing_files(tmp_path, photos):
    kwargs = dict(images=photos, scenes=3, seed=1, size=SONY_SIZE, splits=THIRDS, progress=False)
    synthesize_dataset(tmp_path, **kwargs)
    before = {n: os.stat(tmp_path / n).st_mtime_ns for n in all_files(tmp_path)}
    content = file_bytes(tmp_path)
    victim = "Sony/short/10001_00_0.04s.dng"
    os.remove(tmp_path / victim)
    summary = synthesize_dataset(tmp_path, **kwargs)
    assert summary["files_written"] == 1 and summary["scenes_skipped"] == 2
    assert (tmp_path / victim).read_bytes() == content[victim]
    after = {n: os.stat(tmp_path / n).st_mtime_ns for n in all_files(tmp_path)}
    assert after.keys() == before.keys()
    changed = {n for n in before if after[n] != before[n] and n.endswith(".dng")}
    assert changed == {victim}
    # Growing the dataset keeps the existing scenes and adds new ones.
    summary = synthesize_dataset(tmp_path, **(kwargs | {"scenes": 4}))
    assert summary["files_written"] == 4 and summary["scenes_skipped"] == 3
    assert not [n for n in all_files(tmp_path) if n.endswith(".tmp")]


def test_rerun_with_other_parameters_is_refused(tmp_path, photos):
    synthesize_dataset(tmp_path, images=photos, scenes=1, size=SONY_SIZE, progress=False)
    with pytest.raises(ValueError, match="seed: 0 -> 3"):
        synthesize_dataset(
            tmp_path, images=photos, scenes=1, size=SONY_SIZE, seed=3, progress=False
        )
    # Another camera may share the root, as in SID.
    synthesize_dataset(
        tmp_path, images=photos, camera="fuji", scenes=1, size=(96, 96), progress=False
    )
    record = json.loads((tmp_path / "synth.json").read_text())
    assert sorted(record["datasets"]) == ["Fuji", "Sony"]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"camera": "canon"}, ValueError, "canon"),
        ({"cfa": "RGBG"}, ValueError, "RGBG"),
        ({"cfa": "RGGBX"}, ValueError, "RGGBX"),
        ({"camera": "fuji", "cfa": "RGGB", "size": (96, 96)}, ValueError, "X-Trans"),
        ({"size": (64, 90)}, ValueError, "multiples of 32"),
        ({"size": (16, 32)}, ValueError, "size"),
        ({"size": (64, 96.0)}, ValueError, "size"),
        ({"camera": "fuji", "size": (64, 96)}, ValueError, "multiples of 96"),
        ({"ratios": (100, 500)}, ValueError, "300"),
        ({"ratios": ()}, ValueError, "ratios"),
        ({"splits": (0, 0, 0)}, ValueError, "splits"),
        ({"splits": (0.5, 0.5)}, ValueError, "splits"),
        ({"scenes": 0}, ValueError, "scenes"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_bad_arguments(tmp_path, photos, kwargs, error, match):
    args = {"images": photos, "scenes": 1, "size": SONY_SIZE, "progress": False} | kwargs
    with pytest.raises(error, match=match):
        synthesize_dataset(tmp_path / "out", **args)
    assert not (tmp_path / "out").exists()


def test_bad_image_folders(tmp_path):
    missing = tmp_path / "missing"
    with pytest.raises(FileNotFoundError, match="missing"):
        synthesize_dataset(tmp_path / "out", images=missing, progress=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "broken.png").write_bytes(b"not a png")
    (empty / "readme.txt").write_text("hello")
    with (
        pytest.warns(RuntimeWarning, match="broken.png"),
        pytest.raises(ValueError, match="no readable images"),
    ):
        synthesize_dataset(tmp_path / "out", images=empty, progress=False)
    with pytest.raises(ValueError, match="folder"):
        synthesize_dataset(tmp_path / "out", images=empty / "readme.txt", progress=False)
    assert not (tmp_path / "out").exists()


def test_fuji_default_size_packs_to_multiples_of_16(tmp_path, photos):
    synthesize_dataset(tmp_path, images=photos, camera="fuji", scenes=1, progress=False)
    frame = read_raw(next((tmp_path / "Fuji" / "long").iterdir()))
    assert frame.mosaic.shape == (576, 768)
    assert [side % 16 for side in pack(frame).shape[:2]] == [0, 0]


# --- one real camera, honest splits ----------------------------------------------------------


def long_exposures(out, folder="Sony"):
    record = json.loads((out / "synth.json").read_text())["datasets"][folder]
    return record, [(scene, out / scene["long"]) for scene in record["scenes"]]


def test_sony_is_one_camera_the_alpha_7s_ii(sony):
    out, _ = sony
    spec = CAMERA_SPECS["sony"]
    record, scenes = long_exposures(out)
    assert record["parameters"]["camera_spec"]["xyz_to_camera"] == spec.xyz_to_camera.tolist()
    gains = set()
    for scene, path in scenes:
        with rawpy.imread(str(path)) as raw:
            np.testing.assert_allclose(raw.rgb_xyz_matrix[:3], spec.xyz_to_camera, atol=1e-6)
            np.testing.assert_allclose(
                raw.color_matrix[:, :3],
                np.linalg.inv(srgb_to_camera_matrix(spec.xyz_to_camera)),
                atol=1e-5,
            )
            red, green, blue = raw.camera_whitebalance[:3]
        assert green == 1
        assert red == pytest.approx(scene["camera"]["red_gain"], rel=1e-5)
        assert blue == pytest.approx(scene["camera"]["blue_gain"], rel=1e-5)
        assert spec.red_gain_range[0] <= red <= spec.red_gain_range[1]
        assert spec.blue_gain_range[0] <= blue <= spec.blue_gain_range[1]
        assert 2800 <= scene["camera"]["temperature"] <= 7000
        gains.add((red, blue))
    assert len(gains) == len(scenes)  # one camera, many illuminants


def test_grey_photo_develops_neutral_through_the_alpha_7s_ii(tmp_path):
    folder = tmp_path / "grey"
    folder.mkdir()
    Image.fromarray(np.full((64, 96, 3), 118, np.uint8)).save(folder / "grey.png")
    out = tmp_path / "out"
    synthesize_dataset(
        out, images=folder, scenes=3, size=SONY_SIZE, seed=1, splits=(1, 0, 0), content="photos",
        progress=False,
    )
    for scene, path in long_exposures(out)[1]:
        with rawpy.imread(str(path)) as raw:
            developed = raw.postprocess(
                use_camera_wb=True, half_size=False, no_auto_bright=True, output_bps=16
            ).astype(np.float64)
            mosaic = raw.raw_image_visible.astype(np.float64) - 512
        # The RAW is not grey: its red and blue are the green over the illuminant's gains ...
        red, green, blue = (mosaic[0::2, 0::2].mean(), mosaic[0::2, 1::2].mean(),
                            mosaic[1::2, 1::2].mean())
        assert green / red == pytest.approx(scene["camera"]["red_gain"], rel=0.01)
        assert green / blue == pytest.approx(scene["camera"]["blue_gain"], rel=0.01)
        # ... and development makes it grey again: no colour cast.
        means = developed[4:-4, 4:-4].mean(axis=(0, 1))
        assert means.max() / means.min() - 1 < 0.005, means


def test_test_and_val_photos_never_appear_in_training(tmp_path):
    summary = synthesize_dataset(tmp_path, scenes=14, size=SONY_SIZE, progress=False)
    record = json.loads((tmp_path / "synth.json").read_text())["datasets"]["Sony"]
    used = {split: set() for split in ("train", "test", "val")}
    for scene in record["scenes"]:
        if scene["image"] is not None:
            used[scene["split"]].add(scene["image"])
        else:
            assert scene["split"] == "train"  # dead leaves only train ("mixed" content)
    assert used["test"] and used["val"] and used["train"]
    assert not used["train"] & (used["test"] | used["val"])
    assert not used["test"] & used["val"]
    listed = record["photo_splits"]
    assert all(used[split] <= set(listed[split]) for split in used)
    assert not set(listed["train"]) & (set(listed["test"]) | set(listed["val"]))
    assert sorted(listed["train"] + listed["test"] + listed["val"]) == sorted(DEFAULT_PHOTOS)
    assert summary["photo_splits"] == listed
    assert record["scene_sources"]["train"]["dead_leaves"] > 0
    line = split_summary(summary)
    assert "no test or val photo is used by a training scene" in line
    assert all(name in line for name in listed["test"])


def test_photo_assignment_is_deterministic_and_seed_free(tmp_path):
    photos = [f"/p/{name}" for name in DEFAULT_PHOTOS]
    a = assign_photos(photos, (0.7, 0.2, 0.1))
    assert a == assign_photos(list(reversed(photos)), (0.7, 0.2, 0.1))
    # A stereo pair shows one scene: both photos go to one split.
    assert sum("/p/motorcycle_left.png" in a[s] and "/p/motorcycle_right.png" in a[s]
               for s in a) == 1
    assert sorted(a["train"] + a["test"] + a["val"]) == sorted(photos)
    # The default photos hold natural scenes out first.
    a = assign_photos(photos, (0.7, 0.2, 0.1), held_out_first=DEFAULT_HELD_OUT)
    assert a["test"] == ["/p/coffee.png", "/p/rocket.jpg"] and a["val"] == ["/p/chelsea.png"]
    assert len(a["train"]) == 7
    assert assign_photos(photos, (1, 0, 0))["train"] == sorted(photos)
    assert assign_photos(photos, (0.7, 0.2, 0.1), "dead_leaves") == {
        "train": [], "test": [], "val": []
    }
    # Two seeds, same photos: the same held-out photos (datasets made apart still agree).
    record = {}
    for seed in (0, 1):
        out = tmp_path / f"s{seed}"
        synthesize_dataset(out, scenes=1, size=SONY_SIZE, seed=seed, progress=False)
        record[seed] = json.loads((out / "synth.json").read_text())["datasets"]["Sony"]
    assert record[0]["photo_splits"] == record[1]["photo_splits"]


def test_too_few_photos_to_keep_splits_apart(tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    Image.fromarray(smooth_photo(*SONY_SIZE)).save(folder / "only.png")
    with pytest.raises(ValueError, match=f"^{folder}: 1 photo.*cannot keep the splits apart"):
        synthesize_dataset(tmp_path / "out", images=folder, progress=False)
    # Training may go without photos in "mixed" content: it uses dead leaves then.
    summary = synthesize_dataset(
        tmp_path / "out", images=folder, splits=(1, 1, 0), scenes=2, size=SONY_SIZE,
        progress=False,
    )
    assert summary["photo_splits"] == {"train": [], "test": ["only.png"], "val": []}
    assert summary["scene_sources"]["train"] == {"photos": 0, "dead_leaves": 1}


def test_dead_leaves_content_needs_no_photos(tmp_path):
    summary = synthesize_dataset(
        tmp_path, images=tmp_path / "missing", content="dead_leaves", scenes=3, size=SONY_SIZE,
        splits=THIRDS, progress=False,
    )
    assert summary["photo_splits"] == {"train": [], "test": [], "val": []}
    record = json.loads((tmp_path / "synth.json").read_text())["datasets"]["Sony"]
    assert [s["content"] for s in record["scenes"]] == ["dead_leaves"] * 3
    with pytest.raises(ValueError, match="content"):
        synthesize_dataset(tmp_path / "x", content="leaves", progress=False)


def test_repeated_ratio_is_the_next_burst_of_that_exposure_time(tmp_path, photos):
    synthesize_dataset(
        tmp_path, images=photos, scenes=1, size=SONY_SIZE, ratios=(100, 250, 100), progress=False
    )
    names = sorted(os.listdir(tmp_path / "Sony" / "short"))
    assert names == ["00001_00_0.04s.dng", "00001_00_0.1s.dng", "00001_01_0.1s.dng"]
    first = read_pair_list(tmp_path / "Sony_train_list.txt", first_burst_only=True)
    assert sorted(p.ratio for p in first) == [100.0, 250.0]


def test_tukey_lambda_read_noise_option(tmp_path, photos):
    synthesize_dataset(
        tmp_path, images=photos, scenes=1, size=SONY_SIZE, read_noise="tukey", progress=False
    )
    record = json.loads((tmp_path / "synth.json").read_text())["datasets"]["Sony"]
    assert record["parameters"]["read_noise"] == "tukey"
    shapes = {s["noise"]["read_shape"] for s in record["scenes"][0]["short"]}
    assert shapes <= set(CAMERA_SPECS["sony"].noise.tukey_shapes)
    with pytest.raises(ValueError, match="read_noise"):
        synthesize_dataset(tmp_path / "x", images=photos, read_noise="laplace", progress=False)


def test_brooks_camera_draws_a_new_matrix_per_scene(tmp_path, photos):
    summary = synthesize_dataset(
        tmp_path, images=photos, camera="brooks", scenes=3, size=SONY_SIZE, splits=THIRDS,
        progress=False,
    )
    assert summary["camera"] == "Brooks" and summary["camera_name"] == "brooks"
    assert (tmp_path / "Brooks_train_list.txt").exists()
    record, scenes = long_exposures(tmp_path, "Brooks")
    matrices = {str(scene["camera"]["xyz_to_camera"]) for scene, _ in scenes}
    assert len(matrices) == 3
    frame = read_raw(scenes[0][1])
    assert frame.black_level.max() == 512 and pack(frame).shape == (32, 48, 4)


def test_training_scenes_draw_ratios_over_the_range_and_test_scenes_keep_sid_ratios(tmp_path):
    from lsid_keras.data.sid_list import read_pair_list

    summary = synthesize_dataset(tmp_path / "d", scenes=6, size=(64, 96), progress=False,
                                 random_ratios=3, ratio_range=(1, 300), noise_family="wide")
    record = json.load(open(tmp_path / "d" / "synth.json"))["datasets"]["Sony"]
    assert record["parameters"]["random_ratios"] == 3
    assert record["parameters"]["noise_family"] == "wide"
    for scene in record["scenes"]:
        ratios = [short["ratio"] for short in scene["short"]]
        assert ratios[:3] == [100, 250, 300]
        assert len(ratios) == (6 if scene["split"] == "train" else 3)
        assert all(1 <= r <= 300 for r in ratios)
        assert scene["sensor"]["calibration"]["name"] != "ELD CanonEOS700D"
    drawn = [s["ratio"] for sc in record["scenes"] if sc["split"] == "train"
             for s in sc["short"][3:]]
    assert min(drawn) < 30 and len(set(drawn)) == len(drawn)
    # The names carry each drawn ratio, as SID's do (within 0.1 %).
    pairs = read_pair_list(summary["lists"]["train"])
    listed = sorted(p.ratio for p in pairs)
    assert np.allclose(listed, sorted(r for sc in record["scenes"] if sc["split"] == "train"
                                      for r in (s["ratio"] for s in sc["short"])), rtol=1e-3)
    # Rerunning continues: nothing is written again, the same ratios come out.
    again = synthesize_dataset(tmp_path / "d", scenes=6, size=(64, 96), progress=False,
                               random_ratios=3, ratio_range=(1, 300), noise_family="wide")
    assert again["files_written"] == 0
    plain = synthesize_dataset(tmp_path / "p", scenes=2, size=(64, 96), progress=False)
    parameters = json.load(open(tmp_path / "p" / "synth.json"))["datasets"]["Sony"]["parameters"]
    assert "random_ratios" not in parameters and "noise_family" not in parameters
    assert plain["pairs"]["train"] == 3


def test_base_iso_share_shoots_drawn_exposures_below_the_calibrated_gains(tmp_path):
    """`base_iso_share` moves that share of the drawn exposures to base ISO (system gain under
    the sensor's calibrated range, down to 1/8 of it); the SID ratios and test scenes keep
    their draws, and every exposure but the base-ISO ones is the dataset's without the option,
    noise parameters and files alike."""
    options = dict(scenes=8, size=(64, 96), progress=False, random_ratios=3,
                   noise_family="wide", content="dead_leaves")
    synthesize_dataset(tmp_path / "b", base_iso_share=0.5, **options)
    synthesize_dataset(tmp_path / "p", **options)
    records = [json.load(open(tmp_path / d / "synth.json"))["datasets"]["Sony"]
               for d in ("b", "p")]
    assert records[0]["parameters"]["base_iso_share"] == 0.5
    assert "base_iso_share" not in records[1]["parameters"]
    moved = kept = 0
    for based, plain in zip(records[0]["scenes"], records[1]["scenes"], strict=True):
        low = based["sensor"]["calibration"]["system_gain_range"][0]
        for j, (a, b) in enumerate(zip(based["short"], plain["short"], strict=True)):
            assert a["ratio"] == b["ratio"]
            gain = a["noise"]["system_gain"]
            if a["noise"] == b["noise"]:
                kept += 1
                a_bytes = (tmp_path / "b" / a["path"]).read_bytes()
                assert a_bytes == (tmp_path / "p" / b["path"]).read_bytes()
                continue
            moved += 1
            assert based["split"] == "train" and j >= 3  # only drawn exposures move
            assert low / 8 <= gain <= low
            assert a["noise"]["read_sigma"] < b["noise"]["read_sigma"] * 10
    assert moved >= 3 and kept > moved


@pytest.mark.parametrize("extra, message", [
    ({"random_ratios": 2, "ratio_range": (0.5, 10)}, "1 <= low <= high <= 300"),
    ({"random_ratios": -1}, "random_ratios must be"),
    ({"noise_family": "wide", "read_noise": "tukey"}, "draws the read-noise model itself"),
    ({"noise_family": "loud"}, "noise_family must be one of"),
    ({"base_iso_share": 0.5}, "set random_ratios too"),
    ({"base_iso_share": 1.5, "random_ratios": 1}, "base_iso_share must be a number in"),
    ({"base_iso_share": True, "random_ratios": 1}, "base_iso_share must be a number in"),
    ({"base_iso_share": "half", "random_ratios": 1}, "base_iso_share must be a number in"),
])
def test_bad_ratio_range_or_noise_family_is_refused(tmp_path, extra, message):
    with pytest.raises(ValueError, match=message):
        synthesize_dataset(tmp_path / "d", scenes=1, size=(64, 96), progress=False, **extra)


def test_an_evaluation_photo_never_reaches_training_scenes(tmp_path, monkeypatch):
    """A photo whose content is one of an evaluation set (Set5, Set14, Urban100), renamed or
    not, is refused while training scenes are made, and allowed in a test-only set."""
    from lsid_keras.data import photo_sets

    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for name in ("a.png", "renamed.png"):
        Image.fromarray((rng.random((64, 96, 3)) * 255).astype(np.uint8)).save(folder / name)
    reserved = folder / "renamed.png"
    digest = photo_sets.file_sha256(reserved)
    fake = photo_sets.PhotoSet(
        name="set5", description="", purpose="evaluation", repository="https://github.com/x/y",
        commit="0" * 40, licence="", image_size="",
        files=(photo_sets.PhotoFile("set5_woman.png", "https://example/x", digest,
                                    reserved.stat().st_size, "CSet5/woman.png"),))
    monkeypatch.setattr(photo_sets, "PHOTO_SETS", {"set5": fake})
    with pytest.raises(ValueError, match=r"1 photo\(s\) reserved for evaluation \(renamed.png"):
        synthesize_dataset(tmp_path / "d", images=folder, scenes=2, size=(64, 96),
                           progress=False, splits=(0.5, 0.5, 0), content="photos")
    assert not (tmp_path / "d").exists()
    summary = synthesize_dataset(tmp_path / "t", images=folder, scenes=2, size=(64, 96),
                                 progress=False, splits=(0, 1, 0), content="photos")
    assert summary["pairs"]["test"] == 6
