package org.lsid.core;

/**
 * The stitched network output: {@code height x width x 3} float32, row-major HWC, sRGB in
 * about [0, 1] (clip before quantising), in output pixels (block times the packed size).
 */
public final class RgbImage {
    public final int height;
    public final int width;
    /** {@code data[(y * width + x) * 3 + c]}. */
    public final float[] data;

    public RgbImage(int height, int width) {
        long size = (long) height * width * 3;
        if (height < 1 || width < 1 || size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("RGB image of " + height + " x " + width
                    + " does not fit one array");
        }
        this.height = height;
        this.width = width;
        this.data = new float[(int) size];
    }

    /**
     * The image as opaque ARGB_8888 pixels (Android's {@code Bitmap.setPixels} layout), each
     * channel clipped to [0, 1] and rounded to 8 bits.
     */
    public int[] toArgb() {
        int[] pixels = new int[height * width];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = 0xFF000000 | (to8bit(data[3 * i]) << 16) | (to8bit(data[3 * i + 1]) << 8)
                    | to8bit(data[3 * i + 2]);
        }
        return pixels;
    }

    static int to8bit(float value) {
        float clipped = Math.min(Math.max(value, 0.0f), 1.0f);
        return Math.round(clipped * 255.0f);
    }
}
