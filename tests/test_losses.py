import inspect
import urllib.error
from collections import namedtuple

import keras
import numpy as np
import pytest
import tensorflow as tf

from lsid_keras.losses import (
    JointLoss,
    MSSSIMLoss,
    MultiCriterionLoss,
    VGGFeatureLoss,
    VGGWeightsUnavailableError,
    ms_ssim,
)
from lsid_keras.metrics import PSNR, SSIM

LOSS_KINDS = ["ms_ssim", "vgg_feature", "joint", "multi_criterion"]
VggFile = namedtuple("VggFile", "path model")


def images(seed, shape=(2, 64, 64, 3), low=0.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype("float32")


def image_pair(seed, shape=(2, 64, 64, 3)):
    """A reference and a degraded copy, similar enough for MS-SSIM to be far from 0."""
    x = images(seed, shape)
    return x, 0.7 * x + 0.3 * images(seed + 1000, shape)


def features_at(model, layer, x):
    """`layer` activations of VGG-16 `model` for [0, 1] RGB images `x`, as the loss sees them."""
    truncated = keras.Model(model.input, model.get_layer(layer).output)
    return truncated(keras.applications.vgg16.preprocess_input(x * 255.0)).numpy()


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory):
    """A random-weight VGG-16 (no top) and its weights saved as .weights.h5."""
    keras.utils.set_random_seed(0)
    model = keras.applications.VGG16(include_top=False, weights=None)
    path = tmp_path_factory.mktemp("vgg") / "vgg16_random_notop.weights.h5"
    model.save_weights(path)
    return VggFile(path, model)


@pytest.fixture
def make_loss(vgg_file):
    """Build a loss by kind; the VGG-based ones load the shared random weights file."""

    def make(kind, **kwargs):
        if kind == "ms_ssim":
            return MSSSIMLoss(**kwargs)
        if kind == "joint":
            return JointLoss(**kwargs)
        if kind == "vgg_feature":
            return VGGFeatureLoss(**{"weights": str(vgg_file.path), **kwargs})
        return MultiCriterionLoss(**{"vgg_weights": str(vgg_file.path), **kwargs})

    return make


@pytest.fixture
def restore_dtype_policy():
    policy = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(policy)


# --- every loss ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", LOSS_KINDS)
def test_zero_on_identical_images(kind, make_loss):
    x = images(0)
    loss = make_loss(kind)
    assert float(loss(x, x)) == pytest.approx(0.0, abs=1e-6)
    assert float(loss(x, images(1))) > 0.01


@pytest.mark.parametrize("kind", LOSS_KINDS)
@pytest.mark.parametrize(
    "true_value, pred_value",
    [(1e-6, 1e-6), (0.0, 1e-6), (0.0, 0.0), (1e-6, 0.0)],
    ids=["both_1e-6", "zero_vs_1e-6", "both_zero", "1e-6_vs_zero"],
)
def test_gradients_finite_on_near_black_images(kind, true_value, pred_value, make_loss):
    shape = (1, 32, 32, 3)
    y_true = tf.fill(shape, true_value)
    # Noise far below one 16-bit step, so neither image is exactly flat.
    noise = images(2, shape, 0.0, 1e-9)
    y_pred = tf.Variable(tf.fill(shape, pred_value) + noise)
    loss = make_loss(kind)
    with tf.GradientTape() as tape:
        value = loss(y_true, y_pred)
    gradient = tape.gradient(value, y_pred)
    assert np.isfinite(float(value))
    assert gradient is not None
    assert np.all(np.isfinite(gradient.numpy()))


@pytest.mark.parametrize("kind", LOSS_KINDS)
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_mixed_precision_inputs_computed_in_float32(kind, dtype, make_loss):
    y_true, y_pred = images(3), images(4)
    loss = make_loss(kind)
    low = loss.call(tf.cast(y_true, dtype), tf.cast(y_pred, dtype))
    assert low.dtype == tf.float32
    reference = loss.call(
        tf.cast(tf.cast(y_true, dtype), "float32"), tf.cast(tf.cast(y_pred, dtype), "float32")
    )
    np.testing.assert_allclose(low.numpy(), reference.numpy(), rtol=1e-5)


