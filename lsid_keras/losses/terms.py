"""Composite losses that expose their terms, and the metrics that log those terms during `fit`.

A composite loss is a weighted sum of named terms (`l1`, `ms_ssim_loss`, `vgg_feature`). Logging
a term by recomputing it in a metric would run MS-SSIM (and, for Zamir et al.'s loss, a VGG-16
over both images) a second time every step. Instead the loss writes each term's batch mean into
a small variable while it computes the total, and `LossTerm` metrics read that variable in the
same training step (Keras updates metrics after the loss, and TensorFlow orders the write before
the read because both touch the same variable). The cost is one 3-float assignment per step.
"""

import keras
import tensorflow as tf


class CompositeLoss(keras.losses.Loss):
    """Base of the losses that are weighted sums of named terms.

    Subclasses set `term_names` in `__init__` (before calling `_init_terms`) and implement
    `terms(y_true, y_pred) -> dict` (per-image float32 values of every term, unweighted) and
    `term_weights() -> dict` (the weight of each term in the total). `call` returns
    `sum(weight * term)` and records each term's batch mean, which `LossTerm` metrics read.
    """

    term_names = ()

    def _init_terms(self):
        # On-read synchronisation: under a distribution strategy every replica keeps (and its
        # metrics read) its own copy, so no cross-replica aggregation happens in the step.
        self._recorded_terms = tf.Variable(
            tf.zeros([len(self.term_names)]),
            trainable=False,
            name=f"{self.name}_terms",
            synchronization=tf.VariableSynchronization.ON_READ,
            aggregation=tf.VariableAggregation.MEAN,
        )

    def terms(self, y_true, y_pred):
        raise NotImplementedError

    def term_weights(self):
        raise NotImplementedError

    def combine(self, terms):
        """The weighted sum of `terms` (a dict as returned by `terms`)."""
        weights = self.term_weights()
        return tf.add_n([weights[name] * terms[name] for name in self.term_names])

    def call(self, y_true, y_pred):
        terms = self.terms(y_true, y_pred)
        self._recorded_terms.assign(
            tf.stack([tf.reduce_mean(terms[name]) for name in self.term_names])
        )
        return self.combine(terms)

    def recorded_term(self, name):
        """Batch mean of term `name` at the loss's last call (0 before the first), float32."""
        return self._recorded_terms[self.term_names.index(name)]


@keras.saving.register_keras_serializable(package="lsid_keras")
class LossTerm(keras.metrics.Mean):
    """Mean over an epoch of one term of a `CompositeLoss`, as the loss computed it.

    Built by `loss_term_metrics`, it reads the term the loss recorded in the same step (no
    second computation); sample weights do not apply to it. A `LossTerm` restored from a saved
    model's compile settings is not linked to the restored model's loss object, so it
    computes its term itself from `y_true` and `y_pred` (correct, at the cost of a second
    computation).

    Args:
        loss: the `CompositeLoss` whose term is logged.
        term: one of `loss.term_names`.
        name: metric name (the column in `training_log.csv`). Defaults to `term`.
        **kwargs: passed to `keras.metrics.Mean` (`dtype`).
    """

    def __init__(self, loss, term, name=None, linked=True, **kwargs):
        if isinstance(loss, dict):
            loss = keras.saving.deserialize_keras_object(loss)
            linked = False
        if term not in loss.term_names:
            raise ValueError(
                f"`term` must be one of {loss.term_names} for {type(loss).__name__}. "
                f"Received: term={term!r}"
            )
        super().__init__(name=name or term, **kwargs)
        self.loss = loss
        self.term = term
        self.linked = linked

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.linked:
            value = self.loss.recorded_term(self.term)
        else:
            value = tf.reduce_mean(self.loss.terms(y_true, y_pred)[self.term])
        return super().update_state(value)

    def get_config(self):
        return {
            "name": self.name,
            "term": self.term,
            "loss": keras.saving.serialize_keras_object(self.loss),
            "linked": False,
        }


def loss_term_metrics(loss):
    """One `LossTerm` metric per term of `loss` (none for a single-term loss such as l1).

    Pass them to `model.compile(loss=loss, metrics=loss_term_metrics(loss))`: `fit` then logs
    every term (`l1`, `ms_ssim_loss`, `vgg_feature`, unweighted, each image's value averaged)
    beside the total `loss`, in the history, `CSVLogger` columns and TensorBoard scalars.
    """
    if not isinstance(loss, CompositeLoss):
        return []
    return [LossTerm(loss, name) for name in loss.term_names]
