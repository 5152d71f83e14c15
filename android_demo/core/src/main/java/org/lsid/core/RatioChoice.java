package org.lsid.core;

import java.util.Locale;
import java.util.function.DoubleSupplier;

/**
 * Which amplification ratio an enhancement uses: the ratio a night shot was planned for (the
 * default whenever the shot has one), the slider's, or {@link AutoRatio}'s estimate (the
 * default for a frame without a plan: an opened DNG, a normal auto-exposed shot).
 */
public final class RatioChoice {
    /** Where the ratio comes from. */
    public enum Mode {
        /** The night shot's planned ratio ({@link ExposurePlanner.Plan#ratio}). */
        PLANNED,
        /** The slider's value. */
        MANUAL,
        /** {@link AutoRatio#estimate} of the frame, as {@code lsid enhance --ratio auto}. */
        AUTO
    }

    private RatioChoice() {}

    /** The mode a newly loaded frame starts in: PLANNED when it has a plan, else AUTO. */
    public static Mode defaultFor(Double planned) {
        return planned != null ? Mode.PLANNED : Mode.AUTO;
    }

    /**
     * The mode after the Auto box is set or cleared: AUTO when set; when cleared, the plan if
     * the frame has one, else the slider.
     */
    public static Mode afterAutoBox(boolean auto, Double planned) {
        if (auto) {
            return Mode.AUTO;
        }
        return planned != null ? Mode.PLANNED : Mode.MANUAL;
    }

    /**
     * The ratio to amplify by.
     *
     * @param planned the frame's planned ratio, or null
     * @param slider the slider's ratio
     * @param auto the frame's auto estimate, asked for only in AUTO mode (or PLANNED without a
     *     plan); it may be slow, so callers run this off the UI thread
     */
    public static double resolve(Mode mode, Double planned, double slider, DoubleSupplier auto) {
        switch (mode) {
            case PLANNED:
                if (planned != null) {
                    return planned;
                }
                return auto.getAsDouble();
            case MANUAL:
                return slider;
            default:
                return auto.getAsDouble();
        }
    }

    /** A label for the UI, e.g. "ratio x101.3 (planned)"; {@code value} null when not known yet. */
    public static String describe(Mode mode, Double value) {
        String number = value == null ? "" : String.format(Locale.US, "x%.1f", value);
        switch (mode) {
            case PLANNED:
                return "ratio " + number + " (planned for this shot)";
            case MANUAL:
                return "ratio " + number;
            default:
                return value == null ? "ratio: automatic" : "ratio: automatic, " + number;
        }
    }
}
