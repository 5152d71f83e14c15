"""The see-wider (SW) block of GIA-Net's SW-Net ablation."""

import keras


@keras.saving.register_keras_serializable(package="lsid_keras")
class SeeWider(keras.layers.Layer):
    """A 3x3 convolution and a dilated 3x3 convolution side by side, concatenated.

    Output `[lrelu(conv3x3(X)), lrelu(dilated_conv3x3(X))]` with `filters // 2` local channels
    (`Cl`) first and the remaining `filters - filters // 2` contextual channels (`Cg`) second,
    LReLU slope 0.2 on both. It has the same parameter count as one plain 3x3 convolution with
    `filters` outputs, which it replaces in SW-Net.

    Args:
        filters: int >= 2, output channels `Cl + Cg`.
        dilation_rate: int >= 1, dilation of the contextual half (2 in the paper).
        negative_slope: float, LReLU slope (0.2 as in SID).
        **kwargs: standard layer arguments.

    Call arguments:
        inputs: tensor `(batch, H, W, C)`.

    Example:
    >>> x = keras.random.normal((1, 16, 16, 4))
    >>> SeeWider(32)(x).shape
    (1, 16, 16, 32)

    Reference:
        Meng et al., "GIA-Net: Global Information Aware Network for Low-light Imaging",
        Sec. 3.2 and Fig. 2 (Cl = Cg = C/2, dilation rate 2).
    """

    def __init__(self, filters, dilation_rate=2, negative_slope=0.2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(filters, int) or filters < 2:
            raise ValueError(f"filters must be an int >= 2. Received: filters={filters}")
        if not isinstance(dilation_rate, int) or dilation_rate < 1:
            raise ValueError(
                f"dilation_rate must be an int >= 1. Received: dilation_rate={dilation_rate}"
            )
        self.filters = filters
        self.dilation_rate = dilation_rate
        self.negative_slope = float(negative_slope)
        local = filters // 2
        self.local_conv = keras.layers.Conv2D(
            local, 3, padding="same", name="local_conv", dtype=self.dtype_policy
        )
        self.context_conv = keras.layers.Conv2D(
            filters - local, 3, padding="same", dilation_rate=dilation_rate,
            name="context_conv", dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        self.local_conv.build(input_shape)
        self.context_conv.build(input_shape)

    def call(self, inputs):
        act = keras.activations.leaky_relu
        local = act(self.local_conv(inputs), negative_slope=self.negative_slope)
        context = act(self.context_conv(inputs), negative_slope=self.negative_slope)
        return keras.ops.concatenate([local, context], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:3], self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "dilation_rate": self.dilation_rate,
                "negative_slope": self.negative_slope,
            }
        )
        return config
