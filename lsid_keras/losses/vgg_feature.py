"""VGG-16 feature (perceptual) loss."""

import os

import keras
import tensorflow as tf

from lsid_keras.errors import LsidError

#: Feature normalisations of `VGGFeatureLoss`.
NORMALIZATIONS = ("reference_energy", None)
# Floor of the reference energy: only an all-zero reference feature map comes near it.
_MIN_ENERGY = 1e-12

_IMAGENET_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
_IMAGENET_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" + _IMAGENET_FILE
)
# MD5 that keras.applications.VGG16 checks for the same file.
_IMAGENET_MD5 = "6d6bbae143d832006294945121d1f1fc"


class VGGWeightsUnavailableError(LsidError, RuntimeError):
    """The ImageNet VGG-16 weights are neither in the Keras cache nor downloadable."""


def _keras_cache_dir():
    """Where `keras.utils.get_file` looks for cached application weights."""
    keras_home = os.environ.get("KERAS_HOME", os.path.join("~", ".keras"))
    return os.path.join(os.path.expanduser(keras_home), "models")


def _imagenet_weights_path():
    """Local path of the ImageNet VGG-16 (no top) weights, downloading them if not cached."""
    try:
        return keras.utils.get_file(
            _IMAGENET_FILE, _IMAGENET_URL, cache_subdir="models", file_hash=_IMAGENET_MD5
        )
    except Exception as error:  # get_file raises a bare Exception on network failures.
        raise VGGWeightsUnavailableError(
            f"Could not obtain the ImageNet VGG-16 weights for VGGFeatureLoss: they are not "
            f"cached in {_keras_cache_dir()} and downloading {_IMAGENET_URL} failed ({error}). "
            f"On a machine with internet access, download {_IMAGENET_FILE} from that address, "
            f"then either pass its path as weights='/path/to/{_IMAGENET_FILE}' (vgg_weights= "
            f"for MultiCriterionLoss) or copy it into {_keras_cache_dir()}/. "
            f"weights=None builds a randomly initialised VGG-16, for offline tests only."
        ) from error


def _vgg16_features(weights, layer):
    """Frozen float32 VGG-16 (no top) truncated at `layer`'s output."""
    if weights == "imagenet":
        weights = _imagenet_weights_path()
    # Build in float32 even under a mixed-precision global policy: the loss is computed in float32.
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        vgg = keras.applications.VGG16(include_top=False, weights=weights)
    finally:
        keras.config.set_dtype_policy(policy)
    names = [vgg_layer.name for vgg_layer in vgg.layers[1:]]
    if layer not in names:
        raise ValueError(f"`layer` must be one of the VGG-16 layers {names}. Received: {layer=}")
    features = keras.Model(vgg.input, vgg.get_layer(layer).output, name=f"vgg16_{layer}")
    features.trainable = False
    return features


