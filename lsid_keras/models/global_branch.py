"""Running a global model (GIA-Net, SE-UNet) tile by tile as if it saw the whole frame.

GIA-Net's module and the squeeze-excite ablation average their bottleneck feature map over the
whole image: that average is their point, and the papers report whole frames. A tile of a
frame pools only over itself, so a tiled run differs from a whole-frame one (and from another
tile size) by far more than the tiles' seams. The fix is to average the bottleneck map over
every tile first and give each tile that frame average (`lsid_keras.tiling`), with one
encoder pass (`split_encoder_decoder`, what `lsid enhance` and the exports run): every tile
through the `encoder` (the four skips and the bottleneck map), which the tiler
keeps (float16 for Keras, int8 for an int8 export) while it averages each tile's share of the
bottleneck map into the frame's average; then every kept tile through the `decoder` with that
average (`tiling.run_tiled_split`; exports: `lsid_keras.export.card`). A frame costs one
network pass plus the tiles' overlap; the kept maps cost `31 * width / 16` values per packed pixel
of tile (0.31 GB in float16 for the width-16 shipped model on a Sony frame in 6 tiles of
912). (Card version 2 ran the encoder twice instead, a features pass and then the whole
network with the average: about 1.3x the time of one pass, measured.)

Both halves are built by `build_unet` from the trained model's own layer names and weights:
no second definition of the network.
"""

from lsid_keras.models.unet import GLOBAL_LAYER_NAMES, build_unet, unet_args_of


def _with_weights_of(part, model):
    """`part` (a `build_unet` model) with copies of `model`'s weights, layer by layer name."""
    for layer in part.layers:
        if layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    return part


def global_layer(model):
    """The GIA or squeeze-excite layer of a `build_unet` model, or None for a local model."""
    names = {layer.name for layer in model.layers}
    for name in GLOBAL_LAYER_NAMES.values():
        if name in names:
            return model.get_layer(name)
    return None


def split_encoder_decoder(model, input_size=None):
    """A global model's encoder and decoder for one-encoder-pass tiled inference, or None for
    a local model.

    Args:
        model: a Keras model `build_unet` made (e.g. a trained GIA-Net from `load_model`).
        input_size: None (any tile side, a multiple of 16) or the fixed tile side T in packed
            pixels (for a fixed-shape export: every input and output shape is then known).

    Returns:
        `(encoder, decoder)` or None, both in the model's dtype policy, holding copies of its
        weights (see `build_unet`'s `part`):
        - `encoder`: packed tiles `(n, T, T, C)` to `[skip1, ..., skip4, bottleneck]`, of
          sides T, T/2, T/4, T/8 and T/16 and channels `width * (1, 2, 4, 8, 16)`.
        - `decoder`: `[skip1, ..., skip4, bottleneck, frame_mean]`, `frame_mean`
          `(n, 1, 1, 16 * width)` the frame's average of the bottleneck map, to the model's
          output `(n, T * b, T * b, 3)` float32.
    """
    if global_layer(model) is None:
        return None
    args = unet_args_of(model)
    return tuple(
        _with_weights_of(build_unet(**args, name=f"{model.name}_{part}", part=part,
                                    input_size=input_size), model)
        for part in ("encoder", "decoder"))
