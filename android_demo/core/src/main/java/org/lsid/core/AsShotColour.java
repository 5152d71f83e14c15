package org.lsid.core;

/**
 * Gives the network's stitched output the colour the camera's as-shot white balance gives the
 * scene: a port of {@code lsid_keras.as_shot_colour} (checked against it by the golden vectors).
 *
 * <p>Why: the network sees the raw frame but not the white balance the camera chose, so its
 * colour is a guess (the shipped model guesses warm: a mean CIELAB a*b* error of about 12
 * against about 5 for the traditional pipeline). The file says what the colour should be:
 * the frame's mean colour, measured on the black-subtracted mosaic without clipping (read
 * noise averages out; packing clips below black, which biases dark pixels), white-balanced with
 * the as-shot gains and taken to linear sRGB with the camera's colour matrix as LibRaw renders
 * the ground truth. The output then gets per-channel gains in linear light that bring its mean
 * colour to that colour while keeping its mean luminance: a global white-balance correction,
 * so the network's denoising, detail and tone stay as they are. A frame without a colour matrix
 * gets the colour LibRaw renders it with: camera RGB times the white balance, taken as linear
 * sRGB ({@link ColourMapping#renderingXyzToCamera}).
 *
 * <p>Applied once per frame on the stitched output (tiled and untiled runs give one picture),
 * after the network and before anything else. The mosaic statistic ({@link #cameraMean}) is
 * taken when the frame is at hand (a Camera2 image is closed right after packing); the rest
 * needs only three numbers.
 */
public final class AsShotColour {
    /** What colour the finished picture gets, as {@code lsid enhance --colour}. */
    public enum Mode {
        /** The as-shot colour (the default). */
        AS_SHOT("as-shot"),
        /** The network's colour, unchanged. */
        NETWORK("network");

        /** The name {@code lsid enhance --colour} takes. */
        public final String label;

        Mode(String label) {
            this.label = label;
        }
    }

    /** Rec. 709 luminance weights of linear sRGB (the mean luminance is kept). */
    static final double[] LUMA = {0.2126, 0.7152, 0.0722};
    /** Gains are clamped to [MIN_GAIN, MAX_GAIN] before the luminance is restored. */
    static final double MIN_GAIN = 0.25;
    static final double MAX_GAIN = 4.0;
    // LibRaw's default output curve (rawpy gamma=(2.222, 4.5)): Rec. 709, power 0.45, toe
    // slope 4.5, joined continuously; as lsid_keras.as_shot_colour.
    private static final double ALPHA = 1.0992968268094429;
    private static final double BETA = 0.018053968510807;
    /** 16-bit codes of the encoded output: histograms and gain tables are indexed by them. */
    static final int CODES = 65536;
    /** Below this mean luminance (linear) an image is left alone: no colour to measure. */
    private static final double DARK = 1e-6;

    private AsShotColour() {
    }

