"""The one U-Net builder behind every lsid_keras model (SID, Zamir et al., GIA-Net, ablations)."""

import keras

from lsid_keras.layers import GlobalInfoAware, SeeWider, SizeCheck, SqueezeExcite, SubPixel

#: Channel multipliers of the encoder levels relative to `width` (32-64-128-256-512 in SID).
LEVEL_MULTIPLIERS = (1, 2, 4, 8, 16)
#: The U-Net pools this many times, so packed inputs must be multiples of 2**POOLINGS.
POOLINGS = len(LEVEL_MULTIPLIERS) - 1
SIZE_MULTIPLE = 2**POOLINGS
LRELU_SLOPE = 0.2

CONV_BLOCKS = ("plain", "dilated", "see_wider")
BOTTLENECKS = ("none", "gia", "se", "two_conv")


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

    Returns:
        A functional `keras.Model` mapping `(batch, H, W, in_channels)` with H and W multiples
        of 16 to `(batch, H * block_size, W * block_size, out_channels)`.
    """
    if conv_block not in CONV_BLOCKS:
        raise ValueError(f"conv_block must be one of {CONV_BLOCKS}. Received: {conv_block!r}")
    if bottleneck not in BOTTLENECKS:
        raise ValueError(f"bottleneck must be one of {BOTTLENECKS}. Received: {bottleneck!r}")
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive int. Received: width={width}")

    def conv3x3(x, filters, layer_name):
        if conv_block == "see_wider":
            return SeeWider(
                filters, dilation_rate=dilation_rate, negative_slope=LRELU_SLOPE, name=layer_name
            )(x)
        rate = dilation_rate if conv_block == "dilated" else 1
        x = keras.layers.Conv2D(
            filters, 3, padding="same", dilation_rate=rate, name=layer_name
        )(x)
        return keras.layers.LeakyReLU(LRELU_SLOPE, name=f"{layer_name}_lrelu")(x)

    def conv_pair(x, filters, level):
        x = conv3x3(x, filters, f"conv{level}_1")
        return conv3x3(x, filters, f"conv{level}_2")

    inputs = keras.Input(shape=(None, None, in_channels), name="packed_raw")
    x = SizeCheck(SIZE_MULTIPLE, name="size_check")(inputs)

    skips = []
    for level, mult in enumerate(LEVEL_MULTIPLIERS[:-1], start=1):
        x = conv_pair(x, width * mult, level)
        skips.append(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{level}")(x)

    level = len(LEVEL_MULTIPLIERS)
    bottleneck_channels = width * LEVEL_MULTIPLIERS[-1]
    x = conv_pair(x, bottleneck_channels, level)
    if bottleneck == "gia":
        x = GlobalInfoAware(reduced_channels=gia_reduced_channels, name="gia")(x)
    elif bottleneck == "se":
        x = SqueezeExcite(reduction=se_reduction, name="squeeze_excite")(x)
    elif bottleneck == "two_conv":
        for i in (1, 2):
            x = keras.layers.Conv2D(bottleneck_channels, 1, name=f"extra_conv{i}")(x)
            x = keras.layers.LeakyReLU(LRELU_SLOPE, name=f"extra_conv{i}_lrelu")(x)

    for skip in reversed(skips):
        level += 1
        filters = skip.shape[-1]
        up = keras.layers.Conv2DTranspose(
            filters, 2, strides=2, use_bias=False, name=f"up{level}"
        )(x)
        x = keras.layers.Concatenate(name=f"concat{level}")([up, skip])
        x = conv_pair(x, filters, level)

    level += 1
    x = keras.layers.Conv2D(out_channels * block_size**2, 1, name=f"conv{level}")(x)
    # float32 output keeps mixed-precision training and exported models numerically safe.
    outputs = SubPixel(block_size, name="sub_pixel", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)
