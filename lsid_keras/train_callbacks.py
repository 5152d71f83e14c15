"""Keras callbacks of `lsid train`: atomic checkpoints, NaN guard, time budget, image summaries."""

from __future__ import annotations

import math
import time

import keras
import numpy as np

from lsid_keras.atomic import atomic_output


class StopOnNaN(keras.callbacks.Callback):
    """Stops training when the loss becomes NaN or infinite, keeping a message that says why.

    Unlike `keras.callbacks.TerminateOnNaN` it records where it happened and what to try, so
    the command line can print one clear line; the last good checkpoint is not overwritten.
    """

    def __init__(self):
        super().__init__()
        self.message = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.message = (
                f"loss became {float(loss)} at epoch {self._epoch + 1}, step {batch + 1}; "
                "training stopped and the last good model.keras is kept. Try a lower "
                "learning_rate, or float32 instead of float16 mixed precision"
            )
            self.model.stop_training = True


class TimeBudget(keras.callbacks.Callback):
    """Pauses training once `minutes` of wall time have passed; a rerun continues it.

    It stops at an epoch's end when the longest epoch so far would not fit in the time left,
    so a budget usually ends on a whole epoch; if an epoch still runs past the budget, it stops
    after the current step and records that epoch in `cut_epoch`: the callbacks that persist
    training state (wrapped in `UnlessEpochCut`) ignore it, so it is neither saved nor logged
    and the rerun trains it again from the last complete epoch.

    With `progress`, shows a progress bar over the budget (seconds) with the epoch and loss, which
    says more than an epoch counter when the epoch count is open-ended. With `cut=False` (a
    training with no complete epoch yet, so no model) it never stops part-way: it lets the
    current epoch finish, so every run leaves a model.

    Attributes:
        expired: the budget stopped training.
        cut_epoch: 0-based epoch stopped part-way, or None.
    """

    def __init__(self, minutes=None, progress=False, cut=True):
        super().__init__()
        self.minutes = minutes
        self.progress = progress
        self.cut = cut
        self.expired = False
        self.cut_epoch = None
        self._start = None
        self._epoch_start = None
        self._longest_epoch = 0.0
        self._bar = None
        self._epoch = 0

    def _elapsed(self):
        return time.monotonic() - self._start

    def on_train_begin(self, logs=None):
        self._start = time.monotonic()
        if self.progress and self.minutes is not None:
            from lsid_keras.progress import progress_bar

            self._bar = progress_bar(total=round(60 * self.minutes), unit="s", desc="training")

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        if self.minutes is None:
            return
        elapsed = self._elapsed()
        if self._bar is not None:
            loss = (logs or {}).get("loss")
            # refresh=False and update(): the bar redraws at its own interval (whole lines
            # every few seconds off a terminal), not after every step.
            self._bar.set_postfix(epoch=self._epoch + 1, loss=f"{float(loss or 0):.4f}",
                                  refresh=False)
            self._bar.update(min(round(elapsed), self._bar.total) - self._bar.n)
        if elapsed > 60 * self.minutes and self.cut:
            self.expired = True
            self.cut_epoch = self._epoch
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.minutes is None or self.expired:
            return
        self.cut = True  # an epoch is complete: a model exists from now on
        self._longest_epoch = max(self._longest_epoch, time.monotonic() - self._epoch_start)
        if 60 * self.minutes - self._elapsed() < self._longest_epoch:
            self.expired = True
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self._bar is not None:
            self._bar.close()


class UnlessEpochCut(keras.callbacks.Callback):
    """Runs `callback` as usual, but hides from it the end of an epoch that `budget` cut short.

    Wraps the callbacks that save or log per-epoch state (resume backup, checkpoint, CSV log,
    TensorBoard), so an epoch stopped part-way by the time budget leaves no trace and the
    rerun's epochs follow the last complete one without a repeat.
    """

    def __init__(self, callback, budget):
        super().__init__()
        self.callback = callback
        self.budget = budget

    def set_model(self, model):
        super().set_model(model)
        self.callback.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self.callback.set_params(params)

    def on_epoch_end(self, epoch, logs=None):
        if self.budget.cut_epoch != epoch:
            self.callback.on_epoch_end(epoch, logs)


def _delegate(hook):
    def method(self, *args, **kwargs):
        return getattr(self.callback, hook)(*args, **kwargs)

    method.__name__ = hook
    return method


for _hook in (
    "on_train_begin", "on_train_end", "on_epoch_begin", "on_train_batch_begin",
    "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin",
    "on_test_batch_end", "on_predict_begin", "on_predict_end", "on_predict_batch_begin",
    "on_predict_batch_end",
):
    setattr(UnlessEpochCut, _hook, _delegate(_hook))


class AtomicCheckpoint(keras.callbacks.Callback):
    """Saves the model to `path` (`.keras`) after every epoch: temporary file, then rename.

    A run killed while saving leaves the previous checkpoint intact. Epochs that end with a NaN
    loss (see `StopOnNaN`) are not saved.
    """

    def __init__(self, path, nan_guard=None):
        super().__init__()
        self.path = path
        self.nan_guard = nan_guard

    def on_epoch_end(self, epoch, logs=None):
        if self.nan_guard is not None and self.nan_guard.message:
            return
        with atomic_output(self.path, suffix=".keras") as temporary:
            self.model.save(temporary)


def preview_packed(packed):
    """A displayable RGB preview of a packed RAW crop: R, mean of the Gs, B, gamma 1/2.2.

    Args:
        packed: (H, W, 4) Bayer (R, G, B, G) or (H, W, 9) X-Trans packed values in [0, 1].

    Returns:
        (H, W, 3) float32 in [0, 1] (at packed resolution).
    """
    if packed.shape[-1] == 4:
        red, green, blue = packed[..., 0], packed[..., [1, 3]].mean(-1), packed[..., 2]
    else:
        red = packed[..., [0, 3]].mean(-1)
        green = packed[..., [1, 5, 6, 7, 8]].mean(-1)
        blue = packed[..., [2, 4]].mean(-1)
    rgb = np.stack([red, green, blue], -1)
    return np.clip(rgb, 0, 1) ** (1 / 2.2)


class ImageSummary(keras.callbacks.Callback):
    """Every `every` epochs writes the input (brightened preview), output and ground truth of
    one fixed crop of `pair` as TensorBoard images under `log_dir`."""

    def __init__(self, log_dir, pair, every=10, crop=256):
        super().__init__()
        self.log_dir = log_dir
        self.every = every
        packed = np.load(pair.input_file, mmap_mode="r")
        target = np.load(pair.target_file, mmap_mode="r")
        block = target.shape[0] // packed.shape[0]
        side = min(crop, packed.shape[0] // 16 * 16, packed.shape[1] // 16 * 16)
        top = (packed.shape[0] - side) // 2
        left = (packed.shape[1] - side) // 2
        x = np.asarray(packed[top : top + side, left : left + side], np.float32)
        self.input = np.minimum(x * np.float32(pair.ratio), 1)[None]
        y = target[top * block : (top + side) * block, left * block : (left + side) * block]
        self.target = (np.asarray(y, np.float32) / 65535)[None]
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        if not self.every or (epoch + 1) % self.every:
            return
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        output = np.clip(self.model.predict_on_batch(self.input), 0, 1)
        with self._writer.as_default(step=epoch + 1):
            tf.summary.image("input_brightened", preview_packed(self.input[0])[None])
            tf.summary.image("output", output)
            tf.summary.image("ground_truth", self.target)
        self._writer.flush()
