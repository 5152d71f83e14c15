package org.lsid.core;

/**
 * The automatic amplification ratio, the same rule as {@code lsid enhance --ratio auto}.
 *
 * <p>Port of {@code lsid_keras.enhance.estimate_ratio} (the golden vectors record which Python
 * function they came from): the gain that brings the packed frame's mean linear value to
 * {@link #TARGET_MEAN}, clamped to [1, {@link #MAX_RATIO}]; a black frame gets the maximum.
 * Only this method's body changes when the Python rule does.
 */
public final class AutoRatio {
    /** Wanted mean after amplification, linear [0, 1]. */
    public static final double TARGET_MEAN = 0.1;
    /** The largest ratio, as SID's x300 and the app's slider. */
    public static final double MAX_RATIO = 300.0;

    private AutoRatio() {
    }

    /**
     * @param packed packed RAW in [0, 1], not amplified
     * @return the ratio, in [1, 300]
     */
    public static double estimate(PackedImage packed) {
        double sum = 0.0;
        for (float v : packed.data) {
            sum += v;
        }
        double mean = sum / packed.data.length;
        if (mean <= 0) {
            return MAX_RATIO;
        }
        return Math.min(Math.max(TARGET_MEAN / mean, 1.0), MAX_RATIO);
    }
}
