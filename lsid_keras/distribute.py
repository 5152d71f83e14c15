"""tf.distribute strategies for `lsid train`, and the two Keras 3 fixes multi-worker needs.

Keras 3.15's TensorFlow trainer breaks `Model.fit` under `MultiWorkerMirroredStrategy`
(keras-team/keras#20585): before the first step it averages a data batch across workers with
`strategy.reduce`, which collective all-reduce cannot do eagerly on per-replica data, and after
every step it reduces the scalar logs with `axis=0`, which fails on scalars. `use_strategy`
applies two narrow fixes for that strategy only: the symbolic build takes this worker's own
batch (only shapes matter there), and scalar logs are averaged with `axis=None`. Both keep
Keras' behaviour for every other strategy and shape.

On CPU, TensorFlow 2.21's oneDNN kernels also break multi-worker steps at batch size 1 (a conv
receives the wrong tensor); `lsid train` turns oneDNN off when TF_CONFIG is set.
"""

from __future__ import annotations

import json
import os
import types
import warnings

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker")


def make_strategy(name="default"):
    """The tf.distribute strategy called `name`.

    Args:
        name: "default" (one device), "mirrored" (all local GPUs, or the CPU) or
            "multi_worker" (`MultiWorkerMirroredStrategy`; the cluster comes from `TF_CONFIG`).
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError(
                "--strategy multi_worker needs the TF_CONFIG environment variable describing "
                "the cluster and this worker's task"
            )
        _patch_multi_worker_logs()
        if os.environ.get("TF_ENABLE_ONEDNN_OPTS") != "0":
            warnings.warn(
                "multi-worker training on CPU with oneDNN enabled fails at batch size 1 "
                "('input depth must be evenly divisible by filter depth'); set "
                "TF_ENABLE_ONEDNN_OPTS=0 before TensorFlow is imported (`lsid train` does this "
                "when TF_CONFIG is set)",
                stacklevel=2,
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}; choose one of {STRATEGIES}")


def worker_task():
    """(task index, number of workers) from TF_CONFIG; (0, 1) without it."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    workers = len(config.get("cluster", {}).get("worker", [])) or 1
    return int(config.get("task", {}).get("index", 0)), workers


def is_chief():
    """Whether this process writes checkpoints and logs (worker 0, or the `chief` task)."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    task = config.get("task", {})
    cluster = config.get("cluster", {})
    if "chief" in cluster:
        return task.get("type") == "chief"
    return int(task.get("index", 0)) == 0


def prepare_model_for(strategy, model):
    """Applies the symbolic-build fix to `model` when `strategy` is multi-worker."""
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        model._maybe_symbolic_build = types.MethodType(_local_symbolic_build, model)
    return model


def _local_symbolic_build(self, iterator=None, data_batch=None):
    if iterator is not None:
        for _, _, it in iterator:
            data_batch = tf.nest.map_structure(_local_value, next(it))
            break
    with self.distribute_strategy.scope():
        self._symbolic_build(data_batch=data_batch)


def _local_value(value):
    if isinstance(value, tf.distribute.DistributedValues):
        return value._values[0]
    return value


_PATCHED = False


def _patch_multi_worker_logs():
    global _PATCHED
    if _PATCHED:
        return
    from keras.src.backend.tensorflow import trainer

    original = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(strategy):

            def mean(value):
                rank = getattr(getattr(value, "shape", None), "rank", None)
                return strategy.reduce("MEAN", value, axis=0 if rank else None)

            return tf.nest.map_structure(mean, values)
        return original(values, strategy, reduction)

    trainer.reduce_per_replica = reduce_per_replica
    _PATCHED = True