@pytest.mark.parametrize(
    "kind, kwargs",
    [
        ("ms_ssim", {"power_factors": (1.0, 0.5, 2.0), "filter_size": 7, "filter_sigma": 1.0}),
        ("joint", {"gamma": 0.5}),
        ("vgg_feature", {"layer": "block1_conv2"}),
        ("multi_criterion", {"alpha": 0.7, "beta": 0.6, "vgg_layer": "block1_conv1"}),
    ],
)
def test_config_round_trip_and_serialization(kind, kwargs, make_loss):
    loss = make_loss(kind, name="custom", **kwargs)
    config = loss.get_config()
    parameters = set(inspect.signature(type(loss)).parameters) - {"kwargs"}
    assert set(config) == {"name", "reduction"} | parameters
    assert config["name"] == "custom"
    for key, value in kwargs.items():
        assert config[key] == value

    x, y = images(5), images(6)
    expected = float(loss(x, y))
    clone = type(loss).from_config(config)
    assert clone.get_config() == config
    assert float(clone(x, y)) == pytest.approx(expected, rel=1e-6)

    serialized = keras.saving.serialize_keras_object(loss)
    assert serialized["registered_name"] == f"lsid_keras>{type(loss).__name__}"
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is type(loss)
    assert float(restored(x, y)) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "kind, policy",
    [(kind, "float32") for kind in LOSS_KINDS] + [("multi_criterion", "mixed_bfloat16")],
)
def test_fit_one_step_and_reload(kind, policy, tmp_path, restore_dtype_policy):
    keras.config.set_dtype_policy(policy)
    # VGG-based losses use random weights here: fast and offline.
    loss = {
        "ms_ssim": lambda: MSSSIMLoss(),
        "joint": lambda: JointLoss(),
        "vgg_feature": lambda: VGGFeatureLoss(weights=None),
        "multi_criterion": lambda: MultiCriterionLoss(vgg_weights=None),
    }[kind]()
    inputs = keras.Input(shape=(None, None, 3))
    outputs = keras.layers.Conv2D(3, 3, padding="same", activation="sigmoid")(inputs)
    model = keras.Model(inputs, outputs)
    assert outputs.dtype == keras.config.dtype_policy().compute_dtype
    metrics = [PSNR(), SSIM(), PSNR(protocol="reference"), SSIM(protocol="reference")]
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=loss, metrics=metrics)
    before = [w.numpy().copy() for w in model.trainable_weights]

    history = model.fit(images(7), images(8), batch_size=2, epochs=1, verbose=0).history

    assert np.isfinite(history["loss"][0])
    for name in ("psnr", "ssim", "psnr_reference", "ssim_reference"):
        assert np.isfinite(history[name][0]), name
    assert any(
        not np.array_equal(b, w.numpy())
        for b, w in zip(before, model.trainable_weights, strict=True)
    )

    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.loss) is type(loss)


# --- MSSSIMLoss ---------------------------------------------------------------------------------


def test_ms_ssim_uses_unit_exponents_at_full_size():
    x, y = image_pair(9, (2, 161, 170, 3))
    value = MSSSIMLoss(reduction=None)(x, y).numpy()
    unit = 1.0 - tf.image.ssim_multiscale(x, y, 1.0, power_factors=(1.0,) * 5).numpy()
    wang = 1.0 - tf.image.ssim_multiscale(x, y, 1.0).numpy()
    assert np.all((unit > 0.05) & (unit < 0.95))
    np.testing.assert_allclose(value, unit, atol=1e-4)
    assert not np.allclose(value, wang, rtol=1e-2)


@pytest.mark.parametrize(
    "height, width, scales",
    [
        (11, 11, 1),
        (20, 300, 1),
        (21, 21, 2),
        (32, 32, 2),
        (40, 64, 2),
        (41, 41, 3),
        (64, 64, 3),
        (80, 81, 3),
        (81, 81, 4),
        (160, 512, 4),
        (161, 161, 5),
        (512, 512, 5),
        (1024, 1024, 5),
    ],
)
def test_small_crop_rule_number_of_scales(height, width, scales):
    assert MSSSIMLoss().num_scales(height, width) == scales


@pytest.mark.parametrize("side, scales", [(11, 1), (32, 2), (64, 3), (100, 4)])
def test_small_crop_keeps_first_power_factors(side, scales):
    factors = (1.0, 0.5, 2.0, 1.5, 1.0)
    x, y = image_pair(11, (2, side, side + 3, 3))
    value = MSSSIMLoss(power_factors=factors, reduction=None)(x, y).numpy()
    expected = 1.0 - tf.image.ssim_multiscale(x, y, 1.0, power_factors=factors[:scales]).numpy()
    assert np.all((expected > 0.05) & (expected < 0.95))
    np.testing.assert_allclose(value, expected, atol=1e-4)


