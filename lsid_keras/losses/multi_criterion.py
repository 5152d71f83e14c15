"""Zamir et al.'s multi-criterion loss: pixel (l1 + MS-SSIM) and VGG feature terms."""

import keras

from lsid_keras.losses.joint import JointLoss
from lsid_keras.losses.vgg_feature import VGGFeatureLoss


@keras.saving.register_keras_serializable(package="lsid_keras")
class MultiCriterionLoss(keras.losses.Loss):
    """`alpha * Lpix + (1 - alpha) * Lfeat`, the loss of Zamir et al.

    `Lpix = beta * l1 + (1 - beta) * (1 - MS-SSIM)` is `JointLoss(gamma=beta)` (mean absolute
    error and all-ones-exponent MS-SSIM, both in [0, 1]); `Lfeat` is
    `VGGFeatureLoss(weights=vgg_weights, layer=vgg_layer)`, the mean squared difference of
    VGG-16 activations, which is >= 0 and not bounded by 1. Each image's loss is >= 0, 0 for
    identical images. Computed in float32 whatever the input dtype. The VGG-16 is built (and,
    for `"imagenet"`, loaded or downloaded) once, in `__init__`.

    Args:
        alpha: weight of the pixel term, in [0, 1]. Defaults to 0.9.
        beta: weight of l1 within the pixel term, in [0, 1]. Defaults to 0.99.
        vgg_weights: `"imagenet"` (default), a local VGG-16 no-top weights file path, or `None`
            for a random VGG-16 (offline tests only; `Lfeat` is then not meaningful). See
            `VGGFeatureLoss`.
        vgg_layer: VGG-16 layer compared by `Lfeat`. Defaults to `"block2_conv2"` (after its
            ReLU, H/2 x W/2 x 128).
        **kwargs: passed to `keras.losses.Loss` (`name`, `reduction`, `dtype`).

    Call arguments:
        y_true: reference images, float [0, 1], NHWC, 3 channels RGB.
        y_pred: predicted images, same shape, any float dtype; at least 11x11 pixels.

    Example:

    ```python
    loss = MultiCriterionLoss(vgg_weights="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=loss)
    ```

    Reference:
        Zamir et al., "Learning Digital Camera Pipeline for Extreme Low-Light Imaging",
        eq. (1)-(8); alpha = 0.9 and beta = 0.99 from section 4.3.
    """

    def __init__(
        self,
        alpha=0.9,
        beta=0.99,
        vgg_weights="imagenet",
        vgg_layer="block2_conv2",
        **kwargs,
    ):
        kwargs.setdefault("name", "multi_criterion_loss")
        super().__init__(**kwargs)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"`alpha` must be in [0, 1]. Received: alpha={alpha}")
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"`beta` must be in [0, 1]. Received: beta={beta}")
        self.alpha = float(alpha)
        self.beta = float(beta)
        self._pixel_loss = JointLoss(gamma=beta)
        self._feature_loss = VGGFeatureLoss(weights=vgg_weights, layer=vgg_layer)
        self.vgg_weights = self._feature_loss.weights
        self.vgg_layer = vgg_layer

    def call(self, y_true, y_pred):
        pixel = self._pixel_loss.call(y_true, y_pred)
        feature = self._feature_loss.call(y_true, y_pred)
        return self.alpha * pixel + (1.0 - self.alpha) * feature

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "alpha": self.alpha,
                "beta": self.beta,
                "vgg_weights": self.vgg_weights,
                "vgg_layer": self.vgg_layer,
            }
        )
        return config
