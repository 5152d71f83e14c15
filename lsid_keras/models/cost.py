"""Parameter and FLOP counts of fully convolutional models, as the papers report them."""

import numpy as np
import tensorflow as tf

# Two packed-input sizes (multiples of 16) whose MAC counts fix the model's cost as an affine
# function of the input area: every convolution scales with area, a global-branch conv on a
# pooled 1x1 map (GIA, SE) does not.
_PROBE_SIZES = ((64, 64), (128, 192))


def _graph_macs(model, height, width):
    """Multiply-accumulates of one forward pass on a `(1, height, width, C)` input."""
    spec = tf.TensorSpec((1, height, width, model.input_shape[-1]), tf.float32)
    graph = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec).graph
    macs = 0
    for op in graph.get_operations():
        if op.type == "Conv2D":
            kh, kw, cin, _ = op.inputs[1].shape
            macs += int(np.prod(op.outputs[0].shape)) * kh * kw * cin
        elif op.type == "Conv2DBackpropInput":  # transposed convolution
            kh, kw, _, cin = op.inputs[1].shape
            macs += int(np.prod(op.outputs[0].shape)) * kh * kw * cin // 4
        elif op.type in ("MatMul", "BatchMatMulV2"):
            a = op.inputs[0].shape
            transpose_a = op.get_attr("transpose_a") if op.type == "MatMul" else False
            k = a[-2] if transpose_a else a[-1]
            macs += int(np.prod(op.outputs[0].shape)) * k
    return macs


def count_macs(model, height, width):
    """Multiply-accumulates of `model` on one packed input of `height` x `width` pixels.

    Exact for sizes the model accepts; for other sizes (a full SID frame packs to 1416 x 2120,
    not a multiple of 16) it extrapolates the cost measured at two valid sizes as
    `fixed + per_pixel * height * width`, which is how the papers' frame FLOPs are counted.

    Args:
        model: a Keras model with input `(None, None, C)`.
        height, width: packed input size in pixels (any positive values).

    Returns:
        int, multiply-accumulates (FLOPs are 2x this).
    """
    (h1, w1), (h2, w2) = _PROBE_SIZES
    m1, m2 = _graph_macs(model, h1, w1), _graph_macs(model, h2, w2)
    per_pixel = (m2 - m1) / (h2 * w2 - h1 * w1)
    fixed = m1 - per_pixel * h1 * w1
    return int(round(fixed + per_pixel * height * width))


def frame_gflops(model, raw_height, raw_width, block_size):
    """GFLOPs (2 x MACs / 1e9) on a full RAW frame of `raw_height` x `raw_width` sensor pixels.

    The frame is packed by `block_size` (2 Bayer, 3 X-Trans) first; X-Trans frames are cropped
    to multiples of 6 as the packer does.
    """
    crop = 2 * block_size if block_size == 3 else block_size
    height = (raw_height // crop * crop) // block_size
    width = (raw_width // crop * crop) // block_size
    return 2 * count_macs(model, height, width) / 1e9
