import json

import numpy as np
import pytest
from sid_fixtures import write_sid_dataset

from lsid_keras.data.cache import load_manifest, prepare_cache
from lsid_keras.data.pipeline import _CropReader, make_dataset
from lsid_keras.data.sid_list import read_pair_list


def _coded_cache(directory, n=4, size=(48, 64), block=2, cfa_kind="bayer", ratio=1.0):
    """A hand-made cache whose targets are a known function of the inputs.

    Input pixel (r, c) of pair k holds (r, c, k, 0.5) / 1024; target pixel (R, C) holds the input
    code of packed pixel (R // block, C // block) in its first three channels.
    """
    (directory / "inputs").mkdir(parents=True)
    (directory / "targets").mkdir()
    entries = []
    for k in range(n):
        rows, cols = np.mgrid[: size[0], : size[1]]
        packed = np.stack([rows, cols, np.full_like(rows, k), np.full_like(rows, 512)], -1) / 1024
        target = np.repeat(np.repeat(packed[..., :3], block, 0), block, 1) * 65535
        np.save(directory / f"inputs/{k}.npy", packed.astype(np.float16))
        np.save(directory / f"targets/{k}.npy", np.rint(target).astype(np.uint16))
        entries.append(
            {
                "input": f"inputs/{k}.npy",
                "target": f"targets/{k}.npy",
                "input_shape": list(packed.shape),
                "target_shape": list(target.shape),
                "cfa_kind": cfa_kind,
                "ratio": ratio,
                "scene": k,
                "burst": 0,
                "short_path": f"/nowhere/{k}.dng",
                "long_path": f"/nowhere/{k}L.dng",
                "short_signature": [0, 0],
                "long_signature": [0, 0],
            }
        )
    (directory / "manifest.json").write_text(json.dumps({"version": 1, "pairs": entries}))
    return load_manifest(directory)


def _assert_aligned(x, y, block=2):
    for xb, yb in zip(x, y, strict=True):
        expected = np.repeat(np.repeat(xb[..., :3], block, 0), block, 1)
        np.testing.assert_allclose(yb, expected, atol=1e-4)


def test_crops_keep_input_and_target_aligned_under_augmentation(tmp_path):
    pairs = _coded_cache(tmp_path)
    dataset = make_dataset(pairs, crop_size=32, batch_size=2, seed=3)
    flips = set()
    for _ in range(5):
        for x, y in dataset:
            x, y = x.numpy(), y.numpy()
            assert x.shape == (2, 32, 32, 4) and y.shape == (2, 64, 64, 3)
            _assert_aligned(x, y)
            # which way the rows and columns run tells the augmentation applied
            flips.add((bool(x[0, 1, 0, 0] < x[0, 0, 0, 0]) or bool(x[0, 0, 1, 0] < x[0, 0, 0, 0]),
                       bool(x[0, 0, 1, 0] != x[0, 0, 0, 0])))
    assert len(flips) > 1


def test_xtrans_crops_scale_targets_by_three(tmp_path):
    pairs = _coded_cache(tmp_path, block=3, cfa_kind="xtrans", size=(32, 48))
    x, y = next(iter(make_dataset(pairs, crop_size=16, seed=0)))
    assert y.shape == (1, 48, 48, 3)
    _assert_aligned(x.numpy(), y.numpy(), block=3)


def test_inputs_are_amplified_and_clipped(tmp_path):
    pairs = _coded_cache(tmp_path, ratio=300.0)
    x, _ = next(iter(make_dataset(pairs, crop_size=16, augment=False, seed=0)))
    assert x.numpy()[..., 3].max() == 1.0  # 0.5 * 300 clipped
    assert np.all(x.numpy() <= 1.0)


def test_epochs_visit_every_pair_once_and_seed_reproduces(tmp_path):
    pairs = _coded_cache(tmp_path, n=5)
    dataset = make_dataset(pairs, crop_size=16, seed=7)

    def epoch(ds):
        return [int(round(float(x[0, 0, 0, 2]) * 1024)) for x, _ in ds]

    first, second = epoch(dataset), epoch(dataset)
    assert sorted(first) == sorted(second) == list(range(5))
    assert first != second or epoch(dataset) != first  # reshuffled each epoch

    def crops(ds):
        return [x.numpy().tobytes() for x, _ in ds]

    one, two = make_dataset(pairs, crop_size=16, seed=7), make_dataset(pairs, crop_size=16, seed=7)
    assert crops(one) == crops(two) and crops(one) == crops(two)  # epochs 1 and 2 both repeat
    other = make_dataset(pairs, crop_size=16, seed=8)
    assert crops(other) != crops(make_dataset(pairs, crop_size=16, seed=7))


def test_shards_partition_the_pairs(tmp_path):
    pairs = _coded_cache(tmp_path, n=6)
    seen = []
    for index in range(3):
        dataset = make_dataset(pairs, crop_size=16, num_shards=3, shard_index=index, seed=1)
        seen.append(sorted(int(round(float(x[0, 0, 0, 2]) * 1024)) for x, _ in dataset))
    assert sorted(sum(seen, [])) == list(range(6)) and all(len(s) == 2 for s in seen)


