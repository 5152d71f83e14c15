"""GIA-Net's joint loss: weighted l1 plus (1 - MS-SSIM)."""

import keras
import tensorflow as tf

from lsid_keras.losses.ms_ssim import MSSSIMLoss


@keras.saving.register_keras_serializable(package="lsid_keras")
class JointLoss(keras.losses.Loss):
    """`gamma * l1 + (1 - gamma) * (1 - MS-SSIM)`, the joint loss of GIA-Net.

    `l1` is the mean absolute difference over each image's pixels and channels, in [0, 1] for
    [0, 1] images; `1 - MS-SSIM` is `MSSSIMLoss()` (all exponents 1, Gaussian window 11,
    sigma 1.5, with its small-crop rule). Each image's loss is in [0, 1], 0 for identical images.
    Computed in float32 whatever the input dtype. The same form, with `gamma = beta = 0.99`, is
    the pixel term of Zamir et al.'s `MultiCriterionLoss`.

    Args:
        gamma: weight of the l1 term, in [0, 1]; `1 - gamma` weighs the MS-SSIM term.
            Defaults to 0.84 (GIA-Net).
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
        with Neural Networks", IEEE TCI 2017.
    """

    def __init__(self, gamma=0.84, **kwargs):
        kwargs.setdefault("name", "joint_loss")
        super().__init__(**kwargs)
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"`gamma` must be in [0, 1]. Received: gamma={gamma}")
        self.gamma = float(gamma)
        self._ms_ssim_loss = MSSSIMLoss()

    def call(self, y_true, y_pred):
        y_true = tf.cast(y_true, tf.float32)
        y_pred = tf.cast(y_pred, tf.float32)
        l1 = tf.reduce_mean(tf.abs(y_pred - y_true), axis=[-3, -2, -1])
        return self.gamma * l1 + (1.0 - self.gamma) * self._ms_ssim_loss.call(y_true, y_pred)

    def get_config(self):
        config = super().get_config()
        config.update({"gamma": self.gamma})
        return config
