"""GIA-Net's joint loss: weighted l1 plus (1 - MS-SSIM), optionally plus a gradient term."""

import keras
import tensorflow as tf

from lsid_keras.losses.ms_ssim import MSSSIMLoss
from lsid_keras.losses.terms import CompositeLoss

#: Where `gamma` goes: "l1" (GIA-Net's eq. (1) as printed) or "ms_ssim" (Zhao et al.).
GAMMA_ON = ("l1", "ms_ssim")


def mean_absolute_error(y_true, y_pred):
    """Per-image l1: mean absolute difference over pixels and channels, float32, in [0, 1]."""
    return tf.reduce_mean(
        tf.abs(tf.cast(y_pred, tf.float32) - tf.cast(y_true, tf.float32)), axis=[-3, -2, -1]
    )


def gradient_l1(y_true, y_pred):
    """Per-image l1 between the images' gradients, float32, in [0, 2].

    The gradients are the differences between horizontally and between vertically adjacent
    pixels of each channel; the value is the mean of the two directions' mean absolute
    differences. 0 when the images differ by a constant; a blurred copy of a textured image
    scores high even where its l1 is small, which is why it keeps a network from smoothing
    detail away (Ma et al., "Structure-Preserving Super Resolution with Gradient Guidance",
    CVPR 2020, use the same idea as a gradient loss).
    """
    error = tf.cast(y_pred, tf.float32) - tf.cast(y_true, tf.float32)
    across = tf.abs(error[..., :, 1:, :] - error[..., :, :-1, :])
    down = tf.abs(error[..., 1:, :, :] - error[..., :-1, :, :])
    return 0.5 * (tf.reduce_mean(across, axis=[-3, -2, -1])
                  + tf.reduce_mean(down, axis=[-3, -2, -1]))


@keras.saving.register_keras_serializable(package="lsid_keras")
class JointLoss(CompositeLoss):
    """`gamma * l1 + (1 - gamma) * (1 - MS-SSIM)`, the joint loss of GIA-Net.

    With `detail_weight > 0` it adds `detail_weight * gradient_l1` (see `gradient_l1`): a term
    that is not in the paper, for models that must keep the detail of clean input (tried for
    the shipped model, issue 17: docs/training.md). At 0 (the default) the loss is the paper's.

    `l1` is the mean absolute difference over each image's pixels and channels, in [0, 1] for
    [0, 1] images; `1 - MS-SSIM` is `MSSSIMLoss()` (all exponents 1, Gaussian window 11,
    sigma 1.5, with its small-crop rule). Each image's loss is in [0, 1], 0 for identical images.
    Computed in float32 whatever the input dtype. The same form, with `gamma = beta = 0.99`, is
    the pixel term of Zamir et al.'s `MultiCriterionLoss`. Its terms, `l1` and `ms_ssim_loss`
    (`1 - MS-SSIM`), are logged by `loss_term_metrics`.

    Two readings of gamma = 0.84: GIA-Net's eq. (1) puts gamma on l1 and cites Zhao et al.
    for the value, but Zhao et al.'s mixed loss weighs MS-SSIM by 0.84:
    `0.84 * (1 - MS-SSIM) + 0.16 * l1` (their `alpha`). `gamma_on="l1"` (default) follows
    GIA-Net's text as printed; `gamma_on="ms_ssim"` follows Zhao et al.

    Args:
        gamma: weight of the term named by `gamma_on`, in [0, 1]; `1 - gamma` weighs the other
            one. Defaults to 0.84 (GIA-Net).
        gamma_on: "l1" (default, GIA-Net's eq. (1)) or "ms_ssim" (Zhao et al.'s placement).
        detail_weight: weight of the added gradient term, >= 0; 0 (default) leaves it out
            (and out of the logged terms).
        **kwargs: passed to `keras.losses.Loss` (`name`, `reduction`, `dtype`).

    Call arguments:
        y_true: reference images, float [0, 1], NHWC, 3 channels RGB.
        y_pred: predicted images, same shape, any float dtype; at least 11x11 pixels.

    Example:

    ```python
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=JointLoss())
    ```

    Reference:
        Meng et al., "GIA-Net: Global Information Aware Network for Low-light Imaging",
        ECCV Workshops 2020, eq. (1)-(6); Zhao et al., "Loss Functions for Image Restoration
        with Neural Networks", IEEE TCI 2017, section 3.3 (`alpha = 0.84` on MS-SSIM).
    """

    term_names = ("l1", "ms_ssim_loss")

    def __init__(self, gamma=0.84, gamma_on="l1", detail_weight=0.0, **kwargs):
        kwargs.setdefault("name", "joint_loss")
        super().__init__(**kwargs)
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"`gamma` must be in [0, 1]. Received: gamma={gamma}")
        if gamma_on not in GAMMA_ON:
            raise ValueError(f"`gamma_on` must be one of {GAMMA_ON}. Received: {gamma_on=}")
        if not detail_weight >= 0.0:
            raise ValueError(f"`detail_weight` must be >= 0. Received: {detail_weight=}")
        self.gamma = float(gamma)
        self.gamma_on = gamma_on
        self.detail_weight = float(detail_weight)
        if self.detail_weight > 0:
            self.term_names = (*JointLoss.term_names, "gradient_l1")
        self._ms_ssim_loss = MSSSIMLoss()
        self._init_terms()

    def terms(self, y_true, y_pred):
        y_true = tf.cast(y_true, tf.float32)
        y_pred = tf.cast(y_pred, tf.float32)
        terms = {
            "l1": mean_absolute_error(y_true, y_pred),
            "ms_ssim_loss": self._ms_ssim_loss.call(y_true, y_pred),
        }
        if self.detail_weight > 0:
            terms["gradient_l1"] = gradient_l1(y_true, y_pred)
        return terms

    def term_weights(self):
        l1_weight = self.gamma if self.gamma_on == "l1" else 1.0 - self.gamma
        weights = {"l1": l1_weight, "ms_ssim_loss": 1.0 - l1_weight}
        if self.detail_weight > 0:
            weights["gradient_l1"] = self.detail_weight
        return weights

    def get_config(self):
        config = super().get_config()
        config.update({"gamma": self.gamma, "gamma_on": self.gamma_on,
                       "detail_weight": self.detail_weight})
        return config
