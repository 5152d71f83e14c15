package org.lsid.core;

/**
 * LibRaw's auto-bright on the network's output: the brightest 1 % of the pixels brought to
 * white. A port of {@code lsid_keras.auto_bright} (checked against it by the golden vectors).
 *
 * <p>Why: LibRaw's default rendering, what a photographer compares the app with, scales every
 * picture so that in its brightest channel 1 % of the pixels reach white. The network learns
 * SID's ground truth, developed without that, so a normally exposed shot came out about 12 L*
 * darker than LibRaw renders it.
 *
 * <p>The rule, as LibRaw's ({@code auto_bright_thr} 0.01): per output channel, the linear level
 * above which {@link #THRESHOLD} of the pixels lie (here from the encoded output's 16-bit code
 * histogram, {@link AsShotColour#codeHistograms}: LibRaw's curve is monotonic, so the level is
 * the same up to a bin); white = the largest of the three levels after the colour gains; the
 * picture is scaled by 1 / white in linear light, never darker and at most {@link #MAX_GAIN}.
 * Measured after the as-shot colour and applied with it in one pass:
 * {@link AsShotColour#finish(RgbImage, AsShotColour.Mode, boolean, double[], float[],
 * double[][])}.
 */
public final class AutoBright {
    /** Fraction of the pixels that reach white (LibRaw's {@code auto_bright_thr}). */
    public static final double THRESHOLD = 0.01;
    /** Largest gain (LibRaw stops its search at bin 32 of 8192: 8192 / 32). */
    public static final double MAX_GAIN = 256.0;

    private AutoBright() {
    }

    /** {@link #whiteLevels(int[][], double)} at {@link #THRESHOLD}. */
    public static double[] whiteLevels(int[][] counts) {
        return whiteLevels(counts, THRESHOLD);
    }

    /**
     * Per channel of code histograms {@code counts} ({@link AsShotColour#codeHistograms}), the
     * linear level above which {@code threshold} of the pixels lie: the code where the count
     * from the top (code 65535 down) first exceeds {@code threshold} times the channel's
     * pixels, decoded with LibRaw's curve; 0 for an empty histogram.
     */
    public static double[] whiteLevels(int[][] counts, double threshold) {
        double[] levels = new double[counts.length];
        for (int c = 0; c < counts.length; c++) {
            int[] row = counts[c];
            long total = 0;
            for (int count : row) {
                total += count;
            }
            double limit = threshold * total;
            long fromTop = 0;
            int found = 0;
            for (int k = row.length - 1; k >= 0; k--) {
                fromTop += row[k];
                if (fromTop > limit) {
                    found = k;
                    break;
                }
            }
            levels[c] = AsShotColour.toLinear(found / (double) (row.length - 1));
        }
        return levels;
    }

    /**
     * The linear gain LibRaw's auto-bright gives a picture whose channels' white levels are
     * {@code levels} ({@link #whiteLevels}), after {@code colourGains} are applied to them:
     * 1 / the largest gained level (each clipped at 1), within [1, {@link #MAX_GAIN}].
     *
     * @param colourGains (3) linear gains applied before, or null for none
     */
    public static double gain(double[] levels, double[] colourGains) {
        double white = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < levels.length; c++) {
            double level = colourGains == null ? levels[c] : levels[c] * colourGains[c];
            white = Math.max(white, Math.min(level, 1.0));
        }
        double gain = 1.0 / Math.max(white, 1.0 / MAX_GAIN);
        return Math.min(Math.max(gain, 1.0), MAX_GAIN);
    }
}
