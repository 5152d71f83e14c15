"""Running a global model (GIA-Net, SE-UNet) tile by tile as if it saw the whole frame.

GIA-Net's module and the squeeze-excite ablation average their bottleneck feature map over the
whole image: that average is their point, and the papers report whole frames. A tile of a
frame pools only over itself, so a tiled run differs from a whole-frame one (and from another
tile size) by far more than the tiles' seams. The fix is two passes (`lsid_keras.tiling`):

1. `features`: every tile through the encoder up to the module's input; the tiler averages
   each tile's share of the bottleneck map into the frame's average, exactly the average a
   whole-frame pass computes (up to the tiles' seam error).
2. `predict`: every tile through the whole network again, the module taking that frame
   average (`build_unet(frame_mean_input=True)`) instead of its tile's own.

The encoder runs twice, so a tiled global model costs about 1.45x a tiled local one (the
encoder is about 45 % of the U-Net's multiply-adds). Both halves are built from the trained
model's own layers and weights: no second definition of the network.
"""

from lsid_keras.models.unet import GLOBAL_LAYER_NAMES, build_unet, unet_args_of


def global_layer(model):
    """The GIA or squeeze-excite layer of a `build_unet` model, or None for a local model."""
    names = {layer.name for layer in model.layers}
    for name in GLOBAL_LAYER_NAMES.values():
        if name in names:
            return model.get_layer(name)
    return None


def split_global(model):
    """The two halves of a global model for tiled inference, or None for a local model.

    Args:
        model: a Keras model `build_unet` made (e.g. a trained GIA-Net from `load_model`).

    Returns:
        `(features, with_frame_mean)` or None:
        - `features`: `keras.Model` mapping packed tiles `(n, T, T, C)` to the bottleneck map
          the module averages, `(n, T / 16, T / 16, 16 * width)`, in the model's compute dtype.
        - `with_frame_mean`: `keras.Model` mapping `[tiles, frame_mean]`, `frame_mean`
          `(n, 1, 1, 16 * width)` float32, to the model's output; it shares no variables with
          `model` but holds copies of all of its weights.
    """
    import keras

    layer = global_layer(model)
    if layer is None:
        return None
    features = keras.Model(model.input, layer.input, name=f"{model.name}_features")
    twin = build_unet(**unet_args_of(model), name=f"{model.name}_with_frame_mean",
                      frame_mean_input=True)
    for twin_layer in twin.layers:
        if twin_layer.weights:
            twin_layer.set_weights(model.get_layer(twin_layer.name).get_weights())
    return features, twin
