"""Global models (GIA-Net, SE-UNet) run in tiles pool over the whole frame (issue 10.3)."""

import keras
import numpy as np
import pytest

from lsid_keras.enhance import WHOLE_FRAME, enhance_packed, load_enhancer
from lsid_keras.models import get_model
from lsid_keras.models.global_branch import global_layer, split_encoder_decoder
from lsid_keras.tiling import (
    KEPT_DTYPE,
    frame_mean,
    keras_encoder_decoder,
    keras_predictor,
    padded_size,
    reflect_indices,
    run_tiled,
    run_tiled_split,
    run_untiled,
    tile_plan,
)

#: The halo these tests tile with: random-init width-4 nets' context reaches less far than the
#: trained model's (`HALO` is measured on that), and small tiles keep the tests fast;
#: what they test is the frame average, not the halo.
HALO = 64


def _frame(height=150, width=230, seed=0):
    """A packed frame whose halves differ strongly (bright ramp on top, dark below), so
    that each tile's own average is far from the frame's."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width]
    base = (cols / width) ** 2 * (rows < height / 2)
    return np.stack([base + 0.05 * rng.random((height, width)) for _ in range(4)],
                    axis=-1).astype(np.float32)


def _strong_gia(packed, gain=500.0, output_std=0.25, seed=1):
    """A random-init width-4 GIA-Net whose global branch weighs `gain` times its init
    (a random init's branch is too weak to show), its output scaled to a trained net's std."""
    keras.utils.set_random_seed(seed)
    model = get_model("gia_net", width=4)
    gia = global_layer(model)
    kernel, bias = gia.fuse_conv.get_weights()
    kernel[:, :, gia.input.shape[-1]:, :] *= gain  # the rows that read the global branch
    gia.fuse_conv.set_weights([kernel, bias])
    last = model.get_layer("conv10")
    kernel, bias = last.get_weights()
    scale = output_std / run_untiled(keras_predictor(model), packed, 2).std()
    last.set_weights([kernel * scale, bias * scale])
    return model


def test_local_models_have_no_global_half():
    assert split_encoder_decoder(get_model("sid", width=4)) is None
    assert global_layer(get_model("gia_net", width=4)).name == "gia"
    assert global_layer(get_model("se_unet", width=4)).name == "squeeze_excite"


def test_frame_mean_is_the_average_over_the_untiled_padded_frame():
    """With a features map that is exactly local (16 x 16 block means), the tiled frame
    average equals the untiled one to float precision: the shares partition the frame."""
    def block_means(batch):
        n, h, w, c = batch.shape
        return batch.reshape(n, h // 16, 16, w // 16, 16, c).mean(axis=(2, 4))

    halo = 32  # any halo: the shares partition the frame padded by it
    packed = _frame(101, 187)
    height, width = padded_size(101, 187, 16, halo)
    padded = packed[np.ix_(reflect_indices(101, height, halo),
                           reflect_indices(187, width, halo))]
    expected = padded.mean(axis=(0, 1))
    for tile in (80, 112, 160, 320):
        got = frame_mean(block_means, packed, tile=tile, halo=halo)
        assert got.shape == (1, 1, 1, 4)
        np.testing.assert_allclose(got.ravel(), expected, rtol=1e-4, err_msg=str(tile))


def test_gia_net_gives_one_picture_whatever_the_tile_size():
    """Issue 10's done-when: the same GIA-Net output, edges included, for several tile sizes
    and untiled, within one 8-bit level. Pooling each tile over itself (the old tiler) moves
    it by far more: the test can fail."""
    packed = _frame()
    model = _strong_gia(packed)
    halves = keras_encoder_decoder(*split_encoder_decoder(model))
    untiled = run_untiled(keras_predictor(model), packed, 2, halo=HALO)
    per_tile_errors = []
    for tile in (160, 192, 256):
        tiled = run_tiled_split(halves.encode, halves.decode, packed, tile=tile,
                                halo=HALO, block=2)
        error = np.abs(tiled - untiled) * 255
        assert error.max() < 1.0, (tile, error.max())
        per_tile = run_tiled(keras_predictor(model), packed, tile=tile, halo=HALO,
                             block=2)
        per_tile_errors.append(np.abs(per_tile - untiled).max() * 255)
    assert max(per_tile_errors) > 5.0, per_tile_errors


def test_enhancer_runs_a_saved_gia_net_with_the_frame_average(tmp_path):
    packed = _frame()
    path = tmp_path / "gia.keras"
    _strong_gia(packed).save(path)
    enhancer = load_enhancer(path)
    assert enhancer.encoder_decoder is not None
    whole = enhance_packed(enhancer, packed, tile=WHOLE_FRAME, halo=HALO)
    tiled = enhance_packed(enhancer, packed, tile=160, halo=HALO)
    assert np.abs(tiled - whole).max() * 255 < 1.0
    sid = load_enhancer(_saved_sid(tmp_path))
    assert sid.encoder_decoder is None


def _saved_sid(folder):
    path = folder / "sid.keras"
    get_model("sid", width=4).save(path)
    return path


@pytest.mark.parametrize("name", ["gia_net", "se_unet"])
def test_encoder_then_decoder_is_the_model(name):
    """The two halves of one encoder pass compose to the model: the decoder given the
    tile's own average reproduces the model's output on that tile."""
    keras.utils.set_random_seed(3)
    model = get_model(name, width=4)
    encoder, decoder = split_encoder_decoder(model)
    batch = np.random.default_rng(0).random((2, 64, 64, 4), dtype=np.float32)
    kept = [np.asarray(x) for x in encoder(batch)]
    assert [k.shape[1:] for k in kept] == [(64, 64, 4), (32, 32, 8), (16, 16, 16), (8, 8, 32),
                                           (4, 4, 64)]
    mean = kept[-1].mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(decoder([*kept, mean]), model(batch), atol=1e-5)
    assert encoder.count_params() + decoder.count_params() == model.count_params()
    assert split_encoder_decoder(get_model("sid", width=4)) is None


def test_one_encoder_pass_equals_untiled_and_keeps_float16():
    """run_tiled_split (encoder once, outputs kept in float16, cast in the encoder's graph)
    gives the untiled picture within one 8-bit level and the float32-kept one within 0.2,
    and runs each tile's encoder once."""
    packed = _frame()
    model = _strong_gia(packed)
    encoder, decoder = split_encoder_decoder(model)
    encode, decode = keras_predictor(encoder, KEPT_DTYPE), keras_predictor(decoder)
    calls = []

    def counted_encode(batch):
        calls.append(len(batch))
        return encode(batch)

    untiled = run_untiled(keras_predictor(model), packed, 2, halo=HALO)
    one_pass = run_tiled_split(counted_encode, decode, packed, tile=160, halo=HALO,
                               block=2, batch_size=2)
    float32_kept = run_tiled_split(keras_predictor(encoder), decode, packed, tile=160,
                                   halo=HALO, block=2, kept_dtype=np.float32)
    tiles = len(tile_plan(*packed.shape[:2], tile=160, halo=HALO))
    assert tiles > 2 and calls == [2] * -(-tiles // 2)  # every tile's encoder runs once
    assert encode(np.zeros((1, 160, 160, 4), np.float32))[0].dtype == np.float16
    assert np.abs(one_pass - float32_kept).max() * 255 < 0.2
    assert np.abs(one_pass - untiled).max() * 255 < 1.0


def test_kept_outputs_round_to_their_dtype():
    """The kept encoder outputs really are rounded: keeping them in a coarse dtype changes
    the picture (so the float16 test above measures something)."""
    packed = _frame()
    model = _strong_gia(packed)
    encode, decode = (keras_predictor(half) for half in split_encoder_decoder(model))
    fine = run_tiled_split(encode, decode, packed, tile=160, halo=HALO, block=2,
                           kept_dtype=np.float32)
    import ml_dtypes

    coarse = run_tiled_split(encode, decode, packed, tile=160, halo=HALO, block=2,
                             kept_dtype=ml_dtypes.float8_e4m3fn)
    assert np.abs(coarse - fine).max() * 255 > 1.0