    /**
     * The frame's mean camera colour (R, G, B) before white balance: per CFA colour, the mean of
     * {@code sample - black} over all its mosaic pixels, not clipped at 0, divided by
     * {@code white - max(black)} (at least 1 DN). About [0, 1] (slightly negative for a frame
     * below black). Reads every pixel once.
     */
    public static double[] cameraMean(RawFrame frame) {
        long[][] sums = new long[2][2];
        for (int row = 0; row < frame.height; row++) {
            long[] cell = sums[row & 1];
            for (int column = 0; column < frame.width; column++) {
                cell[column & 1] += frame.sample(row, column);
            }
        }
        double[] colourSums = new double[3];
        double[] counts = new double[3];
        double maxBlack = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 2; j++) {
                // Pixels at position (i, j) of the 2x2 cell: ceil((size - i) / 2) per axis.
                long count = (long) ((frame.height - i + 1) / 2) * ((frame.width - j + 1) / 2);
                int colour = frame.cfa.colourAt(i, j);
                colourSums[colour] += sums[i][j] - count * frame.blackLevel(i, j);
                counts[colour] += count;
                maxBlack = Math.max(maxBlack, frame.blackLevel(i, j));
            }
        }
        double range = Math.max(frame.whiteLevel - maxBlack, 1.0);
        double[] mean = new double[3];
        for (int c = 0; c < 3; c++) {
            mean[c] = colourSums[c] / Math.max(counts[c], 1.0) / range;
        }
        return mean;
    }

    /**
     * The scene's mean colour in linear sRGB as LibRaw's as-shot rendering gives it, up to
     * scale: {@code inv(N) (cameraMean * gains)} with the as-shot gains relative to green
     * ({@link ColourMapping#whiteBalanceGains}: D65 gains when the frame has none) and
     * {@code N = rows-sum-to-1(xyzToCamera @ sRGB->XYZ)} ({@link ColourMapping#srgbToCamera}).
     *
     * @param cameraMean from {@link #cameraMean}, or null
     * @param whiteBalance as-shot gains (R, G, B), or null when unknown
     * @param xyzToCamera the camera's XYZ -> camera matrix (D65), or null when unknown (then
     *     camera RGB is taken as sRGB, as LibRaw renders such a file)
     * @return (3) linear sRGB with positive luminance, or null when the mean is unknown or the
     *     frame has no signal (luminance <= 0)
     * @throws LsidException a matrix that cannot be inverted
     */
    public static double[] sceneColour(double[] cameraMean, float[] whiteBalance,
            double[][] xyzToCamera) throws LsidException {
        if (cameraMean == null) {
            return null;
        }
        double[][] matrix = ColourMapping.renderingXyzToCamera(xyzToCamera);
        double[] gains = ColourMapping.whiteBalanceGains(whiteBalance, matrix);
        double[] balanced = new double[3];
        for (int c = 0; c < 3; c++) {
            balanced[c] = cameraMean[c] * gains[c];
        }
        double[][] toCamera = ColourMapping.srgbToCamera(matrix, "XYZ -> camera");
        double[] colour = ColourMapping.multiply(
                ColourMapping.inverse(toCamera, "sRGB -> camera"), balanced);
        return luminance(colour) > 0 ? colour : null;
    }

    /** {@link #sceneColour(double[], float[], double[][])} of a frame and its metadata. */
    public static double[] sceneColour(RawFrame frame) throws LsidException {
        return sceneColour(cameraMean(frame), frame.whiteBalance(), frame.xyzToCamera());
    }

    /** LibRaw's output curve decoded: [0, 1] encoded (clipped first) -> linear [0, 1]. */
    static double toLinear(double encoded) {
        double v = Math.min(Math.max(encoded, 0.0), 1.0);
        return v < BETA * 4.5 ? v / 4.5 : Math.pow((v + (ALPHA - 1)) / ALPHA, 1 / 0.45);
    }

    /** Linear light (clipped to [0, 1] first) encoded with LibRaw's output curve. */
    static double toEncoded(double linear) {
        double v = Math.min(Math.max(linear, 0.0), 1.0);
        return v < BETA ? 4.5 * v : ALPHA * Math.pow(v, 0.45) - (ALPHA - 1);
    }

    private static double luminance(double[] rgb) {
        return LUMA[0] * rgb[0] + LUMA[1] * rgb[1] + LUMA[2] * rgb[2];
    }

    /** Linear levels of the 16-bit codes, computed once ({@link #codeLevels}). */
    private static final class Levels {
        static final double[] TABLE = new double[CODES];

        static {
            for (int k = 0; k < CODES; k++) {
                TABLE[k] = toLinear(k / (double) (CODES - 1));
            }
        }
    }

    /**
     * The 16-bit code of an encoded value, as {@code lsid_keras.as_shot_colour.code_histograms}
     * counts it: clipped to [0, 1], {@code (int) (v * 65535f + 0.5f)} in float32 (float64
     * would put some values within an ulp of half a code in the next code).
     */
    static int code(float value) {
        return (int) (Math.min(Math.max(value, 0f), 1f) * (CODES - 1) + 0.5f);
    }

    /**
     * Per channel, how many of {@code rgb}'s values round to each 16-bit code ({@link #code}):
     * {@code int[3][65536]}, one pass over the picture. The mean colour
     * ({@link #meanColourGains}) and the auto-bright levels ({@link AutoBright#whiteLevels})
     * are both taken from it.
     */
    public static int[][] codeHistograms(RgbImage rgb) {
        int[][] counts = new int[3][CODES];
        int[] red = counts[0];
        int[] green = counts[1];
        int[] blue = counts[2];
        float[] data = rgb.data;
        for (int i = 0; i + 2 < data.length; i += 3) {
            red[code(data[i])]++;
            green[code(data[i + 1])]++;
            blue[code(data[i + 2])]++;
        }
        return counts;
    }

    /**
     * The linear level of each 16-bit code, {@code toLinear(k / 65535.0)} (LibRaw's curve
     * decoded), shared: do not modify.
     */
    static double[] codeLevels() {
        return Levels.TABLE;
    }

    /**
     * The per-channel linear gains of {@link #matchMeanColour} for a picture of code histograms
     * {@code counts} ({@link #codeHistograms}) and {@code target}: the mean colour is the mean
     * linear level of the codes (within half a code of each value's, about 1e-5); each gain is
     * clamped to [0.25, 4] (a white-balance correction, not a recolouring), then all are scaled
     * so that the mean luminance is kept.
     *
     * @param target (3) linear sRGB, any positive scale (components below 1e-9 count as 1e-9)
     * @return the (3) gains, or null when the picture's mean luminance is at most 1e-6 (no
     *     colour to measure)
     */
    public static double[] meanColourGains(int[][] counts, double[] target) {
        double[] goal = new double[3];
        for (int c = 0; c < 3; c++) {
            goal[c] = Math.max(target[c], 1e-9);
        }
        double[] levels = codeLevels();
        long pixels = 0;
        for (int count : counts[0]) {
            pixels += count;
        }
        double[] mean = new double[3];
        for (int c = 0; c < 3; c++) {
            int[] row = counts[c];
            double sum = 0;
            for (int k = 0; k < CODES; k++) {
                if (row[k] != 0) {
                    sum += row[k] * levels[k];
                }
            }
            mean[c] = sum / Math.max(pixels, 1);
        }
        double level = luminance(mean);
        if (!(level > DARK)) {
            return null;
        }
        double goalLevel = luminance(goal);
        double[] gains = new double[3];
        double[] gained = new double[3];
        for (int c = 0; c < 3; c++) {
            gains[c] = goal[c] * level / goalLevel / Math.max(mean[c], 1e-9);
            gains[c] = Math.min(Math.max(gains[c], MIN_GAIN), MAX_GAIN);
            gained[c] = mean[c] * gains[c];
        }
        double keep = level / luminance(gained);
        for (int c = 0; c < 3; c++) {
            gains[c] *= keep;
        }
        return gains;
    }

    /**
     * The encoded curve of a linear gain at the 16-bit codes: {@code (float)
     * toEncoded(codeLevels[k] * gain)} (re-encoded and clipped), as
     * {@code lsid_keras.as_shot_colour.gain_table}.
     */
    static float[] gainTable(double gain) {
        double[] levels = codeLevels();
        float[] table = new float[CODES];
        for (int k = 0; k < CODES; k++) {
            table[k] = (float) toEncoded(levels[k] * gain);
        }
        return table;
    }

    /**
     * Multiplies {@code rgb} (encoded with LibRaw's curve) by per-channel {@code gains} in
     * linear light, re-encoded and clipped to [0, 1]; in place. Each channel's curve is
     * tabulated at the 16-bit codes ({@link #gainTable}) and interpolated linearly, in float32
     * as {@code apply_linear_gains}: {@code p = clip(v, 0, 1) * 65535f; k = (int) p;
     * p -= k; v = p * (table[k + 1] - table[k]) + table[k]} (the step after the last code is
     * 0). 65536 powers a channel instead of two a value; the error is largest at the kink
     * where the curve reaches white: within 7e-6 of the formula up to gain 4, 2e-5 up to 30,
     * 1.2e-4 up to 256 (there: 0.03 of an 8-bit level, a few 16-bit codes).
     */
    public static void applyLinearGains(RgbImage rgb, double[] gains) {
        float[][] tables = new float[3][];
        float[][] steps = new float[3][];
        for (int c = 0; c < 3; c++) {
            float[] table = gainTable(gains[c]);
            float[] step = new float[CODES];
            for (int k = 0; k + 1 < CODES; k++) {
                step[k] = table[k + 1] - table[k];
            }
            tables[c] = table;
            steps[c] = step;
        }
        float[] data = rgb.data;
        for (int i = 0; i + 2 < data.length; i += 3) {
            for (int c = 0; c < 3; c++) {
                float position = Math.min(Math.max(data[i + c], 0f), 1f) * (CODES - 1);
                int k = (int) position;
                position -= k;
                data[i + c] = position * steps[c][k] + tables[c][k];
            }
        }
    }

    /**
     * Gives {@code rgb} per-channel gains in linear light that bring its mean colour to
     * {@code target}'s chromaticity, keeping its mean luminance; in place (a 12 MP output is
     * 144 MB of floats: no copy). {@link #codeHistograms}, {@link #meanColourGains}, then
     * {@link #applyLinearGains}, as {@code match_mean_colour}.
     *
     * @param rgb the network's output, encoded with LibRaw's curve, about [0, 1]; afterwards
     *     in [0, 1] (encoded), or unchanged when its mean luminance is at most 1e-6
     * @param target (3) linear sRGB, any positive scale (components below 1e-9 count as 1e-9)
     * @return the (3) gains applied, all 1 when the image was left unchanged
     */
    public static double[] matchMeanColour(RgbImage rgb, double[] target) {
        double[] gains = meanColourGains(codeHistograms(rgb), target);
        if (gains == null) {
            return new double[] {1.0, 1.0, 1.0};
        }
        applyLinearGains(rgb, gains);
        return gains;
    }

    /** What {@link #finish(RgbImage, Mode, boolean, double[], float[], double[][])} applied. */
    public static final class Finished {
        /** The (3) colour gains, or null when the colour is the network's (or unmeasurable). */
        public final double[] colourGains;
        /** LibRaw's auto-bright gain ({@link AutoBright}), 1 when off. */
        public final double bright;

        Finished(double[] colourGains, double bright) {
            this.colourGains = colourGains;
            this.bright = bright;
        }
    }

    /**
     * Finishes the stitched output's colour as {@code lsid_keras.enhance.finish_colour}: the
     * as-shot colour ({@link #sceneColour}, {@link #matchMeanColour}) or the network's. In place.
     * Without auto-bright: {@link #finish(RgbImage, Mode, boolean, double[], float[],
     * double[][])} with {@code autoBright} false.
     *
     * @param cameraMean, whiteBalance, xyzToCamera the frame's, as for {@link #sceneColour}
     * @return the gains applied, or null when the picture was left as the network made it
     *     ({@link Mode#NETWORK}, or no signal)
     * @throws LsidException a matrix that cannot be inverted
     */
    public static double[] finish(RgbImage rgb, Mode mode, double[] cameraMean,
            float[] whiteBalance, double[][] xyzToCamera) throws LsidException {
        return finish(rgb, mode, false, cameraMean, whiteBalance, xyzToCamera).colourGains;
    }

    /**
     * Finishes the stitched output as {@code lsid_keras.enhance.finish_output}: the colour
     * {@code mode} asks for and, when {@code autoBright}, LibRaw's auto-bright measured after
     * that colour ({@link AutoBright}), from one histogram pass ({@link #codeHistograms}) and
     * applied in one pass in linear light ({@link #applyLinearGains} with the colour gains
     * times the auto-bright gain). In place; nothing is written when every gain is 1 (values
     * beyond [0, 1] then stay as they are).
     *
     * @param cameraMean, whiteBalance, xyzToCamera the frame's, as for {@link #sceneColour}
     * @return the colour gains (null for {@link Mode#NETWORK} or a frame without signal; all 1
     *     for a picture too dark to measure) and the auto-bright gain (1 when off)
     * @throws LsidException a matrix that cannot be inverted
     */
    public static Finished finish(RgbImage rgb, Mode mode, boolean autoBright,
            double[] cameraMean, float[] whiteBalance, double[][] xyzToCamera)
            throws LsidException {
        double[] target = mode == Mode.AS_SHOT
                ? sceneColour(cameraMean, whiteBalance, xyzToCamera) : null;
        if (target == null && !autoBright) {
            return new Finished(null, 1.0);
        }
        int[][] counts = codeHistograms(rgb); // one pass: the mean colour and the white levels
        double[] gains = null;
        if (target != null) {
            gains = meanColourGains(counts, target);
            if (gains == null) {
                gains = new double[] {1.0, 1.0, 1.0};
            }
        }
        double bright = autoBright ? AutoBright.gain(AutoBright.whiteLevels(counts), gains) : 1.0;
        double[] total = new double[3];
        boolean unchanged = true;
        for (int c = 0; c < 3; c++) {
            total[c] = (gains == null ? 1.0 : gains[c]) * bright;
            unchanged &= total[c] == 1.0;
        }
        if (!unchanged) {
            applyLinearGains(rgb, total);
        }
        return new Finished(gains, bright);
    }
}