def test_gia_crop_sizes_are_multiples_of_32_in_range():
    reader = _CropReader([], "gia", augment=False)
    rng = np.random.default_rng(0)
    sizes = {reader._size(rng) for _ in range(400)}
    assert sizes == {32 * b for b in range(16, 33)}


@pytest.mark.parametrize("crop_size", [64, "gia"])
def test_a_crop_larger_than_a_frame_is_an_error_not_a_smaller_crop(tmp_path, crop_size):
    pairs = _coded_cache(tmp_path, n=2)
    with pytest.raises(ValueError, match="at most 48"):
        make_dataset(pairs, crop_size=crop_size)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"crop_size": 100}, "multiple of 16"),
        ({"batch_size": 0}, "batch_size"),
        ({"num_shards": 2, "shard_index": 2}, "shard_index"),
    ],
)
def test_bad_arguments_are_refused(tmp_path, kwargs, message):
    pairs = _coded_cache(tmp_path, n=2)
    with pytest.raises(ValueError, match=message):
        make_dataset(pairs, **kwargs)


def test_model_fits_from_a_real_cache(tmp_path):
    from lsid_keras.models import get_model

    pairs = read_pair_list(write_sid_dataset(tmp_path / "sid", scenes=1))
    prepare_cache(pairs, tmp_path / "cache", workers=1, progress=False)
    dataset = make_dataset(load_manifest(tmp_path / "cache"), crop_size=16, seed=0)
    model = get_model("sid", width=2)
    model.compile("adam", "mae", jit_compile=False)
    history = model.fit(dataset, epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])


def _sid_like_pairs(tmp_path, scenes=3, bursts=2, exposures=2):
    """A coded cache whose pairs form SID-like scenes: `exposures` short exposure times, each
    with `bursts` bursts (`_00`, `_01`, ...), per scene."""
    pairs = _coded_cache(tmp_path, n=scenes * bursts * exposures)
    import dataclasses

    return [dataclasses.replace(p, scene=k // (bursts * exposures), burst=k % bursts)
            for k, p in enumerate(pairs)]


def test_a_scene_epoch_has_one_step_per_scene_drawn_from_its_first_bursts(tmp_path):
    from lsid_keras.data.pipeline import epoch_groups

    pairs = _sid_like_pairs(tmp_path)
    groups = epoch_groups(pairs)
    assert len(groups) == 3 and all(len(g) == 2 for g in groups)
    assert all(pairs[i].burst == 0 for g in groups for i in g)
    assert len(epoch_groups(pairs, "pairs")) == 12
    dataset = make_dataset(pairs, crop_size=16, augment=False, seed=0)
    assert sum(1 for _ in dataset) == 3  # one step per scene
    seen = set()
    for _ in range(20):  # every epoch redraws which _00 exposure stands for a scene
        for x, _ in dataset:
            k = int(round(float(x[0, 0, 0, 2]) * 1024))
            assert pairs[k].burst == 0
            seen.add(k)
    assert seen == {i for g in groups for i in g}
    assert sum(1 for _ in make_dataset(pairs, crop_size=16, epoch_unit="pairs")) == 12


def test_low_ratio_share_draws_that_share_of_a_scenes_exposures_at_low_ratios(tmp_path):
    """Scenes with short exposures at x2 and x200: `low_ratio_share` sets how often the x2 one
    is drawn (the papers' uniform draw when None); a scene with only one kind is unaffected."""
    import dataclasses

    from lsid_keras.data.pipeline import LOW_RATIO, epoch_groups

    pairs = _coded_cache(tmp_path, n=40)
    # Scenes of 4 exposures: 1 at x2, 3 at x200; the last scene has only x200.
    pairs = [dataclasses.replace(p, scene=k // 4, ratio=2.0 if k % 4 == 0 and k < 36 else 200.0)
             for k, p in enumerate(pairs)]
    assert 2.0 <= LOW_RATIO < 200.0
    groups = epoch_groups(pairs)

    def low_fraction(share):
        reader = _CropReader(pairs, 16, False, groups, share)
        low = total = 0
        for seed in range(200):
            x, _ = reader(np.arange(9), seed)  # the nine mixed scenes
            # Channel 2 holds k / 1024 times the ratio: below 0.07 at x2 (k <= 32), at least
            # 0.19 at x200 (k >= 1).
            low += int(np.sum(x[:, 0, 0, 2] < 0.1))
            total += len(x)
        return low / total

    assert low_fraction(None) == pytest.approx(0.25, abs=0.04)
    assert low_fraction(0.5) == pytest.approx(0.5, abs=0.04)
    assert low_fraction(1.0) == 1.0 and low_fraction(0.0) == 0.0
    only_high = _CropReader(pairs, 16, False, groups, 1.0)
    for seed in range(5):
        x, _ = only_high(np.array([9]), seed)
        assert x[0, 0, 0, 2] > 0.1
    with pytest.raises(ValueError, match="low_ratio_share"):
        make_dataset(pairs, crop_size=16, low_ratio_share=1.5)
