package org.lsid.core;

/**
 * Maps another camera's packed RAW into the training camera's raw colour space before the
 * network: a port of {@code lsid_keras.raw.colour} (checked against it by the golden vectors).
 *
 * <p>A network trained on one camera (SID's Sony alpha 7S II) learned that camera's colour
 * response; a phone's raw values for the same scene differ by a 3x3 matrix and other
 * white-balance gains. With each camera's XYZ -> camera matrix {@code M} (DNG ColorMatrix,
 * Camera2 {@code SENSOR_COLOR_TRANSFORM*}; the training camera's from the model card's
 * {@code camera.training_camera.xyz_to_camera}), {@code N = rows-sum-to-1(M @ sRGB->XYZ)}, the
 * source's as-shot gains {@code w_s} and the training camera's gains for the same illuminant
 * {@code w_t = G / (M_t inv(M_s) (1 / w_s))}:
 *
 * <pre>camera_t = diag(1 / w_t) N_t inv(N_s) diag(w_s) camera_s</pre>
 *
 * <p>A frame without a colour matrix is mapped by the rule LibRaw renders it with: camera RGB
 * times the white balance taken as linear sRGB ({@link #SRGB_AS_CAMERA}).
 *
 * <p>On the packed frame each channel of colour c becomes {@code A[c][c] * itself + sum over
 * the other colours j of A[c][j] * mean(channels of colour j)}, so the two greens keep their own
 * values; the result is clipped to [0, 1]. Green keeps its level, so the ratio is unchanged.
 * Not fixed by this: noise, spectral differences beyond a 3x3 matrix, clipped highlights.
 */
public final class ColourMapping {
    /** Linear sRGB -> CIE XYZ (D65), as {@code lsid_keras.raw.unprocess.SRGB_TO_XYZ}. */
    static final double[][] SRGB_TO_XYZ = {
        {0.4124564, 0.3575761, 0.1804375},
        {0.2126729, 0.7151522, 0.0721750},
        {0.0193339, 0.1191920, 0.9503041},
    };
    /**
     * The XYZ -> camera matrix LibRaw develops a RAW without one with: XYZ -> linear sRGB
     * (LibRaw keeps its camera -> sRGB matrix at the identity, so camera RGB times the white
     * balance is taken as linear sRGB), as {@code lsid_keras.raw.colour.SRGB_AS_CAMERA}.
     */
    static final double[][] SRGB_AS_CAMERA = srgbAsCamera();
    /** Colour (0 R, 1 G, 2 B) of each Bayer packed channel R, G, B, G. */
    static final int[] BAYER_COLOURS = {0, 1, 2, 1};
    /** Two matrices closer than this per entry are the same camera: nothing to map. */
    static final double SAME_CAMERA_ATOL = 1e-4;
    private static final double[] D65_XYZ = {0.95047, 1.0, 1.08883};

    private ColourMapping() {
    }

    private static double[][] srgbAsCamera() {
        try {
            return inverse(SRGB_TO_XYZ, "sRGB -> XYZ");
        } catch (LsidException impossible) {
            throw new AssertionError(impossible);
        }
    }

    /**
     * The XYZ -> camera matrix LibRaw renders a frame with: the frame's own, or
     * {@link #SRGB_AS_CAMERA} when it has none (null).
     */
    public static double[][] renderingXyzToCamera(double[][] xyzToCamera) {
        double[][] m = xyzToCamera == null ? SRGB_AS_CAMERA : xyzToCamera;
        return new double[][] {m[0].clone(), m[1].clone(), m[2].clone()};
    }

