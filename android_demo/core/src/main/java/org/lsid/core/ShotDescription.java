package org.lsid.core;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The text the app records about how a capture was exposed: the status line's label and the
 * DNG's ImageDescription ({@code DngCreator.setDescription}), and the planned ratio read back
 * from that description when the DNG is opened again ({@link DngReader} gives it as
 * {@link RawFrame#description}).
 *
 * <p>One place writes and reads the text, so the two cannot drift: a night shot's description
 * is {@code "lsid demo night: 1/250 s at ISO 1600, x98.7"} ({@link ExposurePlanner.Plan}'s
 * text, with {@code " (asked x100)"} after it when the sensor could not reach the target), an
 * auto-exposed one's {@code "lsid demo auto: 1/30 s at ISO 800"}.
 */
public final class ShotDescription {
    /** What every description this app writes starts with. */
    public static final String PREFIX = "lsid demo ";

    /** A night shot's description; group 1 is the realised ratio ({@code Plan}'s "x%.1f"). */
    private static final Pattern NIGHT = Pattern.compile(
            Pattern.quote(PREFIX) + "night: 1/[0-9]+ s at ISO [0-9]+, x([0-9]+\\.[0-9])"
            + "(?: \\(asked x[0-9]+\\))?");

    private ShotDescription() {}

    /** The label of a night shot, e.g. "night: 1/250 s at ISO 1600, x98.7". */
    public static String night(ExposurePlanner.Plan plan) {
        return "night: " + plan;
    }

    /**
     * The label of an auto-exposed shot, e.g. "auto: 1/30 s at ISO 800".
     *
     * @param exposureNs the result's exposure time (0 or less when unknown: read as 1 ns)
     * @param sensitivity the result's sensitivity, or null ("ISO ?")
     */
    public static String auto(long exposureNs, Integer sensitivity) {
        return String.format(Locale.US, "auto: 1/%.0f s at ISO %s",
                1e9 / Math.max(exposureNs, 1L), sensitivity == null ? "?" : sensitivity);
    }

    /** The DNG's ImageDescription for a shot's label ({@link #night} or {@link #auto}). */
    public static String forDng(String label) {
        return PREFIX + label;
    }

    /**
     * The ratio a night shot was planned for, as its DNG's description records it (to 0.1:
     * the text's precision), or null: no description, an auto-exposed shot, or another app's
     * text. Only the exact text {@link #forDng}({@link #night}) writes counts.
     */
    public static Double plannedRatio(String description) {
        if (description == null) {
            return null;
        }
        Matcher m = NIGHT.matcher(description);
        if (!m.matches()) {
            return null;
        }
        double ratio = Double.parseDouble(m.group(1));
        return ratio > 0 ? ratio : null;
    }
}
