package org.lsid.core;

import java.util.Locale;

/**
 * Plans a night shot's short exposure from what auto-exposure metered, as the papers' data
 * was taken: the short RAW gets 1/ratio of the light of a normal exposure of the same scene
 * (SID: 1/100 to 1/300), and the network amplifies it back by that ratio.
 *
 * <p>Brightness of a RAW frame is taken as exposure time x sensitivity (ISO arithmetic units,
 * as Camera2's {@code SENSOR_SENSITIVITY}). The metered frame's "normal" brightness is its
 * exposure time x sensitivity x post-RAW boost / 100 ({@code CONTROL_POST_RAW_SENSITIVITY_BOOST}:
 * a boost the ISP applies after the RAW, so the RAW itself is darker by it); the short frame
 * gets that / ratio. The sensitivity stays the metered one where it can (the noise of the
 * sensor at that gain is what the network sees); the exposure time is capped at a handheld-safe
 * limit (and the sensor's range) and the sensitivity moves within the sensor's range to make
 * up the rest. When neither can reach the target, the plan says so through its realised
 * {@link Plan#ratio}, which is what the enhancement should amplify by.
 *
 * <p>Plain arithmetic, no Android types: the app passes Camera2's values in and the plan's out
 * ({@code SENSOR_EXPOSURE_TIME}, {@code SENSOR_SENSITIVITY}, {@code SENSOR_FRAME_DURATION} with
 * {@code CONTROL_AE_MODE_OFF}).
 */
public final class ExposurePlanner {
    /** A handheld-safe exposure for a phone: 1/30 s, in nanoseconds. */
    public static final long HANDHELD_LIMIT_NS = 33_333_333L;
    /** SID's short exposures are 1/100 to 1/300 of the long ones. */
    public static final double MIN_TARGET_RATIO = 1.0;
    public static final double MAX_TARGET_RATIO = 300.0;
    /** A planned ratio further than this from the target (relative) is reported as clamped. */
    private static final double CLAMP_TOLERANCE = 0.02;

    private final long minExposureNs;
    private final long maxExposureNs;
    private final int minSensitivity;
    private final int maxSensitivity;
    private final long handheldLimitNs;

    /** What to capture, and the ratio it realises against the metered exposure. */
    public static final class Plan {
        /** Exposure time for the short frame, nanoseconds. */
        public final long exposureNs;
        /** Sensitivity (ISO arithmetic units) for the short frame. */
        public final int sensitivity;
        /**
         * Metered brightness / planned brightness: the amplification that brings the short
         * frame back to the metered exposure. Equals the target unless {@link #clamped}.
         */
        public final double ratio;
        /** The ratio asked for. */
        public final double targetRatio;
        /** The sensor's ranges or the handheld limit kept the plan from the target ratio. */
        public final boolean clamped;

        Plan(long exposureNs, int sensitivity, double ratio, double targetRatio) {
            this.exposureNs = exposureNs;
            this.sensitivity = sensitivity;
            this.ratio = ratio;
            this.targetRatio = targetRatio;
            this.clamped = Math.abs(ratio / targetRatio - 1.0) > CLAMP_TOLERANCE;
        }

        @Override
        public String toString() {
            return String.format(Locale.US, "1/%.0f s at ISO %d, x%.1f%s",
                    1e9 / exposureNs, sensitivity, ratio,
                    clamped ? String.format(Locale.US, " (asked x%.0f)", targetRatio) : "");
        }
    }

