package org.lsid.core;

import java.util.Arrays;

/**
 * A model input or output as the model card describes it: its tensor name, shape, dtype and,
 * for quantised tensors, the affine quantisation {@code real = scale * (q - zeroPoint)}
 * (TFLite's). Equal when all of these are.
 */
public final class TensorSpec {
    /** The subgraph tensor's name the card records, e.g. "serve_skip1:0"; null if unnamed. */
    public final String name;
    /** NumPy dtype name: "float32", "int8", "uint8", ... */
    public final String dtype;
    public final int[] shape;
    /** 0 for float tensors. */
    public final double scale;
    public final int zeroPoint;

    /** An unnamed tensor. */
    public TensorSpec(String dtype, int[] shape, double scale, int zeroPoint) {
        this(null, dtype, shape, scale, zeroPoint);
    }

    public TensorSpec(String name, String dtype, int[] shape, double scale, int zeroPoint) {
        this.name = name;
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
     * {@code std::round}), clamped to the dtype's range; infinities to its ends.
     */
    public int quantize(float real) {
        double scaled = real / scale;
        // Bounded before rounding: Math.round(infinity) is Long.MAX_VALUE, which the zero
        // point would overflow (a float16 kept map holds infinity beyond 65504).
        long q = (long) Math.signum(scaled) * Math.round(Math.min(Math.abs(scaled), 1e6))
                + zeroPoint;
        int low = "uint8".equals(dtype) ? 0 : -128;
        int high = "uint8".equals(dtype) ? 255 : 127;
        return (int) Math.max(low, Math.min(high, q));
    }

    /** {@code scale * (q - zeroPoint)}. */
    public float dequantize(int q) {
        return (float) (scale * (q - zeroPoint));
    }

    /** True for "int8" tensors. */
    public boolean isInt8() {
        return "int8".equals(dtype);
    }

    /** True for "float32" tensors. */
    public boolean isFloat32() {
        return "float32".equals(dtype);
    }

    @Override
    public boolean equals(Object other) {
        if (!(other instanceof TensorSpec)) {
            return false;
        }
        TensorSpec that = (TensorSpec) other;
        return java.util.Objects.equals(name, that.name) && dtype.equals(that.dtype)
                && Arrays.equals(shape, that.shape)
                && Double.compare(scale, that.scale) == 0 && zeroPoint == that.zeroPoint;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(name, dtype, Arrays.hashCode(shape), scale, zeroPoint);
    }

    @Override
    public String toString() {
        return (name == null ? "" : name + " ") + dtype + Arrays.toString(shape)
                + (isQuantized() ? " scale " + scale + " zero point " + zeroPoint : "");
    }
}
