import keras
import numpy as np
import pytest
from keras_checks import assert_fits_one_step, assert_saves_and_loads

from lsid_keras.layers import GlobalInfoAware, SeeWider, SqueezeExcite, SubPixel
from lsid_keras.models import CAMERAS, PRESETS, build_unet, count_macs, frame_gflops, get_model

SONY_FRAME = CAMERAS["sony"].frame


def _sony_gflops(model):
    return frame_gflops(model, *SONY_FRAME, block_size=2)


@pytest.fixture(scope="module")
def sid_sony():
    return get_model("sid", camera="sony")


@pytest.mark.parametrize("camera, params", [("sony", 7_760_268), ("fuji", 7_762_203)])
def test_sid_parameter_count_matches_reference(camera, params):
    assert get_model("sid", camera=camera).count_params() == params


def test_sid_sony_gflops_within_one_percent_of_paper(sid_sony):
    assert _sony_gflops(sid_sony) == pytest.approx(1112.92, rel=0.01)


def test_gia_net_cost_ratios_match_paper(sid_sony):
    gia = get_model("gia_net", camera="sony")
    assert gia.count_params() / sid_sony.count_params() == pytest.approx(1.07, abs=0.01)
    assert _sony_gflops(gia) / _sony_gflops(sid_sony) == pytest.approx(1.008, abs=0.003)


def test_zamir_is_the_sid_restoration_net(sid_sony):
    zamir = get_model("zamir", camera="sony")

    def architecture(model):
        return [
            (type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "name"})
            for layer in model.layers
        ]

    assert architecture(zamir) == architecture(sid_sony)
    assert zamir.count_params() == sid_sony.count_params()


def test_count_macs_is_exact_on_a_tiny_net():
    # in 4 -> conv 3x3 to 2 (LReLU) ... hand count for width 1 on an 16x16 input.
    model = build_unet(width=1)
    h = w = 16
    widths = [1, 2, 4, 8, 16]
    macs, cin, size = 0, 4, h * w
    for level, c in enumerate(widths):
        macs += size * 9 * (cin * c + c * c)
        cin = c
        if level < 4:
            size //= 4
    for c in reversed(widths[:-1]):
        size *= 4
        macs += (size // 4) * 4 * cin * c  # transposed 2x2 stride 2
        macs += size * 9 * (2 * c * c + c * c)
        cin = c
    macs += size * 12 * cin
    assert count_macs(model, h, w) == macs


def test_reference_layer_order_and_settings(sid_sony):
    names = [layer.name for layer in sid_sony.layers]
    convs = [n for n in names if n.startswith("conv") and not n.endswith("lrelu")]
    assert convs[:10] == [f"conv{i}_{j}" for i in range(1, 6) for j in (1, 2)]
    assert convs[-1] == "conv10" and len([n for n in names if n.startswith("up")]) == 4
    # 18 3x3 convs + 4 transposed + final 1x1 = 23 conv layers (Zamir et al.)
    kinds = [type(layer).__name__ for layer in sid_sony.layers]
    assert kinds.count("Conv2D") + kinds.count("Conv2DTranspose") == 23
    for layer in sid_sony.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose):
            assert not layer.use_bias and layer.strides == (2, 2)
        elif isinstance(layer, keras.layers.LeakyReLU):
            assert layer.negative_slope == pytest.approx(0.2)
        elif isinstance(layer, keras.layers.Concatenate):
            upsampled, skip = (t._keras_history.operation.name for t in layer.input)
            assert upsampled.startswith("up") and skip.endswith("_lrelu")
    last_conv = sid_sony.get_layer("conv10")
    assert last_conv.filters == 12 and last_conv.kernel_size == (1, 1)
    assert last_conv.activation.__name__ == "linear"
    assert isinstance(sid_sony.layers[-1], SubPixel) and sid_sony.layers[-1].block_size == 2


def test_fuji_ends_in_27_channels_and_block_3():
    model = get_model("sid", camera="fuji", width=2)
    assert model.get_layer("conv10").filters == 27
    assert model.layers[-1].block_size == 3
    assert model.input_shape == (None, None, None, 9)


@pytest.mark.parametrize(
    "name, module",
    [("gia_net", GlobalInfoAware), ("se_unet", SqueezeExcite), ("sw_net", SeeWider)],
)
def test_ablation_modules_are_in_place(name, module):
    model = get_model(name, width=4)
    found = [layer for layer in model.layers if isinstance(layer, module)]
    assert found
    if module is not SeeWider:
        # one module, right after the bottleneck conv pair
        assert len(found) == 1
        index = model.layers.index(found[0])
        assert model.layers[index - 1].name == "conv5_2_lrelu"
    else:
        assert len(found) == 18


def test_sid_dilated_dilates_every_3x3_conv():
    model = get_model("sid_dilated", width=4)
    rates = {
        layer.dilation_rate
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D) and layer.kernel_size == (3, 3)
    }
    assert rates == {(2, 2)}


def _small_model_and_batch(name, camera):
    extra = {"se_reduction": 4} if name == "se_unet" else {}
    model = get_model(name, camera=camera, width=4, **extra)
    block = CAMERAS[camera].block_size
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(1, 16, 32, CAMERAS[camera].packed_channels)).astype("float32")
    y = rng.uniform(size=(1, 16 * block, 32 * block, 3)).astype("float32")
    assert model(x).shape == y.shape
    return model, x, y


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_sony_preset_fits_saves_and_loads(name, tmp_path):
    model, x, y = _small_model_and_batch(name, "sony")
    assert_fits_one_step(model, x, y)
    assert_saves_and_loads(model, x, tmp_path)


# Fuji presets differ from Sony ones only in channel counts: all save and load, two train
# (tracing a fit step costs ~10 s per preset on 2 cores).
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_fuji_preset_saves_and_loads(name, tmp_path):
    model, x, y = _small_model_and_batch(name, "fuji")
    if name in ("sid", "gia_net"):
        assert_fits_one_step(model, x, y)
    assert_saves_and_loads(model, x, tmp_path)


def test_non_multiple_of_16_input_is_refused_with_nearest_size():
    model = get_model("sid", width=2)
    message = "height 50 is not a multiple of 16.*nearest valid height: 48"
    with pytest.raises(ValueError, match=message):
        model(np.zeros((1, 50, 32, 4), "float32"))


def test_unknown_names_and_fixed_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown model 'unet3'"):
        get_model("unet3")
    with pytest.raises(ValueError, match="unknown camera 'nikon'"):
        get_model("sid", camera="nikon")
    with pytest.raises(ValueError, match="in_channels"):
        get_model("sid", in_channels=3)
    with pytest.raises(ValueError, match="bad override"):
        get_model("sid", colour=3)
    with pytest.raises(ValueError, match="conv_block"):
        get_model("sid", conv_block="fancy")
