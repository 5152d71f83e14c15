package org.lsid.core;

/**
 * The values of one model tensor: an int8 tensor as its int8 bytes (one byte per value, the
 * quantisation in {@link #spec}), a float32 tensor as floats or, kept, as IEEE 754 binary16
 * halves ({@link Float16}). Row-major, as LiteRT's buffers hold them.
 *
 * <p>A global model's encoder outputs are kept between the two passes of a tiled run
 * ({@link TiledRunner}) as {@link #kept} gives them: an int8 export's as their bytes, a float
 * one's as halves (as {@code lsid_keras.tiling.KEPT_DTYPE}, float16, keeps them in Python),
 * a quarter and a half of what float32 would take: the memory that matters on a phone.
 * {@link #release} drops the values once the tile's decoder has run.
 */
public final class TensorData {
    /** The tensor these values belong to (dtype "int8" or "float32"). */
    public final TensorSpec spec;
    private byte[] int8;
    private float[] floats;
    private short[] halves;

    private TensorData(TensorSpec spec, byte[] int8, float[] floats, short[] halves) {
        int length = int8 != null ? int8.length : floats != null ? floats.length
                : halves.length;
        if (length != spec.size()) {
            throw new IllegalArgumentException(length + " values for tensor " + spec
                    + " of " + spec.size());
        }
        this.spec = spec;
        this.int8 = int8;
        this.floats = floats;
        this.halves = halves;
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
        return new TensorData(spec, values, null, null);
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
        return new TensorData(spec, null, values, null);
    }

    /**
     * A float32 tensor's values as binary16 halves ({@link Float16}; not copied).
     *
     * @throws IllegalArgumentException {@code spec} is not float32, or the length is not its
     *     size
     */
    public static TensorData ofHalves(TensorSpec spec, short[] halves) {
        if (!spec.isFloat32()) {
            throw new IllegalArgumentException("float16 values for tensor " + spec);
        }
        return new TensorData(spec, null, null, halves);
    }

    /** An int8 or float32 tensor's values, all zero. */
    static TensorData zeros(TensorSpec spec) {
        return spec.isInt8() ? ofInt8(spec, new byte[spec.size()])
                : ofFloats(spec, new float[spec.size()]);
    }

    /** Whether the values are int8 bytes ({@link #int8()}) rather than floats or halves. */
    public boolean isInt8() {
        return spec.isInt8();
    }

    /** Whether a float32 tensor's values are held as halves ({@link #halves()}). */
    public boolean isHalves() {
        return halves != null;
    }

    /**
     * The values as a tiled run keeps them between its passes: int8 ones as they are (this
     * object), float ones rounded to halves ({@link Float16#fromFloat}, NumPy's {@code
     * astype(np.float16)}) in a new object, after which this one's floats are released: the
     * encoder's float32 array is then garbage.
     *
     * @throws IllegalStateException released
     */
    public TensorData kept() {
        if (isReleased()) {
            throw new IllegalStateException(state("kept"));
        }
        if (int8 != null || halves != null) {
            return this;
        }
        TensorData kept = ofHalves(spec, Float16.fromFloats(floats));
        release();
        return kept;
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
     * @throws IllegalStateException int8 values or halves, or released
     */
    public float[] floats() {
        if (floats == null) {
            throw new IllegalStateException(state("float"));
        }
        return floats;
    }

    /**
     * The halves (binary16 bits, {@link Float16}), the array itself.
     *
     * @throws IllegalStateException int8 or float values, or released
     */
    public short[] halves() {
        if (halves == null) {
            throw new IllegalStateException(state("float16"));
        }
        return halves;
    }

    /**
     * The real value at {@code index}: dequantised for int8 ({@link TensorSpec#dequantize}),
     * widened for a half.
     */
    public float real(int index) {
        if (int8 != null) {
            return spec.dequantize(int8[index]);
        }
        return halves != null ? Float16.toFloat(halves[index]) : floats()[index];
    }

    /** Bytes the values take: 1 per value for int8, 2 for halves, 4 for floats. */
    public long bytes() {
        return (long) spec.size() * (int8 != null ? 1 : halves != null ? 2 : 4);
    }

    /**
     * Bytes a tensor's values take once {@link #kept}: 1 per value for int8, 2 for float32
     * (halves).
     */
    static long keptBytesOf(TensorSpec spec) {
        return (long) spec.size() * (spec.isInt8() ? 1 : 2);
    }

    /** Drops the values; reading them afterwards throws. */
    public void release() {
        int8 = null;
        floats = null;
        halves = null;
    }

    /** Whether {@link #release} was called. */
    public boolean isReleased() {
        return int8 == null && floats == null && halves == null;
    }

    private String state(String wanted) {
        return "tensor " + spec + (isReleased() ? " was released" : " holds no " + wanted
                + " values");
    }
}