def test_too_small_images_raise_clear_error():
    loss = MSSSIMLoss()
    with pytest.raises(ValueError, match=r"at least 11x11 pixels.*height=10, width=64"):
        loss(images(13, (1, 10, 64, 3)), images(14, (1, 10, 64, 3)))
    assert MSSSIMLoss(filter_size=7).num_scales(10, 64) == 1


# Crop sizes unknown while tracing take the tf.switch_case path. Three power factors keep the
# graph (one MS-SSIM per number of scales) quick to build; five work the same way.


def test_unknown_crop_size_chooses_scales_at_run_time():
    loss = MSSSIMLoss(power_factors=(1.0, 0.5, 2.0), reduction=None)
    spec = tf.TensorSpec([None, None, None, 3], tf.float32)
    dynamic = tf.function(loss.call, input_signature=[spec, spec])
    for side in (15, 32, 48):  # 1, 2 and 3 scales
        x, y = image_pair(side, (1, side, side, 3))
        np.testing.assert_allclose(dynamic(x, y).numpy(), loss.call(x, y).numpy(), rtol=1e-5)
    tiny = images(15, (1, 10, 10, 3))
    with pytest.raises(tf.errors.InvalidArgumentError, match="at least 11x11"):
        dynamic(tiny, tiny)


def test_fit_with_crop_size_varying_per_step():
    # GIA-Net draws a new crop size every step; tf.data then gives unknown spatial dimensions.
    crops = [image_pair(30 + side, (1, side, side, 3)) for side in (16, 32)]
    spec = tf.TensorSpec([None, None, None, 3], tf.float32)
    dataset = tf.data.Dataset.from_generator(lambda: iter(crops), output_signature=(spec, spec))
    inputs = keras.Input(shape=(None, None, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(3, 3, padding="same")(inputs))
    loss = MSSSIMLoss(power_factors=(1.0, 1.0))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=loss)
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(dataset.repeat(), steps_per_epoch=2, shuffle=False, verbose=0).history
    assert np.isfinite(history["loss"][0])
    assert all(np.all(np.isfinite(w.numpy())) for w in model.trainable_weights)
    assert any(
        not np.array_equal(b, w.numpy())
        for b, w in zip(before, model.trainable_weights, strict=True)
    )


@pytest.mark.parametrize(
    "shape, factors",
    [
        ((2, 161, 170, 3), (1.0,) * 5),
        ((1, 97, 131, 3), (0.0448, 0.2856, 0.3001, 0.2363)),  # odd sides at every scale
        ((2, 33, 47, 3), (1.0, 2.0)),
    ],
)
def test_separable_ms_ssim_matches_tf_within_1e_4(shape, factors):
    x, y = image_pair(40, shape)
    tf_value = tf.image.ssim_multiscale(x, y, 1.0, power_factors=factors).numpy()
    value = ms_ssim(tf.constant(x), tf.constant(y), power_factors=factors).numpy()
    assert value.dtype == np.float32 and np.all((tf_value > 0.05) & (tf_value < 0.95))
    np.testing.assert_allclose(value, tf_value, atol=1e-4)
    # Against float64 (same formula) the separable float32 filter is no less accurate.
    exact = ms_ssim(tf.constant(x, tf.float64), tf.constant(y, tf.float64), factors).numpy()
    assert np.max(np.abs(value - exact)) <= np.max(np.abs(tf_value - exact)) + 1e-6


def _negatively_correlated(case):
    """Two images whose structure is anticorrelated: "inverse" an image and its negative
    (every scale's contrast-structure term about -1); "fine_inverse" a smooth image plus and
    minus a one-pixel checkerboard, anticorrelated at full resolution (about -1 there) and
    identical from the first 2x2 halving on (the checkerboard averages out, so the coarser
    scales give about +1)."""
    rng = np.random.default_rng(42)
    if case == "inverse":
        x = rng.uniform(0.05, 0.95, (2, 32, 40, 3)).astype("float32")
        return x, 1.0 - x
    rows, cols = np.mgrid[0:64, 0:72]
    smooth = 0.5 + 0.1 * np.sin(rows / 9.0)[..., None] * np.cos(cols / 11.0)[..., None]
    checker = np.where((rows + cols) % 2, 0.2, -0.2)[..., None]
    x = np.broadcast_to(smooth + checker, (2, 64, 72, 3)).astype("float32")
    y = np.broadcast_to(smooth - checker, (2, 64, 72, 3)).astype("float32")
    return x, y


