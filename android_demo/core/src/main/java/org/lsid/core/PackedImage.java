package org.lsid.core;

/**
 * A packed RAW image, the network's input grid: {@code height x width x channels} float32 in
 * row-major HWC order (as NumPy's {@code (H, W, C)} array), linear values nominally in [0, 1].
 */
public final class PackedImage {
    public final int height;
    public final int width;
    public final int channels;
    /** {@code data[(y * width + x) * channels + c]}. */
    public final float[] data;

    public PackedImage(int height, int width, int channels) {
        this(height, width, channels, new float[checkedSize(height, width, channels)]);
    }

    public PackedImage(int height, int width, int channels, float[] data) {
        if ((long) checkedSize(height, width, channels) != data.length) {
            throw new IllegalArgumentException("packed data holds " + data.length
                    + " values; expected " + height + " x " + width + " x " + channels);
        }
        this.height = height;
        this.width = width;
        this.channels = channels;
        this.data = data;
    }

    private static int checkedSize(int height, int width, int channels) {
        long size = (long) height * width * channels;
        if (height < 1 || width < 1 || channels < 1 || size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("packed image must be at least 1 x 1 x 1 and "
                    + "fit one array; got " + height + " x " + width + " x " + channels);
        }
        return (int) size;
    }

    public float get(int y, int x, int c) {
        return data[(y * width + x) * channels + c];
    }

    /**
     * A copy brightened by the exposure ratio, {@code min(x * ratio, 1)} (as
     * {@code lsid_keras.raw.pack.amplify}).
     *
     * @param ratio amplification, a positive finite number
     */
    public PackedImage amplified(float ratio) {
        if (!(ratio > 0) || Float.isInfinite(ratio)) {
            throw new IllegalArgumentException("ratio must be a positive finite number; got "
                    + ratio);
        }
        float[] out = new float[data.length];
        for (int i = 0; i < data.length; i++) {
            out[i] = Math.min(data[i] * ratio, 1.0f);
        }
        return new PackedImage(height, width, channels, out);
    }
}
