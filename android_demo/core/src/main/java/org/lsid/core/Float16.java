package org.lsid.core;

/**
 * IEEE 754 binary16 ("half", NumPy's float16) held as the bits of a {@code short}, converted
 * from and to float32 bit for bit as NumPy's {@code astype(np.float16)} and {@code
 * astype(np.float32)} do (its {@code npy_floatbits_to_halfbits} and {@code
 * npy_halfbits_to_floatbits}): round to nearest, ties to even; beyond the largest half, 65504,
 * to infinity (from 65520, the midpoint to the next power of two, on); subnormal halves down to
 * 2^-24; zero's sign kept; a NaN stays a NaN of the same sign with the top ten bits of its
 * payload (a payload that would vanish becomes 1). float16 to float32 is exact.
 *
 * <p>A global model's float encoder outputs are kept this way between the two passes of a
 * tiled run ({@link TensorData#kept}), as {@code lsid_keras.tiling.KEPT_DTYPE} keeps them in
 * Python, so both sides feed their decoders the same values. Written out rather than taken
 * from the platform: {@code android.util.Half} is no plain Java and {@code
 * Float.floatToFloat16} needs Java 20, while the core builds against Java 11's API.
 */
public final class Float16 {
    /** The largest finite half, 65504 ({@code 0x7bff}). */
    public static final float MAX_VALUE = 65504f;

    private Float16() {
    }

    /** The half nearest to {@code value} (ties to even), as NumPy's {@code astype}. */
    public static short fromFloat(float value) {
        return fromFloatBits(Float.floatToRawIntBits(value));
    }

    /** {@link #fromFloat} of the float32 with these bits (NaN payloads included). */
    public static short fromFloatBits(int bits) {
        int sign = (bits >>> 16) & 0x8000;
        int exponent = bits & 0x7f800000;
        int significand = bits & 0x007fffff;
        if (exponent >= 0x47800000) {  // |value| >= 65536, infinity or NaN
            if (exponent == 0x7f800000 && significand != 0) {
                int nan = 0x7c00 + (significand >>> 13);
                return (short) (sign | (nan == 0x7c00 ? 0x7c01 : nan));
            }
            return (short) (sign | 0x7c00);
        }
        if (exponent <= 0x38000000) {  // |value| < 2^-14: a subnormal half or zero
            if (exponent < 0x33000000) {  // below 2^-25, half the smallest subnormal
                return (short) sign;
            }
            // The significand with its implicit bit, shifted so bit 13 is the half's last.
            int shifted = (0x00800000 | significand) >>> (113 - (exponent >>> 23));
            // Round half up, except an exact tie onto an even last bit; bits the shift
            // dropped (at most 11) make it no tie.
            if ((shifted & 0x3fff) != 0x1000 || (bits & 0x7ff) != 0) {
                shifted += 0x1000;
            }
            // A carry out of the significand gives the smallest normal half, as it should.
            return (short) (sign | (shifted >>> 13));
        }
        int halfExponent = (exponent - 0x38000000) >>> 13;
        if ((significand & 0x3fff) != 0x1000) {
            significand += 0x1000;
        }
        // A carry into the exponent is right, up to infinity (0x7c00) from 65520 on.
        return (short) (sign | (halfExponent + (significand >>> 13)));
    }

    /** The float32 value of a half, exactly. */
    public static float toFloat(short half) {
        return Float.intBitsToFloat(toFloatBits(half));
    }

    /** The bits of {@link #toFloat}, NaN payloads kept (in the top ten bits). */
    public static int toFloatBits(short half) {
        int sign = (half & 0x8000) << 16;
        int exponent = half & 0x7c00;
        int significand = half & 0x03ff;
        if (exponent == 0x7c00) {
            return sign | 0x7f800000 | (significand << 13);
        }
        if (exponent == 0) {
            // Zero or subnormal: significand * 2^-24, exact in float32.
            return sign | Float.floatToRawIntBits(significand * 0x1p-24f);
        }
        // Rebias the exponent from 15 to 127: add 112 << 10 before the shift.
        return sign | (((half & 0x7fff) + 0x1c000) << 13);
    }

    /** Halves of {@code values}, in a new array. */
    public static short[] fromFloats(float[] values) {
        short[] halves = new short[values.length];
        for (int i = 0; i < values.length; i++) {
            halves[i] = fromFloatBits(Float.floatToRawIntBits(values[i]));
        }
        return halves;
    }
}