@pytest.mark.parametrize("case, factors", [("inverse", (1.0,)), ("inverse", (1.0, 1.0)),
                                           ("fine_inverse", (1.0, 1.0, 1.0))])
def test_ms_ssim_of_negatively_correlated_images_is_zero(case, factors):
    # A negative contrast-structure term is clipped at 0 (a ReLU per scale, as in
    # tf.image.ssim_multiscale): MS-SSIM stays in [0, 1] and the loss in [0, 1]. Unclipped,
    # the one-scale inverse gives MS-SSIM about -1 and the fine-scale inverse about -1 times
    # the coarse scales' +1 (measured -0.97 without the ReLU on the contrast-structure term):
    # a loss near 2 that would reward inverting the fine detail.
    x, y = _negatively_correlated(case)
    value = ms_ssim(tf.constant(x), tf.constant(y), power_factors=factors).numpy()
    np.testing.assert_allclose(value, 0.0, atol=1e-6)
    np.testing.assert_allclose(
        tf.image.ssim_multiscale(x, y, 1.0, power_factors=factors).numpy(), 0.0, atol=1e-6)
    loss = MSSSIMLoss(power_factors=factors, reduction=None)(x, y).numpy()
    np.testing.assert_allclose(loss, 1.0, atol=1e-6)
    # the coarse scales alone see identical images
    if case == "fine_inverse":
        coarse = tf.nn.avg_pool2d(x, 2, 2, "VALID"), tf.nn.avg_pool2d(y, 2, 2, "VALID")
        np.testing.assert_allclose(ms_ssim(*coarse, power_factors=factors[1:]).numpy(), 1.0,
                                   atol=1e-5)


def test_separable_ms_ssim_gradient_matches_tf():
    x, y = image_pair(41, (1, 48, 52, 3))
    factors = (1.0, 1.0, 1.0)
    grads = []
    for fn in (
        lambda a, b: ms_ssim(a, b, factors),
        lambda a, b: tf.image.ssim_multiscale(a, b, 1.0, power_factors=factors),
    ):
        pred = tf.Variable(y)
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(fn(tf.constant(x), pred))
        grads.append(tape.gradient(value, pred).numpy())
    assert np.abs(grads[1]).max() > 1e-5
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-6 + 1e-3 * np.abs(grads[1]).max())


def test_ms_ssim_rejects_bad_arguments():
    with pytest.raises(ValueError, match="power_factors"):
        MSSSIMLoss(power_factors=())
    with pytest.raises(ValueError, match="filter_size"):
        MSSSIMLoss(filter_size=0)
    with pytest.raises(ValueError, match="filter_sigma"):
        MSSSIMLoss(filter_sigma=0.0)


# --- JointLoss and MultiCriterionLoss ---------------------------------------------------------


def test_joint_loss_gamma_one_is_l1_of_constant_images():
    y_true = np.full((2, 32, 32, 3), 0.2, "float32")
    y_pred = np.full((2, 32, 32, 3), 0.5, "float32")
    assert float(JointLoss(gamma=1.0)(y_true, y_pred)) == pytest.approx(0.3, abs=1e-6)


def test_joint_loss_combines_l1_and_ms_ssim():
    x, y = image_pair(16)
    l1 = np.abs(x - y).mean(axis=(1, 2, 3))
    ms = MSSSIMLoss(reduction=None)(x, y).numpy()
    np.testing.assert_allclose(JointLoss(reduction=None)(x, y), 0.84 * l1 + 0.16 * ms, rtol=1e-5)
    np.testing.assert_allclose(JointLoss(gamma=0.0, reduction=None)(x, y), ms, rtol=1e-6)


def test_joint_loss_gamma_on_ms_ssim_is_zhaos_placement():
    x, y = image_pair(17)
    l1 = np.abs(x - y).mean(axis=(1, 2, 3))
    ms = MSSSIMLoss(reduction=None)(x, y).numpy()
    zhao = JointLoss(gamma_on="ms_ssim", reduction=None)(x, y).numpy()
    np.testing.assert_allclose(zhao, 0.16 * l1 + 0.84 * ms, rtol=1e-5)
    text = JointLoss(reduction=None)(x, y).numpy()
    assert not np.allclose(zhao, text, rtol=1e-2)
    with pytest.raises(ValueError, match="gamma_on='ssim'"):
        JointLoss(gamma_on="ssim")


