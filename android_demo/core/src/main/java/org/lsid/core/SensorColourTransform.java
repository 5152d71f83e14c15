package org.lsid.core;

/**
 * Chooses a camera's XYZ -> camera matrix from the two it publishes, one per reference
 * illuminant, with the same rule as {@code lsid_keras.raw.dng.dng_color_matrix}: the first
 * calibrated under a daylight illuminant (D65, D55, D75, daylight, fine weather), else the
 * second (by convention the daylight one), else the first.
 *
 * <p>Camera2 publishes, per illuminant {@code i}, {@code SENSOR_REFERENCE_ILLUMINANTi} (EXIF
 * LightSource codes, as DNG's CalibrationIlluminant), {@code SENSOR_COLOR_TRANSFORMi} (XYZ ->
 * the reference camera, DNG ColorMatrix) and {@code SENSOR_CALIBRATION_TRANSFORMi} (reference
 * camera -> this unit, DNG CameraCalibration). As the DNG specification composes them, this
 * unit's XYZ -> camera matrix is {@code CameraCalibration * ColorMatrix}; a missing
 * calibration is the identity. (A DNG's CameraCalibration is not read by {@link DngReader},
 * like {@code dng_color_matrix}; phones publish it close to the identity.)
 */
public final class SensorColourTransform {
    /** EXIF LightSource codes of daylight near D65: D65, daylight, fine weather, D55, D75. */
    private static final int[] DAYLIGHT = {21, 1, 9, 20, 22};

    private SensorColourTransform() {}

    /** One illuminant's calibration as the camera publishes it. */
    public static final class Calibration {
        final Integer illuminant;
        final double[][] colourMatrix;
        final double[][] calibration;

        /**
         * @param illuminant EXIF LightSource code, or null when unknown
         * @param colourMatrix 3x3 XYZ -> reference camera, or null when not published
         * @param calibration 3x3 reference camera -> this unit, or null (identity)
         */
        public Calibration(Integer illuminant, double[][] colourMatrix,
                double[][] calibration) {
            this.illuminant = illuminant;
            this.colourMatrix = colourMatrix;
            this.calibration = calibration;
        }

        boolean usable() {
            return isFiniteNonZero3x3(colourMatrix);
        }

        boolean daylight() {
            if (illuminant == null) {
                return false;
            }
            for (int code : DAYLIGHT) {
                if (code == illuminant) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * This unit's XYZ -> camera matrix, or null when neither illuminant has a usable (3x3,
     * finite, not all zero) colour matrix.
     *
     * @param first illuminant 1's calibration, or null
     * @param second illuminant 2's calibration, or null
     * @throws LsidException a calibration matrix that is not 3x3 and finite
     */
    public static double[][] xyzToCamera(Calibration first, Calibration second, String source)
            throws LsidException {
        Calibration chosen = choose(first, second);
        if (chosen == null) {
            return null;
        }
        double[][] matrix = copy(chosen.colourMatrix);
        if (chosen.calibration == null) {
            return matrix;
        }
        if (!isFinite3x3(chosen.calibration)) {
            throw new LsidException(source + ": calibration transform is not a finite 3x3 "
                    + "matrix");
        }
        return multiply(chosen.calibration, matrix);
    }

    /** The calibration the rule picks, or null. */
    static Calibration choose(Calibration first, Calibration second) {
        boolean one = first != null && first.usable();
        boolean two = second != null && second.usable();
        if (one && first.daylight()) {
            return first;
        }
        if (two && second.daylight()) {
            return second;
        }
        if (two) {
            return second;
        }
        return one ? first : null;
    }

    private static boolean isFinite3x3(double[][] m) {
        if (m == null || m.length != 3) {
            return false;
        }
        for (double[] row : m) {
            if (row == null || row.length != 3) {
                return false;
            }
            for (double v : row) {
                if (!Double.isFinite(v)) {
                    return false;
                }
            }
        }
        return true;
    }

    private static boolean isFiniteNonZero3x3(double[][] m) {
        if (!isFinite3x3(m)) {
            return false;
        }
        for (double[] row : m) {
            for (double v : row) {
                if (v != 0.0) {
                    return true;
                }
            }
        }
        return false;
    }

    private static double[][] copy(double[][] m) {
        return new double[][] {m[0].clone(), m[1].clone(), m[2].clone()};
    }

    private static double[][] multiply(double[][] a, double[][] b) {
        double[][] out = new double[3][3];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                double sum = 0.0;
                for (int k = 0; k < 3; k++) {
                    sum += a[i][k] * b[k][j];
                }
                out[i][j] = sum;
            }
        }
        return out;
    }
}
