"""The one U-Net builder behind every lsid_keras model (SID, Zamir et al., GIA-Net, ablations).

`build_unet` builds with a layer namespace: Keras 3 and the package's layers by default
(`KERAS_LAYERS`); quantisation-aware training passes a tf_keras namespace
(`lsid_keras.export.tf_keras_twin`) to build a Keras 2 twin from this same definition.
"""

from types import SimpleNamespace

import keras

from lsid_keras.geometry import POOLINGS, SIZE_MULTIPLE
from lsid_keras.layers import GlobalInfoAware, SeeWider, SizeCheck, SqueezeExcite, SubPixel

#: Channel multipliers of the encoder levels relative to `width` (32-64-128-256-512 in SID).
LEVEL_MULTIPLIERS = (1, 2, 4, 8, 16)
# The U-Net pools len(LEVEL_MULTIPLIERS) - 1 == POOLINGS times, so packed inputs must be
# multiples of SIZE_MULTIPLE = 2**POOLINGS (`lsid_keras.geometry`, which the Keras-free tiler
# and pipeline read too).
LRELU_SLOPE = 0.2

CONV_BLOCKS = ("plain", "dilated", "see_wider")
BOTTLENECKS = ("none", "gia", "se", "two_conv")
#: What `build_unet` builds: the network, or its halves split after the bottleneck conv pair.
PARTS = ("whole", "encoder", "decoder")
#: The encoder's outputs, the decoder's inputs (besides `frame_mean`), in order: the skips of
#: levels 1-4 and the bottleneck map.
ENCODER_OUTPUTS = ("skip1", "skip2", "skip3", "skip4", "bottleneck")
#: Bottlenecks that average over the whole feature map, and their layers' names.
GLOBAL_LAYER_NAMES = {"gia": "gia", "se": "squeeze_excite"}

#: What `build_unet` builds with: Keras 3's functional API and layers and the package's own.
#: Another namespace must offer the same names with the same signatures.
KERAS_LAYERS = SimpleNamespace(
    Input=keras.Input,
    Model=keras.Model,
    Conv2D=keras.layers.Conv2D,
    LeakyReLU=keras.layers.LeakyReLU,
    MaxPooling2D=keras.layers.MaxPooling2D,
    Conv2DTranspose=keras.layers.Conv2DTranspose,
    Concatenate=keras.layers.Concatenate,
    SizeCheck=SizeCheck,
    SubPixel=SubPixel,
    GlobalInfoAware=GlobalInfoAware,
    SqueezeExcite=SqueezeExcite,
    SeeWider=SeeWider,
)