@pytest.mark.parametrize("alpha, beta", [(0.9, 0.99), (0.3, 0.6)])
def test_multi_criterion_weights_combine_as_in_the_paper(alpha, beta, vgg_file):
    x, y = image_pair(18)
    l1 = np.abs(x - y).mean(axis=(1, 2, 3))
    ms = MSSSIMLoss(reduction=None)(x, y).numpy()
    feat = VGGFeatureLoss(weights=str(vgg_file.path), reduction=None)(x, y).numpy()
    assert np.all(feat > 0)
    expected = alpha * (beta * l1 + (1 - beta) * ms) + (1 - alpha) * 0.23 * feat
    weights = str(vgg_file.path)
    loss = MultiCriterionLoss(alpha=alpha, beta=beta, vgg_weights=weights, reduction=None)
    np.testing.assert_allclose(loss(x, y).numpy(), expected, rtol=1e-5)
    raw = VGGFeatureLoss(weights=weights, normalization=None, reduction=None)(x, y).numpy()
    unscaled = MultiCriterionLoss(alpha=alpha, beta=beta, vgg_weights=weights, reduction=None,
                                  vgg_normalization=None, feature_scale=1.0)
    expected = alpha * (beta * l1 + (1 - beta) * ms) + (1 - alpha) * raw
    np.testing.assert_allclose(unscaled(x, y).numpy(), expected, rtol=1e-5)


def test_combined_losses_reject_weights_outside_unit_interval():
    with pytest.raises(ValueError, match="gamma"):
        JointLoss(gamma=1.5)
    with pytest.raises(ValueError, match="alpha"):
        MultiCriterionLoss(alpha=-0.1, vgg_weights=None)
    with pytest.raises(ValueError, match="beta"):
        MultiCriterionLoss(beta=2.0, vgg_weights=None)
    with pytest.raises(ValueError, match="feature_scale=0"):
        MultiCriterionLoss(feature_scale=0, vgg_weights=None)


# --- VGGFeatureLoss -----------------------------------------------------------------------------


def test_vgg_random_weights_work_offline():
    x, y = images(20), images(21)
    loss = VGGFeatureLoss(weights=None)
    assert np.isfinite(float(loss(x, y)))
    assert float(loss(x, y)) > 0.0


@pytest.mark.parametrize("layer", ["block2_conv2", "block1_conv1", "block3_conv1"])
def test_vgg_local_weights_file_gives_the_saved_models_features(layer, vgg_file):
    x, y = images(22), images(23)
    loss = VGGFeatureLoss(weights=vgg_file.path, layer=layer, normalization=None, reduction=None)
    saved = features_at(vgg_file.model, layer, y) - features_at(vgg_file.model, layer, x)
    expected = np.mean(saved**2, axis=(1, 2, 3))
    np.testing.assert_allclose(loss(x, y).numpy(), expected, rtol=1e-5)
    other = VGGFeatureLoss(weights=None, layer=layer, normalization=None, reduction=None)
    other = other(x, y).numpy()
    assert not np.allclose(other, expected, rtol=1e-4)


def test_vgg_reference_energy_normalisation(vgg_file):
    x, y = images(30), images(31)
    layer = "block2_conv2"
    true, pred = features_at(vgg_file.model, layer, x), features_at(vgg_file.model, layer, y)
    expected = np.mean((pred - true) ** 2, axis=(1, 2, 3)) / np.mean(true**2, axis=(1, 2, 3))
    loss = VGGFeatureLoss(weights=vgg_file.path, reduction=None)
    np.testing.assert_allclose(loss(x, y).numpy(), expected, rtol=1e-5)
    # Dimensionless: scaling every activation of the compared layer (as larger, trained
    # weights would) leaves it unchanged, while the raw form grows with the square.
    raw = VGGFeatureLoss(weights=vgg_file.path, normalization=None, reduction=None)
    conv = loss._features.get_layer(layer)
    raw_conv = raw._features.get_layer(layer)
    for layer_weights in (conv, raw_conv):
        kernel, bias = layer_weights.get_weights()
        layer_weights.set_weights([kernel * 10.0, bias * 10.0])
    np.testing.assert_allclose(loss(x, y).numpy(), expected, rtol=1e-4)
    raw_expected = 100.0 * np.mean((pred - true) ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(raw(x, y).numpy(), raw_expected, rtol=1e-4)
    with pytest.raises(ValueError, match="normalization='layer'"):
        VGGFeatureLoss(weights=None, normalization="layer")


def test_vgg_legacy_h5_weights_file(vgg_file, tmp_path):
    # The Keras ImageNet download is a legacy (Keras 2) .h5 file; Keras 3 only writes .weights.h5.
    h5py = pytest.importorskip("h5py")
    from keras.src.legacy.saving import legacy_h5_format

    path = tmp_path / "vgg16_notop.h5"
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, vgg_file.model)
    x, y = images(24), images(25)
    saved = features_at(vgg_file.model, "block2_conv2", y) - features_at(
        vgg_file.model, "block2_conv2", x
    )
    value = VGGFeatureLoss(weights=path, normalization=None, reduction=None)(x, y).numpy()
    np.testing.assert_allclose(value, np.mean(saved**2, axis=(1, 2, 3)), rtol=1e-5)


