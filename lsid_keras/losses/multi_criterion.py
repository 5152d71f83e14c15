"""Zamir et al.'s multi-criterion loss: pixel (l1 + MS-SSIM) and VGG feature terms."""

import keras
import tensorflow as tf

from lsid_keras.losses.joint import JointLoss
from lsid_keras.losses.terms import CompositeLoss
from lsid_keras.losses.vgg_feature import VGGFeatureLoss

#: `feature_scale` default: Lpix / Lfeat (reference-energy normalised) of the Zamir U-Net at
#: initialisation on synthetic SID training crops with a random VGG-16, measured by
#: `scripts/measure_loss_terms.py` (0.4997 / 2.179; README "Loss terms").
FEATURE_SCALE = 0.23


@keras.saving.register_keras_serializable(package="lsid_keras")
class MultiCriterionLoss(CompositeLoss):
    """`alpha * Lpix + (1 - alpha) * Lfeat`, the loss of Zamir et al.

    `Lpix = beta * l1 + (1 - beta) * (1 - MS-SSIM)` is `JointLoss(gamma=beta)` (mean absolute
    error and all-ones-exponent MS-SSIM, both in [0, 1]); `Lfeat` is
    `feature_scale * VGGFeatureLoss(weights=vgg_weights, layer=vgg_layer,
    normalization=vgg_normalization)`: by default the squared VGG-16 feature error relative to
    the reference's feature energy (dimensionless, independent of the VGG weights' scale),
    times a constant that makes `Lfeat` equal to `Lpix` on average at the start of training,
    so that `alpha = 0.9` gives the feature term the 10 % share of the loss that the paper's
    weights state. With raw features (no normalisation, no scale) the feature term was 14x
    the pixel term and held 84 % of the loss at initialisation; normalised but unscaled, 33 %.

    The constant was measured with a random VGG-16 (`scripts/measure_loss_terms.py` on
    synthetic SID crops; ImageNet weights cannot be downloaded on the offline machine where it
    was chosen). The normalisation removes the weights' overall scale, not the shape of their
    features: with the ImageNet weights, rerun the script with `--vgg-weights` and pass the
    `suggested_feature_scale` it prints as `feature_scale`. Each image's loss is >= 0, 0 for
    identical images. Computed in float32 whatever the input
    dtype. The VGG-16 is built (and, for `"imagenet"`, loaded or downloaded) once, in
    `__init__`. Its terms `l1`, `ms_ssim_loss` (`1 - MS-SSIM`) and `vgg_feature` are logged by
    `loss_term_metrics`.

    Args:
        alpha: weight of the pixel term, in [0, 1]. Defaults to 0.9.
        beta: weight of l1 within the pixel term, in [0, 1]. Defaults to 0.99.
        vgg_weights: `"imagenet"` (default), a local VGG-16 no-top weights file path, or `None`
            for a random VGG-16 (offline tests only; `Lfeat` is then not meaningful). See
            `VGGFeatureLoss`.
        vgg_layer: VGG-16 layer compared by `Lfeat`. Defaults to `"block2_conv2"` (after its
            ReLU, H/2 x W/2 x 128).
        vgg_normalization: `"reference_energy"` (default) or `None` (raw mean squared
            activation difference). See `VGGFeatureLoss`.
        feature_scale: factor of the VGG term, > 0. Defaults to `FEATURE_SCALE` (0.23);
            1 with `vgg_normalization=None` gives the un-normalised loss.
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

    term_names = ("l1", "ms_ssim_loss", "vgg_feature")

    def __init__(
        self,
        alpha=0.9,
        beta=0.99,
        vgg_weights="imagenet",
        vgg_layer="block2_conv2",
        vgg_normalization="reference_energy",
        feature_scale=FEATURE_SCALE,
        **kwargs,
    ):
        kwargs.setdefault("name", "multi_criterion_loss")
        super().__init__(**kwargs)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"`alpha` must be in [0, 1]. Received: alpha={alpha}")
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"`beta` must be in [0, 1]. Received: beta={beta}")
        if not feature_scale > 0:
            raise ValueError(f"`feature_scale` must be > 0. Received: {feature_scale=}")
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.feature_scale = float(feature_scale)
        self._pixel_loss = JointLoss(gamma=beta)
        self._feature_loss = VGGFeatureLoss(
            weights=vgg_weights, layer=vgg_layer, normalization=vgg_normalization
        )
        self.vgg_weights = self._feature_loss.weights
        self.vgg_layer = vgg_layer
        self.vgg_normalization = vgg_normalization
        self._init_terms()

    def terms(self, y_true, y_pred):
        y_true = tf.cast(y_true, tf.float32)
        y_pred = tf.cast(y_pred, tf.float32)
        terms = self._pixel_loss.terms(y_true, y_pred)
        terms["vgg_feature"] = self.feature_scale * self._feature_loss.call(y_true, y_pred)
        return terms

    def term_weights(self):
        pixel = self._pixel_loss.term_weights()
        return {
            "l1": self.alpha * pixel["l1"],
            "ms_ssim_loss": self.alpha * pixel["ms_ssim_loss"],
            "vgg_feature": 1.0 - self.alpha,
        }

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "alpha": self.alpha,
                "beta": self.beta,
                "vgg_weights": self.vgg_weights,
                "vgg_layer": self.vgg_layer,
                "vgg_normalization": self.vgg_normalization,
                "feature_scale": self.feature_scale,
            }
        )
        return config
