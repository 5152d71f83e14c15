package org.lsid.core;

/**
 * Packs a Bayer mosaic of any 2x2 order into the network input, as
 * {@code lsid_keras.raw.pack.pack_bayer} does.
 *
 * <p>Every order is first brought to the RGGB phase by dropping the first row and/or column
 * ({@link CfaPattern#rowPhase}, {@link CfaPattern#columnPhase}); each RGGB cell becomes one
 * packed pixel with channels R (0,0), G (0,1), B (1,1), G (1,0). Values are normalised per CFA
 * position, {@code (x - black) / (white - black)}, clipped to [0, 1], in float32 exactly as the
 * Python packer computes them (the golden vectors check bit equality).
 */
public final class BayerPacker {
    /** Packed channels of a Bayer frame. */
    public static final int CHANNELS = 4;
    /** Output pixels per packed pixel per side. */
    public static final int BLOCK = 2;
    /** (row, column) in the aligned RGGB cell of channels R, G, B, G. */
    private static final int[] CELL_ROWS = {0, 0, 1, 1};
    private static final int[] CELL_COLUMNS = {0, 1, 1, 0};

    private BayerPacker() {
    }

    /** Packed height, {@code floor((height - rowPhase) / 2)}. */
    public static int packedHeight(RawFrame frame) {
        return (frame.height - frame.cfa.rowPhase) / 2;
    }

    /** Packed width, {@code floor((width - columnPhase) / 2)}. */
    public static int packedWidth(RawFrame frame) {
        return (frame.width - frame.cfa.columnPhase) / 2;
    }

    /**
     * The packed frame, {@code floor((H - dy) / 2) x floor((W - dx) / 2) x 4} float32 in
     * [0, 1], linear, not amplified.
     *
     * @throws LsidException when the frame is too small to hold one aligned cell
     */
    public static PackedImage pack(RawFrame frame) throws LsidException {
        int height = packedHeight(frame);
        int width = packedWidth(frame);
        if (height < 1 || width < 1) {
            throw new LsidException(frame.source + ": " + frame.width + " x " + frame.height
                    + " pixels hold no whole " + frame.cfa + " cell after alignment");
        }
        int dy = frame.cfa.rowPhase;
        int dx = frame.cfa.columnPhase;
        float[] black = new float[CHANNELS];
        float[] scale = new float[CHANNELS];
        for (int c = 0; c < CHANNELS; c++) {
            // The levels are indexed from the mosaic's top-left cell; the aligned cell starts
            // (dy, dx) further on, so its positions wrap around the 2x2 pattern.
            double level = frame.blackLevel((CELL_ROWS[c] + dy) & 1, (CELL_COLUMNS[c] + dx) & 1);
            black[c] = (float) level;
            scale[c] = (float) (frame.whiteLevel - level);
        }
        PackedImage packed = new PackedImage(height, width, CHANNELS);
        float[] out = packed.data;
        int i = 0;
        for (int y = 0; y < height; y++) {
            int row = dy + 2 * y;
            for (int x = 0; x < width; x++) {
                int column = dx + 2 * x;
                for (int c = 0; c < CHANNELS; c++) {
                    float value =
                            (float) frame.sample(row + CELL_ROWS[c], column + CELL_COLUMNS[c]);
                    value = (value - black[c]) / scale[c];
                    out[i++] = Math.min(Math.max(value, 0.0f), 1.0f);
                }
            }
        }
        return packed;
    }
}
