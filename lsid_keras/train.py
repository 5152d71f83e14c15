"""Training with `Model.fit` on the cached SID pairs, with each paper's recipe.

`TrainConfig` holds every setting; its fields are exactly the keyword arguments of `train`, the
keys of a config file and the `lsid train` options, so one name means one thing everywhere.

Recipes (Adam, batch 1, lr 1e-4 then 1e-5 from half the epochs, 4000 epochs; an epoch visits
each training scene once with one random `_00` short exposure, as SID's `train_Sony.py` and both
papers count it: 161 steps on SID Sony, not the 1,865 pairs, unless `epoch_unit="pairs"`):
- `sid`: l1 loss, 512 crops (Chen et al.);
- `zamir`: multi-criterion loss (l1 + MS-SSIM + VGG-16 features), 512 crops (Zamir et al.);
  `finetune_contrast` then fine-tunes a trained model for 100 epochs at 1e-5 on ground truth
  passed through the contrast improvement;
- `gia_net`: joint loss (l1 + MS-SSIM, gamma 0.84), variable crops 32 * [16, 32] (Meng et al.);
- the GIA-Net ablations (`se_unet`, `sid_dilated`, `sw_net`, `sid_2conv`): l1, 512 crops.

A run writes to `out/`: `model.keras` (after every epoch, atomically), `backup/` (resume state),
`training_log.csv`, `logs/` (TensorBoard scalars and brightened input / output / ground-truth
images) and `config.json` (the resolved settings).

Rerunning is safe, whatever stopped the run:
- after a crash, a kill or a `max_minutes` stop, the same command continues at the next epoch
  (the time budget is a pause, not an end: an epoch it cuts short is not counted and is run
  again; the budget also stops early, at an epoch's end, when the next epoch would not fit, and
  never cuts a training's first epoch, so every run leaves a model);
- after the last epoch, the same command says so and returns without touching the model;
- other settings on the same `out` folder are refused (naming the settings that differ)
  unless `overwrite` is set, which clears the old run first. Only `RUNTIME_SETTINGS` may change
  between the runs of one model;
- on a new machine, where `out` is gone, `resume_from` names a resume state saved with
  `save_resume_state` (weights, optimiser state, epoch, settings and log; the project commits
  its shipped model's): the run continues from it instead of starting over.
Nothing is created in `out` until the settings, the cache and the model have been checked.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
from dataclasses import dataclass, field

from lsid_keras.atomic import write_json_atomic
from lsid_keras.errors import LsidError
from lsid_keras.models import CAMERAS, PRESETS

#: Per preset: (loss, crop size) of its paper.
RECIPES = {
    "sid": ("l1", 512),
    "zamir": ("multi_criterion", 512),
    "gia_net": ("joint", "gia"),
}
DEFAULT_RECIPE = ("l1", 512)
LOSSES = ("l1", "joint", "multi_criterion")
MIXED_PRECISION = (None, "bfloat16", "float16")
#: `TrainConfig.mixed_precision` value resolved to one of `MIXED_PRECISION` on this machine.
AUTO_MIXED_PRECISION = "auto"
#: Values of `TrainConfig.epoch_unit` (as `lsid_keras.data.pipeline.EPOCH_UNITS`, which imports
#: TensorFlow).
EPOCH_UNITS = ("scenes", "pairs")
PAPER_EPOCHS = 4000
FINETUNE_EPOCHS = 100
#: Settings that may differ between the runs that continue one training (they change how it
#: is run or shown, not what is trained); any other difference is another training.
RUNTIME_SETTINGS = ("out", "max_minutes", "verbose", "image_every", "jit_compile", "overwrite",
                    "resume_from")
#: Settings holding file paths, stored absolute so a rerun from another folder compares equal.
_PATH_SETTINGS = ("cache", "init_model", "resume_from")
#: The files of a resume state (`save_resume_state`): Keras' BackupAndRestore weights (model
#: and optimiser variables) and epoch, the run's settings and its per-epoch log.
RESUME_FILES = ("latest.weights.h5", "training_metadata.json", "config.json",
                "training_log.csv")


class TrainingDiverged(LsidError, RuntimeError):
    """The loss became NaN or infinite; training stopped."""


@dataclass
class TrainConfig:
    """Every setting of a training run (file keys and CLI options use the same names).

    Attributes:
        cache: training cache folder written by `lsid prepare` (required).
        out: run folder for the model, resume state and logs (created).
        model: preset name (see `lsid models`).
        camera: "sony" (Bayer) or "fuji" (X-Trans); must match the cache.
        width: channels of the first U-Net level, >= 1 (32 in the papers).
        loss: "l1", "joint" or "multi_criterion"; None takes the preset's recipe.
        epochs: passes over the pairs, >= 1; None: 4000, or 100 with `finetune_contrast`.
        learning_rate: Adam step size before the drop, > 0; None: 1e-4 (1e-5 when
            fine-tuning).
        lr_drop_epoch: epoch (0-based) from which `lr_after_drop` applies; None: half of
            `epochs`.
        lr_after_drop: Adam step size after the drop, > 0.
        batch_size: crops per step and worker, >= 1 (1 in the papers).
        crop_size: crop side in packed pixels (a multiple of 16), or "gia" (32 * [16, 32] per
            batch); None takes the recipe.
        steps_per_epoch: steps per epoch, >= 1; None: one pass (see `epoch_unit`).
        epoch_unit: what an epoch visits: "scenes" (each training scene once, with one random
            `_00` short exposure: SID's reference code and both papers) or "pairs" (every
            short/long pair once; 11.6x more steps on SID Sony).
        low_ratio_share: None (each short exposure of a scene alike, as the papers) or the
            share, in [0, 1], of draws taken from a scene's exposures at ratios up to 20
            (`lsid_keras.data.pipeline.LOW_RATIO`); see `make_dataset`.
        seed: int for reproducible crops, order and initialisation; None: random.
        mixed_precision: None, "bfloat16" (CPUs with native bfloat16: AVX512_BF16 or AMX;
            TPUs), "float16" (GPUs) or "auto": float16 when a GPU is visible, bfloat16 on a
            CPU with native bfloat16, else None (`lsid_keras.precision.choose_mixed_precision`;
            resolved before the run, so `config.json` records what ran).
        strategy: "default", "mirrored" (all local GPUs) or "multi_worker" (TF_CONFIG).
        gamma: JointLoss weight, in [0, 1] (0.84), of the term `gamma_on` names.
        gamma_on: "l1" (GIA-Net's text: gamma * l1 + (1 - gamma) * (1 - MS-SSIM)) or "ms_ssim"
            (Zhao et al., whom GIA-Net cites for 0.84: gamma on the MS-SSIM term).
        detail_weight: weight of a gradient-l1 term added to the "joint" loss, >= 0 (0: the
            paper's loss; see docs/training.md for what it did to the shipped model).
        alpha, beta: MultiCriterionLoss weights, in [0, 1] (0.9, 0.99).
        vgg_weights: "imagenet", a local VGG-16 weights file (.h5), or None (random; tests
            only).
        vgg_layer: VGG-16 layer of the feature loss (block2_conv2).
        init_model: `.keras` file to start from (required by `finetune_contrast`).
        finetune_contrast: train on contrast-improved ground truth (Zamir et al. Sec. 5).
        image_every: write TensorBoard images every this many epochs, >= 0 (0: never).
        max_minutes: wall-time budget of this invocation in minutes, > 0 (None: no limit); a
            rerun continues the training.
        jit_compile: XLA-compile the train step (helps on GPUs; slow to compile on CPU).
        verbose: progress output: Keras' "auto", 0, 1 or 2, or "budget" (one bar over the
            `max_minutes` budget, for open-ended epoch counts).
        overwrite: discard a previous run in `out` made with other settings (or finished) and
            start again; without it such a run is refused.
        resume_from: a resume state folder (`save_resume_state`) to continue from when `out`
            holds no run yet (e.g. on a new machine); its settings must equal these but for
            file paths and runtime settings. Ignored when `out` holds a run.
    """

    cache: str = ""
    out: str = "runs/train"
    model: str = "gia_net"
    camera: str = "sony"
    width: int = 32
    loss: str | None = None
    epochs: int | None = None
    learning_rate: float | None = None
    lr_drop_epoch: int | None = None
    lr_after_drop: float = 1e-5
    batch_size: int = 1
    crop_size: int | str | None = None
    steps_per_epoch: int | None = None
    epoch_unit: str = "scenes"
    low_ratio_share: float | None = None
    seed: int | None = None
    mixed_precision: str | None = None
    strategy: str = "default"
    gamma: float = 0.84
    gamma_on: str = "l1"
    detail_weight: float = 0.0
    alpha: float = 0.9
    beta: float = 0.99
    vgg_weights: str | None = "imagenet"
    vgg_layer: str = "block2_conv2"
    init_model: str | None = None
    finetune_contrast: bool = False
    image_every: int = 10
    max_minutes: float | None = None
    jit_compile: bool = False
    verbose: int | str = "auto"
    overwrite: bool = False
    resume_from: str | None = None
    _resolved: bool = field(default=False, repr=False)

    def resolved(self):
        """A copy with every None default replaced by its recipe value, validated."""
        if self._resolved:
            return self
        c = dataclasses.replace(self)
        _check_types(c)
        for name in _PATH_SETTINGS:
            if getattr(c, name):
                setattr(c, name, os.path.abspath(getattr(c, name)))
        if c.model not in PRESETS:
            raise ValueError(f"unknown model {c.model!r}; choose one of {sorted(PRESETS)}")
        if c.camera not in CAMERAS:
            raise ValueError(f"unknown camera {c.camera!r}; choose one of {sorted(CAMERAS)}")
        loss, crop = RECIPES.get(c.model, DEFAULT_RECIPE)
        c.loss = c.loss or loss
        c.crop_size = crop if c.crop_size is None else c.crop_size
        if c.loss not in LOSSES:
            raise ValueError(f"unknown loss {c.loss!r}; choose one of {LOSSES}")
        if c.finetune_contrast and not c.init_model:
            raise ValueError("finetune_contrast needs init_model: the trained model to fine-tune")
        if c.epochs is None:
            c.epochs = FINETUNE_EPOCHS if c.finetune_contrast else PAPER_EPOCHS
        if c.learning_rate is None:
            c.learning_rate = c.lr_after_drop if c.finetune_contrast else 1e-4
        if c.lr_drop_epoch is None:
            c.lr_drop_epoch = c.epochs if c.finetune_contrast else c.epochs // 2
        if c.mixed_precision == AUTO_MIXED_PRECISION:
            from lsid_keras.precision import choose_mixed_precision

            c.mixed_precision = choose_mixed_precision()[0]
        if c.mixed_precision not in MIXED_PRECISION:
            raise ValueError(
                f"mixed_precision must be one of {(*MIXED_PRECISION, AUTO_MIXED_PRECISION)}. "
                f"Received: {c.mixed_precision!r}"
            )
        if c.gamma_on not in ("l1", "ms_ssim"):
            raise ValueError(f"gamma_on must be 'l1' or 'ms_ssim'. Received: {c.gamma_on!r}")
        if c.epoch_unit not in EPOCH_UNITS:
            raise ValueError(
                f"epoch_unit must be one of {EPOCH_UNITS}. Received: {c.epoch_unit!r}"
            )
        if c.verbose not in ("auto", 0, 1, 2, "budget"):
            raise ValueError(
                f"verbose must be 'auto', 0, 1, 2 or 'budget'. Received: {c.verbose!r}"
            )
        if c.verbose == "budget" and c.max_minutes is None:
            raise ValueError("verbose='budget' needs max_minutes")
        if not c.cache:
            raise ValueError("cache is required: the folder written by `lsid prepare`")
        for name in ("epochs", "batch_size", "width", "steps_per_epoch"):
            value = getattr(c, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1. Received: {name}={value}")
        for name in ("learning_rate", "lr_after_drop", "max_minutes"):
            value = getattr(c, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a number > 0. Received: {name}={value}")
        if c.low_ratio_share is not None and not 0 <= c.low_ratio_share <= 1:
            raise ValueError(f"low_ratio_share must be in [0, 1]. Received: "
                             f"low_ratio_share={c.low_ratio_share}")
        for name in ("gamma", "alpha", "beta"):
            if not 0 <= getattr(c, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1]. Received: {name}={getattr(c, name)}")
        if not c.detail_weight >= 0:
            raise ValueError(
                f"detail_weight must be >= 0. Received: detail_weight={c.detail_weight}"
            )
        if c.detail_weight > 0 and c.loss != "joint":
            raise ValueError(f"detail_weight applies to the 'joint' loss only. Received: "
                             f"loss={c.loss!r}, detail_weight={c.detail_weight}")
        if c.image_every < 0 or c.lr_drop_epoch < 0:
            raise ValueError("image_every and lr_drop_epoch must be >= 0")
        c._resolved = True
        return c

    def to_dict(self):
        """The settings as a plain dict (the config-file form)."""
        return {f.name: getattr(self, f.name) for f in config_fields()}


def config_fields():
    """The public fields of `TrainConfig`, in order."""
    return [f for f in dataclasses.fields(TrainConfig) if not f.name.startswith("_")]


_TYPE_NAMES = {"int": int, "float": float, "str": str, "bool": bool, "None": type(None)}


def _check_types(config):
    """Raises ValueError naming the setting whose value has the wrong type (e.g. a learning
    rate of "abc" from a config file or the command line)."""
    for f in config_fields():
        value = getattr(config, f.name)
        allowed = [_TYPE_NAMES[name.strip()] for name in str(f.type).split("|")]
        if float in allowed and isinstance(value, int) and not isinstance(value, bool):
            continue  # 1 is a fine float
        if isinstance(value, bool) and bool not in allowed:
            ok = False
        else:
            ok = any(isinstance(value, kind) for kind in allowed)
        if not ok:
            expected = " or ".join(
                "none" if kind is type(None) else kind.__name__ for kind in allowed
            )
            raise ValueError(f"{f.name} must be {expected}. Received: {f.name}={value!r}")


def load_config(path):
    """Reads a TOML or JSON config file into a dict, refusing keys `TrainConfig` lacks."""
    with open(path, "rb") as file:
        if str(path).endswith(".toml"):
            import tomllib

            data = tomllib.load(file)
        else:
            data = json.loads(file.read().decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a config file holds one table of settings")
    known = {f.name for f in config_fields()}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(
            f"{path}: unknown config key(s) {', '.join(unknown)}; valid keys: "
            f"{', '.join(sorted(known))}"
        )
    return data


def build_loss(config):
    """The Keras loss of a resolved config."""
    import keras

    from lsid_keras.losses import JointLoss, MultiCriterionLoss

    if config.loss == "l1":
        return keras.losses.MeanAbsoluteError(name="l1")
    if config.loss == "joint":
        return JointLoss(gamma=config.gamma, gamma_on=config.gamma_on,
                         detail_weight=config.detail_weight)
    return MultiCriterionLoss(
        alpha=config.alpha, beta=config.beta, vgg_weights=config.vgg_weights,
        vgg_layer=config.vgg_layer,
    )


def learning_rate_schedule(config):
    """Epoch -> learning rate: the papers' single drop."""

    def schedule(epoch, lr=None):
        return config.learning_rate if epoch < config.lr_drop_epoch else config.lr_after_drop

    return schedule


@dataclass
class TrainResult:
    """What `train` did: the model file, epochs reached, last logs, and why it stopped.

    Attributes:
        model_path: the `.keras` file.
        epochs_done: complete epochs of the training so far (this run and earlier ones).
        epochs: epochs the training is set to.
        logs: the last complete epoch's logs of this run (empty if none ran).
        stopped_by: "epochs" (reached the last epoch), "time" (`max_minutes`: rerun to
            continue), "nan", or "finished" (nothing to do: an earlier run had finished).
    """

    model_path: str
    epochs_done: int
    logs: dict
    stopped_by: str
    epochs: int = 0


def _stored_settings(config):
    """The settings that identify a training (all but `RUNTIME_SETTINGS`)."""
    return {k: v for k, v in config.to_dict().items() if k not in RUNTIME_SETTINGS}


def _epochs_done(work):
    """Complete epochs recorded in the resume state under `work` (0 if none)."""
    path = os.path.join(work, "backup", "training_metadata.json")
    try:
        with open(path, encoding="utf-8") as file:
            return int(json.load(file)["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _run_files(work, out):
    return [os.path.join(out, "config.json"), os.path.join(work, "model.keras"),
            os.path.join(work, "backup"), os.path.join(work, "training_log.csv"),
            os.path.join(work, "logs")]


def _previous_run(config, work, out):
    """Epochs an earlier run in `out` completed with the same settings (0: no earlier run).

    Raises:
        ValueError: `out` holds a run with other settings (or one that cannot be resumed) and
            `overwrite` is not set.
    """
    files = [path for path in _run_files(work, out) if os.path.exists(path)]
    if not files:
        return 0
    if config.overwrite:
        for path in files:
            shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
        return 0
    refuse = "rerun with the same settings to continue it, or add --overwrite to start again"
    try:
        with open(os.path.join(out, "config.json"), encoding="utf-8") as file:
            previous = json.load(file)
    except (OSError, ValueError):
        raise ValueError(f"{out}: holds files of a run whose settings are unknown "
                         f"(no readable config.json); use another --out or --overwrite") from None
    current = _stored_settings(config)
    # A setting that a newer version of the package added is absent from an older run's
    # config.json; such a run continues with the setting's default.
    defaults = TrainConfig()
    differing = [k for k in current if previous.get(k, getattr(defaults, k)) != current[k]]
    if differing:
        detail = ", ".join(f"{k}: {previous.get(k)!r} -> {current[k]!r}" for k in differing)
        raise ValueError(f"{out}: holds a run with other settings ({detail}); {refuse}")
    done = _epochs_done(work)
    if done == 0 and os.path.exists(os.path.join(work, "model.keras")):
        raise ValueError(f"{out}: model.keras has no resume state (backup/ is missing or "
                         f"unreadable), so the run cannot continue; {refuse}")
    return done


def _identity(settings):
    """Settings that identify a training across machines: no runtime settings, no paths."""
    return {k: v for k, v in settings.items()
            if k not in RUNTIME_SETTINGS and k not in _PATH_SETTINGS}


def _seed_from_resume_state(config, work, out):
    """Puts the resume state `config.resume_from` into a new run folder; returns its epoch.

    Raises:
        ValueError: the folder lacks a file, or it was saved from a run with other settings.
    """
    source = config.resume_from
    missing = [name for name in RESUME_FILES[:3]
               if not os.path.isfile(os.path.join(source, name))]
    if missing:
        raise ValueError(f"{source}: not a resume state (missing {', '.join(missing)}); "
                         "save one with lsid_keras.train.save_resume_state")
    try:
        with open(os.path.join(source, "config.json"), encoding="utf-8") as file:
            saved = json.load(file)
        with open(os.path.join(source, "training_metadata.json"), encoding="utf-8") as file:
            epoch = int(json.load(file)["epoch"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{source}: unreadable resume state ({error})") from None
    import h5py

    try:  # a damaged weights file is refused before anything is copied into the run folder
        with h5py.File(os.path.join(source, RESUME_FILES[0]), "r"):
            pass
    except OSError as error:
        raise ValueError(f"{os.path.join(source, RESUME_FILES[0])}: unreadable resume weights "
                         f"({str(error).strip()[:200]})") from None
    defaults = TrainConfig()
    current = _identity(config.to_dict())
    differing = [k for k in current if saved.get(k, getattr(defaults, k)) != current[k]]
    if differing:
        detail = ", ".join(f"{k}: {saved.get(k)!r} -> {current[k]!r}" for k in differing)
        raise ValueError(f"{source}: a resume state of a run with other settings ({detail})")
    from lsid_keras.atomic import copy_file_atomic

    backup = os.path.join(work, "backup")
    os.makedirs(backup, exist_ok=True)
    for name in RESUME_FILES[:2]:
        copy_file_atomic(os.path.join(source, name), os.path.join(backup, name))
    log = os.path.join(source, "training_log.csv")
    if os.path.isfile(log):
        copy_file_atomic(log, os.path.join(work, "training_log.csv"))
    write_json_atomic(os.path.join(out, "config.json"), config.to_dict())
    return epoch


def save_resume_state(out, dest):
    """Copies the resume state of the run in `out` (its last finished epoch: weights with the
    optimiser's variables, epoch, settings, log) into `dest`, for `resume_from` on another
    machine. Pause the training (or call between epochs) so the backup is not being written.

    Returns:
        The epoch saved.

    Raises:
        ValueError: `out` holds no resumable run.
    """
    from lsid_keras.atomic import copy_file_atomic

    backup = os.path.join(out, "backup")
    sources = {"latest.weights.h5": backup, "training_metadata.json": backup,
               "config.json": out, "training_log.csv": out}
    missing = [name for name, folder in sources.items()
               if not os.path.isfile(os.path.join(folder, name))]
    if missing:
        raise ValueError(f"{out}: no resume state to save (missing {', '.join(missing)})")
    epoch = _epochs_done(out)
    os.makedirs(dest, exist_ok=True)
    for name, folder in sources.items():
        copy_file_atomic(os.path.join(folder, name), os.path.join(dest, name))
    if _epochs_done(out) != epoch:
        raise ValueError(f"{out}: an epoch ended while its state was copied; pause the "
                         "training and save again")
    return epoch


def train(config=None, **settings):
    """Trains a model as `config` says (or `TrainConfig(**settings)`); returns a `TrainResult`.

    Rerunning with the same settings continues the training (see the module docstring).

    Raises:
        ValueError: bad settings, or `out` holds another run; CacheError: missing or stale
        cache; VGGWeightsUnavailableError: the VGG-16 weights cannot be had;
        TrainingDiverged: the loss became NaN (the last good `model.keras` is kept).
    """
    config = (config or TrainConfig(**settings)).resolved()
    camera = CAMERAS[config.camera]
    from lsid_keras.data.cache import load_manifest

    pairs = load_manifest(config.cache)
    if not pairs:
        raise ValueError(f"{config.cache}: the cache holds no pairs")
    if pairs[0].cfa_kind != camera.cfa_kind:
        raise ValueError(
            f"{config.cache}: the cache holds {pairs[0].cfa_kind} frames but camera="
            f"{config.camera!r} expects {camera.cfa_kind}"
        )

    from lsid_keras import distribute

    index, workers = distribute.worker_task() if config.strategy == "multi_worker" else (0, 1)
    chief = index == 0 if config.strategy != "multi_worker" else distribute.is_chief()
    out = os.path.abspath(config.out)
    work = out if chief else os.path.join(out, f".worker-{index}")
    model_path = os.path.join(work, "model.keras")
    if config.init_model and not os.path.isfile(config.init_model):
        from lsid_keras.models.saving import ModelFileError

        # Checked before a resume state is copied into `out`: a run folder seeded with a
        # wrong init_model would refuse the corrected rerun as "other settings".
        raise ModelFileError(f"{config.init_model}: model file not found")
    done = _previous_run(config, work, out)
    if done == 0 and config.resume_from and not any(
        os.path.exists(path) for path in _run_files(work, out)
    ):
        done = _seed_from_resume_state(config, work, out)
    if done >= config.epochs:
        if chief and not os.path.exists(model_path):
            _save_model_from_backup(config, camera, work, model_path)
        return TrainResult(model_path, done, {}, "finished", config.epochs)

    if config.finetune_contrast:
        from lsid_keras.data.cache import add_contrast_targets

        add_contrast_targets(config.cache, progress=config.verbose != 0)
        pairs = load_manifest(config.cache, target="contrast")
    return _fit(config, camera, pairs, work, out, chief, index, workers, done)


def _fit(config, camera, pairs, work, out, chief, index, workers, done):
    import keras

    from lsid_keras import distribute
    from lsid_keras.data.pipeline import make_dataset
    from lsid_keras.losses import loss_term_metrics
    from lsid_keras.train_callbacks import (
        AtomicCheckpoint,
        ImageSummary,
        StopOnNaN,
        TimeBudget,
        UnlessEpochCut,
    )

    strategy = distribute.make_strategy(config.strategy)
    if config.seed is not None:
        keras.utils.set_random_seed(config.seed)
    previous_policy = keras.mixed_precision.dtype_policy()
    if config.mixed_precision:
        keras.mixed_precision.set_dtype_policy(f"mixed_{config.mixed_precision}")
    created = not os.path.exists(out)
    try:
        dataset = make_dataset(
            pairs, crop_size=config.crop_size, batch_size=config.batch_size, seed=config.seed,
            num_shards=workers, shard_index=index, repeat=config.steps_per_epoch is not None,
            epoch_unit=config.epoch_unit, low_ratio_share=config.low_ratio_share,
        )
        with strategy.scope():
            model = _initial_model(config, camera)
            loss = build_loss(config)
            model.compile(
                optimizer=keras.optimizers.Adam(config.learning_rate),
                loss=loss,
                # Each term of a composite loss (l1, ms_ssim_loss, vgg_feature) as a column of
                # training_log.csv and a TensorBoard scalar, read from the loss, not recomputed.
                metrics=loss_term_metrics(loss),
                jit_compile=config.jit_compile,
            )
        distribute.prepare_model_for(strategy, model)
        # Everything is checked: only now does the run folder get its files.
        os.makedirs(work, exist_ok=True)
        if chief:
            write_json_atomic(os.path.join(out, "config.json"), config.to_dict())
        nan_guard = StopOnNaN()
        # With a time budget and Keras' own progress off, show progress against the budget.
        budget = TimeBudget(config.max_minutes, progress=config.verbose == "budget",
                            cut=done > 0)

        def unless_cut(callback):
            return UnlessEpochCut(callback, budget)

        callbacks = [
            budget,
            keras.callbacks.LearningRateScheduler(learning_rate_schedule(config)),
            # Kept after the last epoch (delete_checkpoint=False): it is how a rerun knows the
            # training is finished; two copies so a kill while saving loses nothing.
            unless_cut(keras.callbacks.BackupAndRestore(
                os.path.join(work, "backup"), delete_checkpoint=False, double_checkpoint=True)),
            nan_guard,
            unless_cut(AtomicCheckpoint(os.path.join(work, "model.keras"), nan_guard)),
            unless_cut(keras.callbacks.CSVLogger(os.path.join(work, "training_log.csv"),
                                                 append=True)),
            # Every worker runs the same callbacks (TensorBoard creates variables, and workers
            # must create the same ones in the same order); non-chief workers write under
            # `.worker-N/`.
            unless_cut(keras.callbacks.TensorBoard(os.path.join(work, "logs"))),
        ]
        if config.image_every:
            callbacks.append(unless_cut(
                ImageSummary(os.path.join(work, "logs", "images"), pairs[0],
                             every=config.image_every)
            ))
        history = model.fit(
            dataset, epochs=config.epochs, steps_per_epoch=config.steps_per_epoch,
            callbacks=callbacks, verbose=0 if config.verbose == "budget" else config.verbose,
            shuffle=False,
        )
    except BaseException:
        if created and os.path.isdir(out) and not os.listdir(out):
            os.rmdir(out)
        raise
    finally:
        keras.mixed_precision.set_dtype_policy(previous_policy)
    if nan_guard.message:
        raise TrainingDiverged(nan_guard.message)
    epochs_done = _epochs_done(work)
    logs = {k: float(v[-1]) for k, v in history.history.items() if v}
    if budget.cut_epoch is not None and len(history.epoch) > 1:
        logs = {k: float(v[-2]) for k, v in history.history.items() if len(v) > 1}
    elif budget.cut_epoch is not None:
        logs = {}
    stopped_by = "time" if budget.expired and epochs_done < config.epochs else "epochs"
    return TrainResult(os.path.join(work, "model.keras"), epochs_done, logs, stopped_by,
                       config.epochs)


def _save_model_from_backup(config, camera, work, model_path):
    """Writes `model.keras` of a finished run from its resume state alone.

    A run continued from a committed resume state whose epochs are all done (a new machine,
    `resume_from`) has the weights in `backup/` but no `model.keras`: this builds the model as
    `_fit` does, loads the weights (with the optimiser's, so the file equals the one the last
    epoch would have written) and saves it, temporary file first.
    """
    import keras

    from lsid_keras.atomic import atomic_output
    from lsid_keras.losses import loss_term_metrics

    previous_policy = keras.mixed_precision.dtype_policy()
    if config.mixed_precision:
        keras.mixed_precision.set_dtype_policy(f"mixed_{config.mixed_precision}")
    try:
        model = _initial_model(config, camera)
        loss = build_loss(config)
        model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss,
                      metrics=loss_term_metrics(loss))
        model.optimizer.build(model.trainable_variables)
        weights = os.path.join(work, "backup", RESUME_FILES[0])
        try:
            model.load_weights(weights)
        except (OSError, ValueError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(
                error).__name__
            raise ValueError(f"{weights}: unreadable resume weights ({reason[:200]}); remove "
                             f"{work} and continue from a good resume state") from None
        with atomic_output(model_path, suffix=".keras") as temporary:
            model.save(temporary)
    finally:
        keras.mixed_precision.set_dtype_policy(previous_policy)


def _initial_model(config, camera):
    from lsid_keras.models import get_model

    if config.init_model:
        from lsid_keras.models import load_model

        model = load_model(config.init_model)
        if model.input_shape[-1] != camera.packed_channels:
            raise ValueError(
                f"{config.init_model}: model takes {model.input_shape[-1]} packed channels but "
                f"camera={config.camera!r} packs {camera.packed_channels}"
            )
        return model
    return get_model(config.model, camera=config.camera, width=config.width)

