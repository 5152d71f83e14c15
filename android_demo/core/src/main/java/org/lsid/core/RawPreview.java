package org.lsid.core;

/**
 * The "before" picture: a packed frame shown as it is, only brightened, at the packed
 * resolution (half the mosaic's per side), no denoising.
 *
 * <p>Each packed pixel gives R, the mean of its two greens, and B, times the amplification
 * ratio and the white-balance gains, clipped to [0, 1] and encoded with the sRGB transfer
 * curve. It is a preview of the input, not a developed photo (no colour matrix, no demosaic).
 */
public final class RawPreview {
    private RawPreview() {
    }

    /**
     * @param packed a Bayer packed frame (R, G, B, G), linear [0, 1], not amplified
     * @param ratio amplification, > 0
     * @param whiteBalance gains (R, G, B), or null for none
     * @return ARGB_8888 pixels, {@code packed.height x packed.width}, row-major
     */
    public static int[] toArgb(PackedImage packed, float ratio, float[] whiteBalance) {
        if (packed.channels != BayerPacker.CHANNELS) {
            throw new IllegalArgumentException("preview needs a Bayer packed frame (4 channels); "
                    + "got " + packed.channels);
        }
        float[] gains = whiteBalance == null ? new float[] {1f, 1f, 1f} : whiteBalance;
        int[] pixels = new int[packed.height * packed.width];
        float[] d = packed.data;
        for (int i = 0; i < pixels.length; i++) {
            int at = 4 * i;
            float r = d[at] * ratio * gains[0];
            float g = 0.5f * (d[at + 1] + d[at + 3]) * ratio * gains[1];
            float b = d[at + 2] * ratio * gains[2];
            pixels[i] = 0xFF000000 | (encode(r) << 16) | (encode(g) << 8) | encode(b);
        }
        return pixels;
    }

    /** Linear [0, 1] (clipped) to an 8-bit sRGB code value (IEC 61966-2-1). */
    public static int encode(float linear) {
        double v = Math.min(Math.max(linear, 0.0f), 1.0f);
        double srgb = v <= 0.0031308 ? 12.92 * v : 1.055 * Math.pow(v, 1 / 2.4) - 0.055;
        return (int) Math.round(srgb * 255.0);
    }
}
