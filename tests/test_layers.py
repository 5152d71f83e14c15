import keras
import numpy as np
import pytest
import tensorflow as tf
from keras_checks import run_layer_test

from lsid_keras.layers import GlobalInfoAware, SeeWider, SizeCheck, SqueezeExcite, SubPixel


@pytest.mark.parametrize(
    "layer_cls, kwargs, in_shape, out_shape",
    [
        (SubPixel, {"block_size": 2}, (2, 4, 6, 12), (2, 8, 12, 3)),
        (SubPixel, {"block_size": 3}, (1, 4, 4, 27), (1, 12, 12, 3)),
        (GlobalInfoAware, {}, (2, 8, 8, 16), (2, 8, 8, 16)),
        (
            GlobalInfoAware,
            {"reduced_channels": 3, "output_channels": 5, "conv_before_upsample": False},
            (1, 8, 8, 16),
            (1, 8, 8, 5),
        ),
        (SqueezeExcite, {"reduction": 4}, (2, 8, 8, 16), (2, 8, 8, 16)),
        (SeeWider, {"filters": 6, "dilation_rate": 2, "negative_slope": 0.2}, (1, 8, 8, 3),
         (1, 8, 8, 6)),
        (SizeCheck, {"multiple": 16}, (1, 16, 32, 4), (1, 16, 32, 4)),
    ],
)
def test_layer_contract(layer_cls, kwargs, in_shape, out_shape, tmp_path):
    run_layer_test(layer_cls, kwargs, in_shape, out_shape, tmp_path)


def test_sub_pixel_uses_tensorflow_channel_order():
    # Channel c of packed pixel (i, j) lands at (2i + c // 6, 2j + (c // 3) % 2), colour c % 3.
    x = np.arange(12, dtype="float32").reshape(1, 1, 1, 12)
    y = SubPixel(2)(x).numpy()[0]
    for c in range(12):
        assert y[c // 6, (c // 3) % 2, c % 3] == c


def test_gia_parameter_count_matches_paper_defaults():
    layer = GlobalInfoAware()
    layer.build((None, None, None, 512))
    # C1 = 256 on the pooled vector, C3 = 512 on the concat of 512 + 256 channels, with biases.
    assert layer.count_params() == (512 * 256 + 256) + (768 * 512 + 512)


def test_gia_conv_order_does_not_change_outputs():
    x = np.random.default_rng(2).normal(size=(2, 6, 10, 8)).astype("float32")
    early = GlobalInfoAware(conv_before_upsample=True)
    late = GlobalInfoAware(conv_before_upsample=False)
    early(x), late(x)
    late.set_weights(early.get_weights())
    np.testing.assert_allclose(early(x), late(x), atol=1e-5)


def test_gia_matches_hand_computation():
    x = np.random.default_rng(3).normal(size=(1, 4, 4, 4)).astype("float32")
    layer = GlobalInfoAware(reduced_channels=2, output_channels=3)
    y = layer(x).numpy()
    w1, b1, w3, b3 = (v.numpy() for v in layer.weights)
    glob = x.mean(axis=(1, 2)) @ w1[0, 0] + b1  # (1, 2)
    fused = np.concatenate([x, np.broadcast_to(glob[:, None, None], (1, 4, 4, 2))], -1)
    np.testing.assert_allclose(y, fused @ w3[0, 0] + b3, rtol=1e-5, atol=1e-5)


def test_squeeze_excite_gates_channels_in_unit_interval():
    x = np.ones((1, 4, 4, 8), "float32")
    y = SqueezeExcite(reduction=2)(x).numpy()
    assert np.all((y > 0) & (y < 1))
    assert np.allclose(y, y[:, :1, :1, :])  # one gate per channel


def test_see_wider_halves_are_plain_and_dilated():
    layer = SeeWider(4, dilation_rate=2)
    layer.build((None, 9, 9, 1))
    assert layer.local_conv.dilation_rate == (1, 1)
    assert layer.context_conv.dilation_rate == (2, 2)
    # An impulse reaches the dilated half at distance 2, not the plain half.
    x = np.zeros((1, 9, 9, 1), "float32")
    x[0, 4, 4, 0] = 1.0
    layer.local_conv.kernel.assign(np.ones((3, 3, 1, 2), "float32"))
    layer.context_conv.kernel.assign(np.ones((3, 3, 1, 2), "float32"))
    y = layer(x).numpy()[0]
    assert y[4, 6, 0] == 0 and y[4, 6, 2] == 1
    assert y[4, 5, 0] == 1 and y[4, 5, 2] == 0


def test_see_wider_has_plain_conv_parameter_count():
    layer = SeeWider(64)
    layer.build((None, None, None, 32))
    plain = keras.layers.Conv2D(64, 3)
    plain.build((None, None, None, 32))
    assert layer.count_params() == plain.count_params()


@pytest.mark.parametrize("size, nearest", [((1, 40, 32, 4), 48), ((1, 16, 100, 4), 96)])
def test_size_check_names_size_and_nearest_valid(size, nearest):
    with pytest.raises(ValueError, match=rf"not a multiple of 16.*nearest valid \w+: {nearest}"):
        SizeCheck(16)(np.zeros(size, "float32"))


def test_size_check_asserts_in_graph_with_dynamic_shape():
    layer = SizeCheck(16)
    fn = tf.function(layer, input_signature=[tf.TensorSpec((1, None, None, 1))])
    assert fn(tf.zeros((1, 32, 16, 1))).shape == (1, 32, 16, 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="multiples of 16"):
        fn(tf.zeros((1, 30, 16, 1)))


@pytest.mark.parametrize(
    "layer_cls, kwargs",
    [
        (SubPixel, {"block_size": 1}),
        (GlobalInfoAware, {"reduced_channels": 0}),
        (SqueezeExcite, {"reduction": 0}),
        (SeeWider, {"filters": 1}),
        (SizeCheck, {"multiple": 0}),
    ],
)
def test_bad_arguments_are_refused_early(layer_cls, kwargs):
    with pytest.raises(ValueError, match="Received"):
        layer_cls(**kwargs)
