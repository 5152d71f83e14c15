package org.lsid.core;

/**
 * The four Bayer orders, named by the colours of the mosaic's top-left 2x2 cell read row by
 * row, and where the red pixel of an RGGB cell sits in it.
 *
 * <p>Packing drops the first {@code rowPhase} rows and {@code columnPhase} columns so that
 * every order is packed as RGGB (as {@code lsid_keras.raw.pack.cfa_phase}): RGGB (0, 0),
 * GRBG (0, 1), GBRG (1, 0), BGGR (1, 1).
 */
public enum CfaPattern {
    RGGB(0, 0),
    GRBG(0, 1),
    GBRG(1, 0),
    BGGR(1, 1);

    /** Colour indices as the Python package uses them: 0 red, 1 green, 2 blue. */
    public static final int RED = 0;
    public static final int GREEN = 1;
    public static final int BLUE = 2;

    /** Rows to drop before the first RGGB cell: 0 or 1. */
    public final int rowPhase;
    /** Columns to drop before the first RGGB cell: 0 or 1. */
    public final int columnPhase;

    CfaPattern(int rowPhase, int columnPhase) {
        this.rowPhase = rowPhase;
        this.columnPhase = columnPhase;
    }

    /**
     * The colour (0 R, 1 G, 2 B) at a position of the top-left 2x2 cell.
     *
     * @param row 0 or 1
     * @param column 0 or 1
     */
    public int colourAt(int row, int column) {
        int r = (row + rowPhase) & 1;
        int c = (column + columnPhase) & 1;
        if (r == 0 && c == 0) {
            return RED;
        }
        return r == 1 && c == 1 ? BLUE : GREEN;
    }

    /**
     * The pattern from Camera2's {@code SENSOR_INFO_COLOR_FILTER_ARRANGEMENT} value
     * (RGGB 0, GRBG 1, GBRG 2, BGGR 3; the constants are those of
     * {@code CameraMetadata.SENSOR_INFO_COLOR_FILTER_ARRANGEMENT_*}).
     *
     * @param arrangement the characteristic's value, or null when the camera publishes none
     * @param source the camera, for the message
     * @throws LsidException for RGB, monochrome, NIR or unknown sensors
     */
    public static CfaPattern fromCamera2(Integer arrangement, String source) throws LsidException {
        if (arrangement != null && arrangement >= 0 && arrangement <= 3) {
            return values()[arrangement];
        }
        String what = arrangement == null ? "none"
                : arrangement == 4 ? "RGB (no colour filter mosaic)"
                : arrangement == 5 ? "monochrome"
                : arrangement == 6 ? "NIR" : String.valueOf(arrangement);
        throw new LsidException(source + ": colour filter arrangement " + what
                + " is not a 2x2 Bayer pattern (RGGB, GRBG, GBRG, BGGR)");
    }

    /**
     * The pattern whose top-left 2x2 cell holds these colours (0 R, 1 G, 2 B), as DNG's
     * CFAPattern tag or {@code rawpy.raw_pattern} give them.
     *
     * @throws LsidException when the cell is not one of the four Bayer orders
     */
    public static CfaPattern fromColours(int[][] cell, String source) throws LsidException {
        if (cell != null && cell.length == 2 && cell[0].length == 2 && cell[1].length == 2) {
            for (CfaPattern pattern : values()) {
                boolean same = true;
                for (int r = 0; r < 2; r++) {
                    for (int c = 0; c < 2; c++) {
                        same &= pattern.colourAt(r, c) == cell[r][c];
                    }
                }
                if (same) {
                    return pattern;
                }
            }
        }
        throw new LsidException(source + ": colour filter array " + describe(cell)
                + " is not a 2x2 Bayer pattern (RGGB, GRBG, GBRG, BGGR)");
    }

    private static String describe(int[][] cell) {
        if (cell == null) {
            return "(none)";
        }
        StringBuilder text = new StringBuilder();
        for (int[] row : cell) {
            if (text.length() > 0) {
                text.append('/');
            }
            for (int v : row) {
                text.append(v >= 0 && v <= 2 ? "RGB".charAt(v) : '?');
            }
        }
        return text.toString();
    }
}