    static double[][] multiply(double[][] a, double[][] b) {
        double[][] out = new double[3][3];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                for (int k = 0; k < 3; k++) {
                    out[i][j] += a[i][k] * b[k][j];
                }
            }
        }
        return out;
    }

    static double[] multiply(double[][] a, double[] v) {
        double[] out = new double[3];
        for (int i = 0; i < 3; i++) {
            for (int k = 0; k < 3; k++) {
                out[i] += a[i][k] * v[k];
            }
        }
        return out;
    }

    static double determinant(double[][] m) {
        return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
                - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    }

    static double[][] inverse(double[][] m, String name) throws LsidException {
        double det = determinant(m);
        if (!(Math.abs(det) >= 1e-9)) {
            throw new LsidException(name + " is not an invertible 3x3 matrix");
        }
        double[][] out = new double[3][3];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                // Cofactor of (j, i) over the determinant: the adjugate's entry (i, j).
                int r0 = (j + 1) % 3;
                int r1 = (j + 2) % 3;
                int c0 = (i + 1) % 3;
                int c1 = (i + 2) % 3;
                out[i][j] = (m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]) / det;
            }
        }
        return out;
    }

    /** Linear sRGB -> camera RGB, rows normalised to sum 1 (as LibRaw normalises). */
    static double[][] srgbToCamera(double[][] xyzToCamera, String name) throws LsidException {
        double[][] m = multiply(xyzToCamera, SRGB_TO_XYZ);
        for (double[] row : m) {
            double sum = row[0] + row[1] + row[2];
            if (Math.abs(sum) < 1e-9) {
                throw new LsidException(name + " maps white to zero in a channel");
            }
            for (int j = 0; j < 3; j++) {
                row[j] /= sum;
            }
        }
        return m;
    }

    /**
     * As-shot gains (R, G, B) relative to green; when the frame has none, the camera's gains
     * for a D65 white.
     */
    public static double[] whiteBalanceGains(float[] asShot, double[][] xyzToCamera) {
        if (asShot != null && asShot.length >= 3 && asShot[0] > 0 && asShot[1] > 0
                && asShot[2] > 0 && Float.isFinite(asShot[0]) && Float.isFinite(asShot[2])) {
            double green = asShot[1];
            return new double[] {asShot[0] / green, 1.0, asShot[2] / green};
        }
        double[] response = multiply(xyzToCamera, D65_XYZ);
        return new double[] {response[1] / response[0], 1.0, response[1] / response[2]};
    }

    /**
     * The 3x3 matrix A with {@code camera_t = A camera_s} for un-white-balanced raw RGB.
     *
     * @throws LsidException singular matrices, or a source white the training camera cannot see
     */
    public static double[][] cameraToCamera(double[][] source, double[] sourceGains,
            double[][] target) throws LsidException {
        double[] inverseGains = {1 / sourceGains[0], 1 / sourceGains[1], 1 / sourceGains[2]};
        double[] whiteXyz = multiply(inverse(source, "source XYZ -> camera"), inverseGains);
        double[] response = multiply(target, whiteXyz);
        if (response[0] <= 0 || response[1] <= 0 || response[2] <= 0) {
            throw new LsidException("the source white has no positive response in the "
                    + "training camera");
        }
        double[] targetGains = {response[1] / response[0], 1.0, response[1] / response[2]};
        double[][] toTarget = srgbToCamera(target, "training XYZ -> camera");
        double[][] fromSource = inverse(srgbToCamera(source, "source XYZ -> camera"),
                "source sRGB -> camera");
        double[][] middle = multiply(toTarget, fromSource);
        double[][] out = new double[3][3];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                out[i][j] = middle[i][j] * sourceGains[j] / targetGains[i];
            }
        }
        return out;
    }

    /**
     * The matrix for a frame into the training camera, or null when there is nothing to do:
     * the training camera unknown (null), or both the same camera. A frame without a matrix
     * (source null) is mapped from the camera LibRaw renders it as
     * ({@link #renderingXyzToCamera}): a RAW whose data is already white-balanced then
     * reaches the network as the training camera's raw of a D65 scene.
     */
    public static double[][] mappingFor(double[][] frameXyzToCamera, float[] asShot,
            double[][] target) throws LsidException {
        if (target == null) {
            return null;
        }
        double[][] source = renderingXyzToCamera(frameXyzToCamera);
        boolean same = true;
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                same &= Math.abs(source[i][j] - target[i][j]) <= SAME_CAMERA_ATOL;
            }
        }
        if (same) {
            return null;
        }
        return cameraToCamera(source, whiteBalanceGains(asShot, source), target);
    }

    /** A copy of a Bayer packed frame mapped by A, float32, clipped to [0, 1]. */
    public static PackedImage applyToPacked(PackedImage packed, double[][] matrix) {
        if (packed.channels != BAYER_COLOURS.length) {
            throw new IllegalArgumentException("colour mapping needs a Bayer packed frame "
                    + "(4 channels); got " + packed.channels);
        }
        float[][] a = new float[3][3];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                a[i][j] = (float) matrix[i][j];
            }
        }
        float[] in = packed.data;
        float[] out = new float[in.length];
        float[] means = new float[3];
        for (int p = 0; p < in.length; p += 4) {
            means[0] = in[p];
            means[1] = (in[p + 1] + in[p + 3]) / 2f;
            means[2] = in[p + 2];
            for (int k = 0; k < 4; k++) {
                int c = BAYER_COLOURS[k];
                float value = a[c][c] * in[p + k];
                for (int j = 0; j < 3; j++) {
                    if (j != c) {
                        value += means[j] * a[c][j];
                    }
                }
                out[p + k] = Math.min(Math.max(value, 0f), 1f);
            }
        }
        return new PackedImage(packed.height, packed.width, packed.channels, out);
    }
}
