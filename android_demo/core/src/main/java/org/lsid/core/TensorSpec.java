package org.lsid.core;

import java.util.Arrays;

/**
 * A model input or output as the model card describes it: shape, dtype and, for quantised
 * tensors, the affine quantisation {@code real = scale * (q - zeroPoint)} (TFLite's).
 */
public final class TensorSpec {
    /** NumPy dtype name: "float32", "int8", "uint8", ... */
    public final String dtype;
    public final int[] shape;
    /** 0 for float tensors. */
    public final double scale;
    public final int zeroPoint;

    public TensorSpec(String dtype, int[] shape, double scale, int zeroPoint) {
        this.dtype = dtype;
        this.shape = shape.clone();
        this.scale = scale;
        this.zeroPoint = zeroPoint;
    }

    /** True for int8 / uint8 tensors, which the runner quantises and dequantises. */
    public boolean isQuantized() {
        return "int8".equals(dtype) || "uint8".equals(dtype);
    }

    /** Number of elements. */
    public int size() {
        int size = 1;
        for (int v : shape) {
            size *= v;
        }
        return size;
    }

    /**
     * {@code round(real / scale) + zeroPoint}, rounded half away from zero (as TFLite's
     * {@code std::round}), clamped to the dtype's range.
     */
    public int quantize(float real) {
        double scaled = real / scale;
        long q = (long) Math.signum(scaled) * Math.round(Math.abs(scaled)) + zeroPoint;
        int low = "uint8".equals(dtype) ? 0 : -128;
        int high = "uint8".equals(dtype) ? 255 : 127;
        return (int) Math.max(low, Math.min(high, q));
    }

    /** {@code scale * (q - zeroPoint)}. */
    public float dequantize(int q) {
        return (float) (scale * (q - zeroPoint));
    }

    @Override
    public String toString() {
        return dtype + Arrays.toString(shape)
                + (isQuantized() ? " scale " + scale + " zero point " + zeroPoint : "");
    }
}
