package org.lsid.core;

import java.util.Arrays;

/**
 * Feeds one kept map of a global model from its encoder output to its decoder input
 * ({@link TiledRunner}): the two tensors hold the same map, but an int8 export gives each its
 * own scale and zero point, and either may be float32. A float map arrives kept as halves
 * ({@link TensorData#kept}), or as floats.
 *
 * <ul>
 *   <li>int8 to int8: a 256-entry table, {@link #table} ({@code
 *       lsid_keras.export.litert.requantise_table});
 *   <li>int8 to float: {@code (q - z) * s} ({@link TensorSpec#dequantize});
 *   <li>float to int8: {@link TensorSpec#quantize} of the float value (a half widened
 *       first), as every float input is quantised;
 *   <li>float to float: a half widened ({@link Float16#toFloat}, exact), a float copied.
 * </ul>
 */
public final class Requantiser {
    /** The encoder output. */
    public final TensorSpec from;
    /** The decoder input. */
    public final TensorSpec to;
    /** int8 to int8: the decoder's code of each encoder code, indexed by {@code q + 128}. */
    private final byte[] table;
    /** int8 to float: each encoder code's real value, indexed by {@code q + 128}. */
    private final float[] real;

    /**
     * @throws IllegalArgumentException the shapes differ, or a dtype is neither int8 nor
     *     float32
     */
    public Requantiser(TensorSpec from, TensorSpec to) {
        if (!Arrays.equals(from.shape, to.shape)) {
            throw new IllegalArgumentException("encoder output " + from + " and decoder input "
                    + to + " differ in shape");
        }
        for (TensorSpec spec : new TensorSpec[] {from, to}) {
            if (!spec.isInt8() && !spec.isFloat32()) {
                throw new IllegalArgumentException("kept map " + spec
                        + ": only int8 and float32 maps can be kept between the passes");
            }
        }
        this.from = from;
        this.to = to;
        this.table = from.isInt8() && to.isInt8()
                ? table(from.scale, from.zeroPoint, to.scale, to.zeroPoint) : null;
        if (from.isInt8() && to.isFloat32()) {
            real = new float[256];
            for (int q = -128; q < 128; q++) {
                real[q + 128] = from.dequantize(q);
            }
        } else {
            real = null;
        }
    }

    /**
     * The int8-to-int8 table: entry {@code q + 128} is {@code clamp(rint((q - encoderZero) *
     * encoderScale / decoderScale) + decoderZero, -128, 127)}, in double with
     * {@link Math#rint} (half to even, as NumPy's {@code rint}).
     */
    public static byte[] table(double encoderScale, int encoderZero, double decoderScale,
            int decoderZero) {
        byte[] out = new byte[256];
        for (int q = -128; q < 128; q++) {
            double code = Math.rint((q - encoderZero) * encoderScale / decoderScale)
                    + decoderZero;
            out[q + 128] = (byte) Math.max(-128, Math.min(127, code));
        }
        return out;
    }

    /** A buffer of the decoder input's type to {@link #convert} into, reused tile by tile. */
    public TensorData newTarget() {
        return TensorData.zeros(to);
    }

    /**
     * Writes {@code kept} (values of {@link #from}: int8, halves or floats) into {@code into}
     * (of {@link #to}) as the decoder input takes it.
     *
     * @return {@code into}
     * @throws IllegalArgumentException the buffers are not of {@link #from} and {@link #to}
     */
    public TensorData convert(TensorData kept, TensorData into) {
        if (!kept.spec.equals(from) || !into.spec.equals(to)) {
            throw new IllegalArgumentException("converts " + from + " to " + to + "; given "
                    + kept.spec + " and " + into.spec);
        }
        if (from.isInt8()) {
            byte[] source = kept.int8();
            if (to.isInt8()) {
                byte[] target = into.int8();
                for (int i = 0; i < source.length; i++) {
                    target[i] = table[source[i] + 128];
                }
            } else {
                float[] target = into.floats();
                for (int i = 0; i < source.length; i++) {
                    target[i] = real[source[i] + 128];
                }
            }
        } else if (kept.isHalves()) {
            short[] source = kept.halves();
            if (to.isInt8()) {
                byte[] target = into.int8();
                for (int i = 0; i < source.length; i++) {
                    target[i] = (byte) to.quantize(Float16.toFloat(source[i]));
                }
            } else {
                float[] target = into.floats();
                for (int i = 0; i < source.length; i++) {
                    target[i] = Float16.toFloat(source[i]);
                }
            }
        } else {
            float[] source = kept.floats();
            if (to.isInt8()) {
                byte[] target = into.int8();
                for (int i = 0; i < source.length; i++) {
                    target[i] = (byte) to.quantize(source[i]);
                }
            } else {
                System.arraycopy(source, 0, into.floats(), 0, source.length);
            }
        }
        return into;
    }
}
