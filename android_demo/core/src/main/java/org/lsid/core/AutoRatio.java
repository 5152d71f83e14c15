package org.lsid.core;

import java.util.Arrays;

/**
 * The automatic amplification ratio, the same rule as {@code lsid enhance --ratio auto}: a
 * line-by-line port of {@code lsid_keras.amplification.estimate_ratio} (the golden vectors
 * record which Python function they came from and check this port against it).
 *
 * <p>The rule brings the frame's highlights, not its mean, to where the training camera's
 * well-exposed frames have theirs: the green channels are split in two halves (Bayer: channel
 * 1 and channel 3); each half is averaged over {@link #BLOCK} x {@link #BLOCK} packed pixels;
 * the brightest {@link #TOP_FRACTION} of the blocks (at least one) are chosen on one half and
 * their mean measured on the other, both ways round, and the two figures averaged: the
 * highlight level. The ratio is {@link #TARGET_LEVEL} / level, clamped to [1,
 * {@link #MAX_RATIO}]; a black frame gets the maximum. Selecting on one half and measuring on
 * the other keeps noise out of the figure at x300.
 */
public final class AutoRatio {
    /** Level (linear, [0, 1] of the sensor range) the highlight level is brought to. */
    public static final double TARGET_LEVEL = 0.65;
    /** Fraction of the blocks (the brightest) whose mean level is the highlight level. */
    public static final double TOP_FRACTION = 0.001;
    /** Side of the blocks in packed pixels. */
    public static final int BLOCK = 4;
    /** The largest ratio, as SID's x300 and the app's slider. */
    public static final double MAX_RATIO = 300.0;

    private AutoRatio() {
    }

    /**
     * @param packed packed RAW in [0, 1], not amplified
     * @return the ratio, in [1, 300]
     */
    public static double estimate(PackedImage packed) {
        double level = highlightLevel(packed);
        if (!(level > 0)) {
            return MAX_RATIO;
        }
        return Math.min(Math.max(TARGET_LEVEL / level, 1.0), MAX_RATIO);
    }

    /** The two halves of the green channels for a packed layout (Bayer, X-Trans, other). */
    static int[][] greenHalves(int channels) {
        if (channels == 4) {
            return new int[][] {{1}, {3}};
        }
        if (channels == 9) {
            return new int[][] {{1, 6, 8}, {5, 7}};
        }
        int[] even = new int[(channels + 1) / 2];
        int[] odd = new int[Math.max(channels / 2, 1)];
        for (int c = 0; c < channels; c++) {
            if (c % 2 == 0) {
                even[c / 2] = c;
            } else {
                odd[c / 2] = c;
            }
        }
        return new int[][] {even, odd};
    }

    /** Means over {@code block x block} blocks of one half's per-pixel mean, row-major. */
    private static double[] blockMeans(PackedImage packed, int[] half, int block) {
        int rows = packed.height / block;
        int cols = packed.width / block;
        double[] means = new double[rows * cols];
        for (int by = 0; by < rows; by++) {
            for (int bx = 0; bx < cols; bx++) {
                double sum = 0.0;
                for (int y = by * block; y < (by + 1) * block; y++) {
                    for (int x = bx * block; x < (bx + 1) * block; x++) {
                        double pixel = 0.0;
                        for (int c : half) {
                            pixel += packed.get(y, x, c);
                        }
                        sum += pixel / half.length;
                    }
                }
                means[by * cols + bx] = sum / (block * block);
            }
        }
        return means;
    }

    /** The highlight level, linear [0, 1] (see the class comment). */
    public static double highlightLevel(PackedImage packed) {
        int[][] halves = greenHalves(packed.channels);
        int block = Math.max(1, Math.min(BLOCK, Math.min(packed.height, packed.width)));
        double[] first = blockMeans(packed, halves[0], block);
        double[] second = blockMeans(packed, halves[1], block);
        // Python's round() rounds halves to even, as Math.rint does.
        int count = Math.max(1, (int) Math.rint(TOP_FRACTION * first.length));
        return (meanOfChosen(first, second, count) + meanOfChosen(second, first, count)) / 2;
    }

    /** Mean of {@code measure} over the {@code count} blocks largest in {@code select}. */
    private static double meanOfChosen(double[] select, double[] measure, int count) {
        Integer[] order = new Integer[select.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(select[b], select[a]));
        double sum = 0.0;
        for (int i = 0; i < count; i++) {
            sum += measure[order[i]];
        }
        return sum / count;
    }
}
