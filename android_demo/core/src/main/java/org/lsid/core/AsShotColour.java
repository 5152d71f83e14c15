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

    /**
     * Gives {@code rgb} per-channel gains in linear light that bring its mean colour to
     * {@code target}'s chromaticity, keeping its mean luminance; in place (a 12 MP output is
     * 144 MB of floats: no copy). Each gain is clamped to [0.25, 4] (a white-balance correction,
     * not a recolouring), then all are scaled so that the mean luminance is kept.
     *
     * @param rgb the network's output, encoded with LibRaw's curve, about [0, 1]; afterwards
     *     in [0, 1] (encoded), or unchanged when its mean luminance is below 1e-6
     * @param target (3) linear sRGB, any positive scale (components below 1e-9 count as 1e-9)
     * @return the (3) gains applied, all 1 when the image was left unchanged
     */
    public static double[] matchMeanColour(RgbImage rgb, double[] target) {
        double[] goal = new double[3];
        for (int c = 0; c < 3; c++) {
            goal[c] = Math.max(target[c], 1e-9);
        }
        float[] data = rgb.data;
        double[] mean = new double[3];
        for (int i = 0; i < data.length; i += 3) {
            for (int c = 0; c < 3; c++) {
                mean[c] += toLinear(data[i + c]);
            }
        }
        double pixels = data.length / 3.0;
        for (int c = 0; c < 3; c++) {
            mean[c] /= pixels;
        }
        double level = luminance(mean);
        if (!(level > DARK)) {
            return new double[] {1.0, 1.0, 1.0};
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
        for (int i = 0; i < data.length; i += 3) {
            for (int c = 0; c < 3; c++) {
                data[i + c] = (float) toEncoded(toLinear(data[i + c]) * gains[c]);
            }
        }
        return gains;
    }

    /**
     * Finishes the stitched output's colour as {@code lsid_keras.enhance.finish_colour}: the
     * as-shot colour ({@link #sceneColour}, {@link #matchMeanColour}) or the network's. In place.
     *
     * @param cameraMean, whiteBalance, xyzToCamera the frame's, as for {@link #sceneColour}
     * @return the gains applied, or null when the picture was left as the network made it
     *     ({@link Mode#NETWORK}, or no signal)
     * @throws LsidException a matrix that cannot be inverted
     */
    public static double[] finish(RgbImage rgb, Mode mode, double[] cameraMean,
            float[] whiteBalance, double[][] xyzToCamera) throws LsidException {
        if (mode == Mode.NETWORK) {
            return null;
        }
        double[] target = sceneColour(cameraMean, whiteBalance, xyzToCamera);
        return target == null ? null : matchMeanColour(rgb, target);
    }
}
