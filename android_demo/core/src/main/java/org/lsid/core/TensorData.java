package org.lsid.core;

/**
 * The values of one model tensor in its own type: an int8 tensor as its int8 bytes (one byte
 * per value, the quantisation in {@link #spec}), a float32 tensor as floats. Row-major, as
 * LiteRT's buffers hold them.
 *
 * <p>A global model's encoder outputs are kept this way between the two passes of a tiled run
 * ({@link TiledRunner}): an int8 export keeps a quarter of what floats would take, which is
 * the memory that matters on a phone. {@link #release} drops the values once the tile's
 * decoder has run.
 */
public final class TensorData {
    /** The tensor these values belong to (dtype "int8" or "float32"). */
    public final TensorSpec spec;
    private byte[] int8;
    private float[] floats;

    private TensorData(TensorSpec spec, byte[] int8, float[] floats) {
        int length = int8 != null ? int8.length : floats.length;
        if (length != spec.size()) {
            throw new IllegalArgumentException(length + " values for tensor " + spec
                    + " of " + spec.size());
        }
        this.spec = spec;
        this.int8 = int8;
        this.floats = floats;
    }

    /**
     * An int8 tensor's values (not copied).
     *
     * @throws IllegalArgumentException {@code spec} is not int8, or the length is not its size
     */
    public static TensorData ofInt8(TensorSpec spec, byte[] values) {
        if (!spec.isInt8()) {
            throw new IllegalArgumentException("int8 values for tensor " + spec);
        }
        return new TensorData(spec, values, null);
    }

    /**
     * A float32 tensor's values (not copied).
     *
     * @throws IllegalArgumentException {@code spec} is not float32, or the length is not its
     *     size
     */
    public static TensorData ofFloats(TensorSpec spec, float[] values) {
        if (!spec.isFloat32()) {
            throw new IllegalArgumentException("float values for tensor " + spec);
        }
        return new TensorData(spec, null, values);
    }

    /** An int8 or float32 tensor's values, all zero. */
    static TensorData zeros(TensorSpec spec) {
        return spec.isInt8() ? ofInt8(spec, new byte[spec.size()])
                : ofFloats(spec, new float[spec.size()]);
    }

    /** Whether the values are int8 bytes ({@link #int8()}) rather than floats. */
    public boolean isInt8() {
        return spec.isInt8();
    }

    /**
     * The int8 values, the array itself.
     *
     * @throws IllegalStateException float values, or released
     */
    public byte[] int8() {
        if (int8 == null) {
            throw new IllegalStateException(state("int8"));
        }
        return int8;
    }

    /**
     * The float values, the array itself.
     *
     * @throws IllegalStateException int8 values, or released
     */
    public float[] floats() {
        if (floats == null) {
            throw new IllegalStateException(state("float"));
        }
        return floats;
    }

    /** The real value at {@code index}: dequantised for int8 ({@link TensorSpec#dequantize}). */
    public float real(int index) {
        return int8 != null ? spec.dequantize(int8[index]) : floats()[index];
    }

    /** Bytes the values take: 1 per value for int8, 4 for float32. */
    public long bytes() {
        return bytesOf(spec);
    }

    /** Bytes a tensor's values take as this class keeps them. */
    static long bytesOf(TensorSpec spec) {
        return (long) spec.size() * (spec.isInt8() ? 1 : 4);
    }

    /** Drops the values; reading them afterwards throws. */
    public void release() {
        int8 = null;
        floats = null;
    }

    /** Whether {@link #release} was called. */
    public boolean isReleased() {
        return int8 == null && floats == null;
    }

    private String state(String wanted) {
        return "tensor " + spec + (isReleased() ? " was released" : " holds no " + wanted
                + " values");
    }
}