    /**
     * @param minExposureNs, maxExposureNs the sensor's exposure time range
     *     ({@code SENSOR_INFO_EXPOSURE_TIME_RANGE}), nanoseconds
     * @param minSensitivity, maxSensitivity the sensor's sensitivity range
     *     ({@code SENSOR_INFO_SENSITIVITY_RANGE})
     * @param handheldLimitNs the longest exposure to plan (e.g. {@link #HANDHELD_LIMIT_NS});
     *     the sensor's maximum when that is shorter
     * @throws IllegalArgumentException for empty or non-positive ranges
     */
    public ExposurePlanner(long minExposureNs, long maxExposureNs, int minSensitivity,
            int maxSensitivity, long handheldLimitNs) {
        if (minExposureNs <= 0 || maxExposureNs < minExposureNs) {
            throw new IllegalArgumentException("exposure time range must be positive and "
                    + "ordered; got " + minExposureNs + " .. " + maxExposureNs + " ns");
        }
        if (minSensitivity <= 0 || maxSensitivity < minSensitivity) {
            throw new IllegalArgumentException("sensitivity range must be positive and ordered; "
                    + "got " + minSensitivity + " .. " + maxSensitivity);
        }
        if (handheldLimitNs < minExposureNs) {
            throw new IllegalArgumentException("handheld limit " + handheldLimitNs
                    + " ns is shorter than the sensor's shortest exposure " + minExposureNs
                    + " ns");
        }
        this.minExposureNs = minExposureNs;
        this.maxExposureNs = maxExposureNs;
        this.minSensitivity = minSensitivity;
        this.maxSensitivity = maxSensitivity;
        this.handheldLimitNs = handheldLimitNs;
    }

    /** The longest exposure a plan uses: the handheld limit within the sensor's range. */
    public long longestExposureNs() {
        return Math.min(handheldLimitNs, maxExposureNs);
    }

    /**
     * Plans the short exposure.
     *
     * @param meteredExposureNs the metered frame's {@code SENSOR_EXPOSURE_TIME}, > 0
     * @param meteredSensitivity its {@code SENSOR_SENSITIVITY}, > 0
     * @param postRawBoost its {@code CONTROL_POST_RAW_SENSITIVITY_BOOST} (100 = none; pass 100
     *     when the camera does not report it)
     * @param targetRatio how much less light the short frame should get, 1 to 300
     * @throws LsidException for a metered value or target outside those ranges
     */
    public Plan plan(long meteredExposureNs, int meteredSensitivity, int postRawBoost,
            double targetRatio) throws LsidException {
        if (meteredExposureNs <= 0 || meteredSensitivity <= 0 || postRawBoost <= 0) {
            throw new LsidException("metered exposure " + meteredExposureNs + " ns at ISO "
                    + meteredSensitivity + " (boost " + postRawBoost + "): expected positive "
                    + "values from auto-exposure");
        }
        if (!(targetRatio >= MIN_TARGET_RATIO && targetRatio <= MAX_TARGET_RATIO)) {
            throw new LsidException("target ratio " + targetRatio + ": expected "
                    + MIN_TARGET_RATIO + " to " + MAX_TARGET_RATIO);
        }
        double metered = (double) meteredExposureNs * meteredSensitivity * postRawBoost / 100.0;
        double wanted = metered / targetRatio;
        // Keep the metered gain where the range allows; the time takes the ratio.
        int sensitivity = clamp(meteredSensitivity, minSensitivity, maxSensitivity);
        long exposure = Math.round(wanted / sensitivity);
        long longest = longestExposureNs();
        if (exposure > longest) {
            // Too dark for a handheld exposure at that gain: more gain, up to the sensor's.
            exposure = longest;
            sensitivity = clamp((int) Math.ceil(wanted / exposure - 1e-9), minSensitivity,
                    maxSensitivity);
        } else if (exposure < minExposureNs) {
            // Too bright for the shortest exposure at that gain: less gain, down to the base.
            exposure = minExposureNs;
            sensitivity = clamp((int) Math.floor(wanted / exposure + 1e-9), minSensitivity,
                    maxSensitivity);
        }
        // The time absorbs what the whole-number sensitivity could not match exactly.
        exposure = Math.max(minExposureNs, Math.min(longest,
                Math.round(wanted / sensitivity)));
        double ratio = metered / ((double) exposure * sensitivity);
        return new Plan(exposure, sensitivity, ratio, targetRatio);
    }

    private static int clamp(int value, int low, int high) {
        return Math.max(low, Math.min(high, value));
    }
}
