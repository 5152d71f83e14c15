"""The tf.data pipeline over the cache: random aligned crops, flips/transpose, batches."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from lsid_keras.geometry import SIZE_MULTIPLE, block_size

#: GIA-Net's variable crops: (32 * b) packed pixels a side with b uniform in [16, 32].
GIA_CROP_STEP = 32
GIA_CROP_RANGE = (16, 32)
DEFAULT_CROP = 512
#: `make_dataset(low_ratio_share=...)`: short exposures amplified at most this much count as
#: low-ratio ones (x1 to x20: input with detail worth keeping).
LOW_RATIO = 20.0


def _block_size(cfa_kind):
    return block_size(cfa_kind)


def _cached_shape(path):
    """The shape of a cached `.npy` file, read from its header; CacheError if unreadable."""
    try:
        return np.load(path, mmap_mode="r").shape
    except (OSError, ValueError) as error:
        from lsid_keras.data.cache import CacheError

        raise CacheError(f"{path}: unreadable cache file ({error}); run `lsid prepare` again "
                         "to decode its source anew") from None


#: What one epoch visits: every training scene once ("scenes", the SID reference and both
#: papers), or every short/long pair once ("pairs").
EPOCH_UNITS = ("scenes", "pairs")


def epoch_groups(pairs, epoch_unit="scenes"):
    """The sampling groups of an epoch: lists of indices into `pairs`, one group per step item.

    "scenes": one group per scene holding the scene's first-burst (`_00`) pairs, as SID's
    `train_Sony.py` draws one random `_00` short exposure per scene per epoch (a scene without
    a `_00` pair uses all of its pairs); "pairs": one group per pair.

    Args:
        pairs: `CachedPair`s (with `scene` and `burst`).
        epoch_unit: "scenes" or "pairs".

    Returns:
        list of lists of int, in order of first appearance.
    """
    if epoch_unit not in EPOCH_UNITS:
        raise ValueError(f"epoch_unit must be one of {EPOCH_UNITS}. Received: {epoch_unit!r}")
    if epoch_unit == "pairs":
        return [[i] for i in range(len(pairs))]
    scenes = {}
    for i, pair in enumerate(pairs):
        scenes.setdefault(pair.scene, []).append(i)
    groups = []
    for members in scenes.values():
        first_burst = [i for i in members if pairs[i].burst == 0]
        groups.append(first_burst or members)
    return groups


class _CropReader:
    """Reads aligned crops from memory-mapped cache files (opened once per file).

    Called with a batch of group indices (see `epoch_groups`) and a seed; draws one pair per
    group, then the crop size (per batch), positions and augmentation.
    """

    def __init__(self, pairs, crop_size, augment, groups=None, low_ratio_share=None):
        self.pairs = pairs
        self.groups = groups if groups is not None else [[i] for i in range(len(pairs))]
        self.low_ratio_share = low_ratio_share
        # Per group: its members at ratios up to LOW_RATIO and the others, when it has both.
        self.split = [
            ([i for i in members if pairs[i].ratio <= LOW_RATIO],
             [i for i in members if pairs[i].ratio > LOW_RATIO])
            for members in self.groups
        ]
        self.crop_size = crop_size
        self.augment = augment
        self._maps = {}
        self.blocks = [_block_size(p.cfa_kind) for p in pairs]

    def _map(self, path):
        array = self._maps.get(path)
        if array is None:
            array = self._maps[path] = np.load(path, mmap_mode="r")
        return array

    def _size(self, rng):
        if self.crop_size == "gia":
            return GIA_CROP_STEP * int(rng.integers(GIA_CROP_RANGE[0], GIA_CROP_RANGE[1] + 1))
        return self.crop_size

    def __call__(self, group_indices, seed):
        rng = np.random.default_rng(int(seed) & 0xFFFFFFFFFFFFFFFF)
        indices = []
        for g in group_indices:
            members = self.groups[int(g)]
            low, high = self.split[int(g)]
            if self.low_ratio_share is not None and low and high:
                members = low if rng.random() < self.low_ratio_share else high
            indices.append(members[int(rng.integers(len(members)))] if len(members) > 1
                           else members[0])
        pairs = [self.pairs[i] for i in indices]
        inputs = [self._map(p.input_file) for p in pairs]
        size = self._size(rng)
        xs, ys = [], []
        for index, pair, packed in zip(indices, pairs, inputs, strict=True):
            block = self.blocks[int(index)]
            target = self._map(pair.target_file)
            top = int(rng.integers(0, packed.shape[0] - size + 1))
            left = int(rng.integers(0, packed.shape[1] - size + 1))
            x = np.asarray(packed[top : top + size, left : left + size], dtype=np.float32)
            y = target[top * block : (top + size) * block, left * block : (left + size) * block]
            x = np.minimum(x * np.float32(pair.ratio), np.float32(1.0))
            y = np.asarray(y, dtype=np.float32) / np.float32(65535.0)
            if self.augment:
                # The reference flips H, W and transposes packed and target alike, p = 0.5 each.
                if rng.random() < 0.5:
                    x, y = x[::-1], y[::-1]
                if rng.random() < 0.5:
                    x, y = x[:, ::-1], y[:, ::-1]
                if rng.random() < 0.5:
                    x, y = x.transpose(1, 0, 2), y.transpose(1, 0, 2)
            xs.append(x)
            ys.append(y)
        return np.stack(xs), np.stack(ys)


def make_dataset(
    pairs,
    crop_size=DEFAULT_CROP,
    batch_size=1,
    shuffle=True,
    augment=True,
    seed=None,
    num_shards=1,
    shard_index=0,
    num_parallel_calls=tf.data.AUTOTUNE,
    repeat=False,
    epoch_unit="scenes",
    low_ratio_share=None,
):
    """A `tf.data.Dataset` of `(amplified input crop, ground-truth crop)` batches for `fit`.

    Each epoch visits every training scene once with one random first-burst (`_00`) short
    exposure of it, in shuffled order, as SID's reference code and both papers count epochs
    (`epoch_unit="scenes"`); `epoch_unit="pairs"` visits every pair once instead. Inputs
    are `min(packed * ratio, 1)`, float32 `(batch, s, s, C)` in [0, 1]; targets float32
    `(batch, s * b, s * b, 3)` in [0, 1] (b = 2 Bayer, 3 X-Trans), cut at the matching place.

    Args:
        pairs: `CachedPair`s from `load_manifest` (one camera family).
        crop_size: int, crop side in packed pixels (multiple of 16; 512 in the papers), or
            "gia" for GIA-Net's variable crops: 32 * b with b uniform in [16, 32], drawn per
            batch. A crop larger than the smallest cached frame is an error (it is never
            shrunk behind the recipe's back); "gia" needs frames of 1024 packed pixels a side.
        batch_size: int >= 1 (the papers use 1); the last incomplete batch is dropped.
        shuffle: shuffle the pairs every epoch.
        augment: random flips of H and W and a transpose, p = 0.5 each.
        seed: int or None; an int makes crops, order and augmentation reproducible.
        num_shards, shard_index: keep every `num_shards`-th scene (or pair) starting at
            `shard_index` (multi-worker training; the last `groups % num_shards` are left out
            so every shard has as many steps); auto-sharding is then turned off.
        num_parallel_calls: parallel crop readers (default: tf.data autotune).
        repeat: repeat forever (use with `steps_per_epoch`).
        epoch_unit: "scenes" (default) or "pairs", see `epoch_groups`; an epoch has
            `len(epoch_groups(pairs, epoch_unit)) // batch_size` steps (one worker).
        low_ratio_share: None (default: each of a scene's short exposures alike) or the
            probability, in [0, 1], that a scene's draw comes from its short exposures at
            ratios up to `LOW_RATIO` (uniform among them; the rest among the others), for
            scenes that have both kinds. Not in the papers (docs/training.md says what it
            did to the shipped model's fine-tuning).
    """
    if low_ratio_share is not None and not 0.0 <= low_ratio_share <= 1.0:
        raise ValueError(f"low_ratio_share must be in [0, 1] or None. Received: "
                         f"low_ratio_share={low_ratio_share}")
    if not pairs:
        raise ValueError("no pairs to read: the cache or list is empty")
    kinds = {p.cfa_kind for p in pairs}
    if len(kinds) > 1:
        raise ValueError(f"pairs mix CFA kinds {sorted(kinds)}; train one camera family at once")
    if crop_size != "gia" and (
        not isinstance(crop_size, int) or crop_size < SIZE_MULTIPLE or crop_size % SIZE_MULTIPLE
    ):
        raise ValueError(
            f"crop_size must be 'gia' or a multiple of {SIZE_MULTIPLE}. Received: "
            f"crop_size={crop_size!r}"
        )
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1. Received: batch_size={batch_size}")
    if not 0 <= shard_index < num_shards:
        raise ValueError(
            f"shard_index must be in [0, num_shards). Received: shard_index={shard_index}, "
            f"num_shards={num_shards}"
        )
    shapes = [_cached_shape(p.input_file) for p in pairs]
    for p in pairs:
        _cached_shape(p.target_file)
    channels = shapes[0][-1]
    block = _block_size(pairs[0].cfa_kind)
    # A fixed crop gets a static shape: the model and the MS-SSIM loss then trace once for it
    # instead of for unknown sizes.
    smallest = min(range(len(pairs)), key=lambda i: min(shapes[i][:2]))
    largest_crop = GIA_CROP_STEP * GIA_CROP_RANGE[1] if crop_size == "gia" else crop_size
    if largest_crop > min(shapes[smallest][:2]):
        height, width = shapes[smallest][:2]
        fitting = min(height, width) // SIZE_MULTIPLE * SIZE_MULTIPLE
        raise ValueError(
            f"crop_size {crop_size!r} needs frames of at least {largest_crop} packed pixels a "
            f"side, but {pairs[smallest].input_file} is {height}x{width}; use a crop_size of "
            f"at most {fitting}"
        )
    side = None if crop_size == "gia" else crop_size
    groups = epoch_groups(pairs, epoch_unit)
    reader = _CropReader(list(pairs), crop_size, augment, groups, low_ratio_share)

    # Every shard gets the same number of groups: synchronous workers that ran out of data at
    # different steps would wait for each other forever.
    usable = len(groups) // num_shards * num_shards
    if usable // num_shards < batch_size:
        raise ValueError(
            f"{len(groups)} {epoch_unit} cannot fill one batch of {batch_size} per shard "
            f"({num_shards} shards); lower batch_size or use epoch_unit='pairs' "
            f"({len(pairs)} pairs)"
        )
    indices = tf.data.Dataset.range(usable)
    if num_shards > 1:
        indices = indices.shard(num_shards, shard_index)
    if shuffle:
        indices = indices.shuffle(usable, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        indices = indices.repeat()
    indices = indices.batch(batch_size, drop_remainder=True)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    dataset = tf.data.Dataset.zip((indices, seeds))

    def read(batch_indices, batch_seed):
        x, y = tf.numpy_function(reader, [batch_indices, batch_seed], (tf.float32, tf.float32))
        x.set_shape((batch_size, side, side, channels))
        y.set_shape((batch_size, side and side * block, side and side * block, 3))
        return x, y

    dataset = dataset.map(read, num_parallel_calls=num_parallel_calls, deterministic=True)
    options = tf.data.Options()
    if num_shards > 1:
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)