def build_unet(
    in_channels=4,
    block_size=2,
    out_channels=3,
    width=32,
    conv_block="plain",
    bottleneck="none",
    dilation_rate=2,
    se_reduction=16,
    gia_reduced_channels=None,
    name="unet",
    layers=None,
    input_size=None,
    part="whole",
):
    """Builds the SID U-Net, optionally with a bottleneck module or another conv block.

    The reference network (Chen et al., REFERENCE.md "Exact U-Net"): five encoder levels of two
    3x3 convolutions (bias, SAME padding, LReLU 0.2) with 2x2 max-pooling between them; four
    decoder levels of [2x2 stride-2 transposed convolution without bias, concatenation
    `[upsampled, skip]`, two 3x3 convolutions]; a final 1x1 convolution to
    `out_channels * block_size**2` channels with no activation, then depth-to-space back to the
    full RAW resolution.

    Args:
        in_channels: int, packed RAW channels (4 Bayer, 9 X-Trans); input values in [0, 1]
            after amplification.
        block_size: int, sub-pixel factor from packed to full resolution (2 Bayer, 3 X-Trans).
        out_channels: int, output image channels (3, sRGB in [0, 1] when trained on SID).
        width: int >= 1, channels of the first level (32 in the papers); level l has
            `width * 2**l`. Small widths make test and phone-sized nets.
        conv_block: "plain" (SID), "dilated" (every 3x3 conv with `dilation_rate`, GIA-Net's
            SID-dilated) or "see_wider" (every 3x3 conv a `SeeWider` block, SW-Net).
        bottleneck: module after the bottleneck conv pair: "none" (SID), "gia" (GIA-Net),
            "se" (SE-UNet) or "two_conv" (the "+2 conv" control: two 1x1 convs with LReLU,
            the depth the GIA module adds).
        dilation_rate: int, dilation of the "dilated" and "see_wider" blocks.
        se_reduction: int, reduction ratio of the "se" bottleneck.
        gia_reduced_channels: int or None, `C1` of the GIA module (None: half the channels).
        name: model name.
        layers: the namespace to build with (default `KERAS_LAYERS`); see the module
            docstring.
        input_size: int or None, a fixed packed input side (a twin for a fixed-shape
            export); None takes any multiple of 16.
        part: one of `PARTS`: "whole" (the network), or its two halves split after the
            bottleneck conv pair, for running a global model's tiles with one encoder pass
            (`lsid_keras.models.global_branch.split_encoder_decoder`): "encoder" maps the
            packed input to `ENCODER_OUTPUTS`, the four skips (levels 1-4, full to 1/8
            resolution) and the bottleneck map (1/16, `16 * width` channels); "decoder" takes
            those five (named alike) plus, for a global bottleneck, `frame_mean`, and gives
            the output. Layer names and weights are the whole network's.

    Returns:
        A functional `keras.Model` mapping `(batch, H, W, in_channels)` with H and W multiples
        of 16 to `(batch, H * block_size, W * block_size, out_channels)`; with
        for the parts, see `part`.
    """
    if conv_block not in CONV_BLOCKS:
        raise ValueError(f"conv_block must be one of {CONV_BLOCKS}. Received: {conv_block!r}")
    if bottleneck not in BOTTLENECKS:
        raise ValueError(f"bottleneck must be one of {BOTTLENECKS}. Received: {bottleneck!r}")
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive int. Received: width={width}")
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}. Received: part={part!r}")
    ns = KERAS_LAYERS if layers is None else layers

    def conv3x3(x, filters, layer_name):
        if conv_block == "see_wider":
            return ns.SeeWider(
                filters, dilation_rate=dilation_rate, negative_slope=LRELU_SLOPE, name=layer_name
            )(x)
        rate = dilation_rate if conv_block == "dilated" else 1
        x = ns.Conv2D(filters, 3, padding="same", dilation_rate=rate, name=layer_name)(x)
        return ns.LeakyReLU(LRELU_SLOPE, name=f"{layer_name}_lrelu")(x)

    def conv_pair(x, filters, level):
        x = conv3x3(x, filters, f"conv{level}_1")
        return conv3x3(x, filters, f"conv{level}_2")

    inputs = ns.Input(shape=(input_size, input_size, in_channels), name="packed_raw")
    x = ns.SizeCheck(SIZE_MULTIPLE, name="size_check")(inputs)

    skips = []
    for level, mult in enumerate(LEVEL_MULTIPLIERS[:-1], start=1):
        x = conv_pair(x, width * mult, level)
        skips.append(x)
        x = ns.MaxPooling2D(2, name=f"pool{level}")(x)

    level = len(LEVEL_MULTIPLIERS)
    bottleneck_channels = width * LEVEL_MULTIPLIERS[-1]
    x = conv_pair(x, bottleneck_channels, level)
    if part == "encoder":
        return ns.Model(inputs, [*skips, x], name=name)
    model_inputs = [inputs]
    if part == "decoder":
        sides = [None if input_size is None else input_size // 2**i for i in range(POOLINGS + 1)]
        skips = [ns.Input(shape=(side, side, skip.shape[-1]), name=skip_name)
                 for side, skip, skip_name in zip(sides, skips, ENCODER_OUTPUTS, strict=False)]
        x = ns.Input(shape=(sides[-1], sides[-1], bottleneck_channels),
                     name=ENCODER_OUTPUTS[-1])
        model_inputs = [*skips, x]
    global_args = {}
    if part == "decoder" and bottleneck in GLOBAL_LAYER_NAMES:
        frame_mean = ns.Input(shape=(1, 1, bottleneck_channels), name="frame_mean")
        global_args["frame_mean"] = frame_mean
        model_inputs.append(frame_mean)
    if bottleneck == "gia":
        x = ns.GlobalInfoAware(reduced_channels=gia_reduced_channels,
                               name=GLOBAL_LAYER_NAMES["gia"])(x, **global_args)
    elif bottleneck == "se":
        x = ns.SqueezeExcite(reduction=se_reduction,
                             name=GLOBAL_LAYER_NAMES["se"])(x, **global_args)
    elif bottleneck == "two_conv":
        for i in (1, 2):
            x = ns.Conv2D(bottleneck_channels, 1, name=f"extra_conv{i}")(x)
            x = ns.LeakyReLU(LRELU_SLOPE, name=f"extra_conv{i}_lrelu")(x)

    for skip in reversed(skips):
        level += 1
        filters = skip.shape[-1]
        up = ns.Conv2DTranspose(filters, 2, strides=2, use_bias=False, name=f"up{level}")(x)
        x = ns.Concatenate(name=f"concat{level}")([up, skip])
        x = conv_pair(x, filters, level)

    level += 1
    x = ns.Conv2D(out_channels * block_size**2, 1, name=f"conv{level}")(x)
    # float32 output keeps mixed-precision training and exported models numerically safe.
    outputs = ns.SubPixel(block_size, name="sub_pixel", dtype="float32")(x)
    return ns.Model(model_inputs if len(model_inputs) > 1 else inputs, outputs, name=name)


def unet_args_of(model):
    """The `build_unet` arguments (except `name`, `layers`, `input_size`) that rebuild
    `model`, a model `build_unet` made, read from its layers.

    Raises:
        ValueError: a model that `build_unet` did not make.
    """
    names = {layer.name: layer for layer in model.layers}
    try:
        first, last = names["conv1_1"], names["sub_pixel"]
    except KeyError as missing:
        raise ValueError(f"model {model.name!r} was not built by build_unet (no layer "
                         f"{missing})") from None
    args = {"in_channels": int(model.inputs[0].shape[-1]), "block_size": int(last.block_size)}
    if isinstance(first, SeeWider):
        args.update(conv_block="see_wider", width=first.filters,
                    dilation_rate=first.dilation_rate)
    else:
        rate = first.dilation_rate[0]
        args.update(conv_block="dilated" if rate > 1 else "plain", width=first.filters)
        if rate > 1:
            args["dilation_rate"] = rate
    final = names[f"conv{2 * POOLINGS + 2}"]
    args["out_channels"] = final.filters // args["block_size"] ** 2
    gia, se = (names.get(GLOBAL_LAYER_NAMES[kind]) for kind in ("gia", "se"))
    if gia is not None:
        args.update(bottleneck="gia", gia_reduced_channels=gia.reduced_channels)
    elif se is not None:
        args.update(bottleneck="se", se_reduction=se.reduction)
    elif "extra_conv1" in names:
        args["bottleneck"] = "two_conv"
    return args