@keras.saving.register_keras_serializable(package="lsid_keras")
class VGGFeatureLoss(keras.losses.Loss):
    """Squared difference of VGG-16 activations, relative to the reference's (a perceptual loss).

    Both images go through a frozen VGG-16 (no classifier top, run with `training=False`)
    truncated at `layer`; the default `"block2_conv2"` is the output after the ReLU of the
    second conv of block 2 (H/2 x W/2 x 128). Images in [0, 1] RGB are converted as for
    ImageNet VGG-16: `keras.applications.vgg16.preprocess_input(x * 255)` (RGB to BGR, ImageNet
    mean subtracted). Computed in float32 whatever the input dtype or global dtype policy.

    Normalisation. With `normalization="reference_energy"` (default) each image's loss is
    `mean((F(pred) - F(true))^2) / mean(F(true)^2)`: the squared feature error relative to the
    energy of the reference's features, a dimensionless number >= 0 (0 for identical images,
    about 1 when the prediction's features are as far from the reference's as the reference's
    are from zero). The raw mean squared difference (`normalization=None`, Johnson et al.'s
    form) is in squared activation units of a VGG-16 fed 0-255 inputs: it depends on the
    weights' scale (ImageNet activations are larger than a random VGG's) and is not on the
    [0, 1] scale of the pixel losses, so in `MultiCriterionLoss` it outweighed the pixel term
    that `alpha = 0.9` meant to dominate (measured 14x the pixel term for noise of sigma 0.05
    with random weights). Dividing by the reference's own energy removes the weights' scale and
    the 0-255 input scale, needs no constant fitted to weights that cannot be had offline, and
    puts the term on the pixel losses' scale (`scripts/measure_loss_terms.py` measures both
    terms and their gradients on training crops; README "Loss terms").

    The VGG-16 is built once, in `__init__`. With `weights="imagenet"` its weights come from the
    Keras cache (`$KERAS_HOME/models`, default `~/.keras/models`) or are downloaded; offline,
    a `VGGWeightsUnavailableError` explains how to provide
    `vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`.

    Args:
        weights: `"imagenet"` (default), the path of a local VGG-16 no-top weights file (`.h5`,
            such as the Keras ImageNet file, or `.weights.h5`), or `None` for random
            initialisation. With `None` the loss is not a meaningful perceptual loss; use it only
            for offline tests.
        layer: name of the VGG-16 layer whose output is compared. Defaults to `"block2_conv2"`.
        normalization: `"reference_energy"` (default: divide by the mean squared activation of
            the reference image's features) or `None` (raw mean squared difference).
        **kwargs: passed to `keras.losses.Loss` (`name`, `reduction`, `dtype`).

    Call arguments:
        y_true: reference images, float [0, 1], NHWC, 3 channels RGB.
        y_pred: predicted images, same shape, any float dtype.

    Raises:
        FileNotFoundError: if `weights` is a path that does not exist.
        VGGWeightsUnavailableError: if the ImageNet weights are not cached and cannot be
            downloaded.

    Example:

    ```python
    loss = VGGFeatureLoss(weights="/data/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    y_true = tf.random.uniform((2, 64, 64, 3))
    loss(y_true, y_true)  # 0.0
    ```

    Reference:
        Zamir et al., "Learning Digital Camera Pipeline for Extreme Low-Light Imaging",
        eq. (8); Johnson et al., "Perceptual Losses for Real-Time Style Transfer and
        Super-Resolution", ECCV 2016; Simonyan and Zisserman, "Very Deep Convolutional Networks
        for Large-Scale Image Recognition", ICLR 2015.
    """

    def __init__(self, weights="imagenet", layer="block2_conv2",
                 normalization="reference_energy", **kwargs):
        kwargs.setdefault("name", "vgg_feature_loss")
        super().__init__(**kwargs)
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"`normalization` must be one of {NORMALIZATIONS}. Received: {normalization=}"
            )
        if weights is not None and weights != "imagenet":
            weights = os.fspath(weights)
            if not os.path.isfile(weights):
                raise FileNotFoundError(
                    f"No VGG-16 weights file at {weights!r}. Expected 'imagenet', None or the "
                    f"path of an existing .h5 / .weights.h5 file."
                )
        self.weights = weights
        self.layer = layer
        self.normalization = normalization
        self._features = _vgg16_features(weights, layer)

    def call(self, y_true, y_pred):
        y_true = tf.cast(y_true, tf.float32)
        y_pred = tf.cast(y_pred, tf.float32)
        # One VGG pass over both batches.
        images = keras.applications.vgg16.preprocess_input(tf.concat([y_true, y_pred], 0) * 255.0)
        features = self._features(images, training=False)
        features_true, features_pred = tf.split(features, 2, axis=0)
        error = tf.reduce_mean(tf.square(features_pred - features_true), axis=[-3, -2, -1])
        if self.normalization is None:
            return error
        energy = tf.reduce_mean(tf.square(features_true), axis=[-3, -2, -1])
        return error / tf.maximum(energy, _MIN_ENERGY)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"weights": self.weights, "layer": self.layer, "normalization": self.normalization}
        )
        return config