def test_vgg_missing_weights_path_names_it(tmp_path):
    missing = tmp_path / "nowhere" / "vgg16.h5"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        VGGFeatureLoss(weights=missing)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        MultiCriterionLoss(vgg_weights=str(missing))


def test_vgg_unknown_layer_lists_valid_ones():
    with pytest.raises(ValueError, match="block2_conv2.*Received: layer='conv2'"):
        VGGFeatureLoss(weights=None, layer="conv2")


def test_vgg_download_failure_explains_how_to_provide_weights(monkeypatch, tmp_path):
    from keras.src.backend import config as keras_config
    from keras.src.utils import file_utils

    # No cached copy (empty Keras home) and no network: deterministic and offline.
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path))

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("network unreachable (test)")

    monkeypatch.setattr(file_utils, "urlretrieve", offline)

    for make in (VGGFeatureLoss, MultiCriterionLoss):
        with pytest.raises(VGGWeightsUnavailableError) as info:
            make()
        message = str(info.value)
        assert isinstance(info.value, RuntimeError)
        assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
        assert "weights='/path/to/" in message
        assert str(tmp_path / "models") in message
        assert "network unreachable (test)" in message


def test_vgg_is_built_once_per_loss(monkeypatch):
    calls = []
    build = keras.applications.VGG16

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return build(*args, **kwargs)

    monkeypatch.setattr(keras.applications, "VGG16", counting)
    loss = VGGFeatureLoss(weights=None)
    x, y = images(26), images(27)
    loss(x, y)
    loss(y, x)
    tf.function(loss)(x, y)
    assert len(calls) == 1


def test_vgg_computes_in_float32_under_mixed_policy(vgg_file, restore_dtype_policy):
    x, y = images(28), images(29)
    expected = VGGFeatureLoss(weights=vgg_file.path, reduction=None)(x, y).numpy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    loss = VGGFeatureLoss(weights=vgg_file.path, reduction=None)
    assert keras.config.dtype_policy().name == "mixed_bfloat16"
    np.testing.assert_allclose(loss(x, y).numpy(), expected, rtol=1e-5)


def test_gradient_l1_ignores_offsets_and_scores_lost_detail():
    from lsid_keras.losses.joint import gradient_l1

    x, _ = image_pair(19)
    np.testing.assert_allclose(gradient_l1(x, x + 0.1).numpy(), 0.0, atol=1e-6)
    # One vertical step of height 0.5 in a 4x4 image, lost: 0.5 in 4 of the 12 horizontal
    # differences, none in the vertical ones.
    step = np.zeros((1, 4, 4, 1), "float32")
    step[..., 2:, :] = 0.5
    np.testing.assert_allclose(gradient_l1(step, np.zeros_like(step)).numpy(),
                               [0.5 * (0.5 * 4 / 12)], rtol=1e-6)
    blurred = (x + np.roll(x, 1, axis=2) + np.roll(x, 1, axis=1)) / 3
    assert np.all(gradient_l1(x, blurred).numpy() > 0.5 * gradient_l1(x, 0 * x).numpy())


def test_joint_loss_detail_weight_adds_the_gradient_term():
    from lsid_keras.losses.joint import gradient_l1

    x, y = image_pair(20)
    plain = JointLoss(reduction=None)
    assert plain.term_names == ("l1", "ms_ssim_loss")
    detail = JointLoss(detail_weight=0.7, reduction=None)
    assert detail.term_names == ("l1", "ms_ssim_loss", "gradient_l1")
    np.testing.assert_allclose(detail(x, y).numpy(),
                               plain(x, y).numpy() + 0.7 * gradient_l1(x, y).numpy(), rtol=1e-5)
    again = JointLoss.from_config(detail.get_config())
    assert again.detail_weight == 0.7 and again.term_names == detail.term_names
    with pytest.raises(ValueError, match="detail_weight"):
        JointLoss(detail_weight=-0.1)
