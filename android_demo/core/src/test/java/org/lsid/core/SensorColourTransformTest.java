package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The rule of lsid_keras.raw.dng.dng_color_matrix, with Camera2's calibration transform. */
class SensorColourTransformTest {
    private static final int STANDARD_A = 17;
    private static final int D65 = 21;
    private static final int D55 = 20;
    private static final double[][] A_MATRIX = {{1, 0, 0}, {0, 2, 0}, {0, 0, 3}};
    private static final double[][] DAY_MATRIX = {{0.7, -0.1, 0}, {-0.4, 1.2, 0.2},
        {-0.1, 0.2, 0.6}};
    private static final double[][] ZERO = new double[3][3];

    private static SensorColourTransform.Calibration cal(Integer illuminant, double[][] m) {
        return new SensorColourTransform.Calibration(illuminant, m, null);
    }

    private static void assertMatrix(double[][] expected, double[][] actual) {
        for (int i = 0; i < 3; i++) {
            assertArrayEquals(expected[i], actual[i], 1e-12);
        }
    }

    @Test
    void daylightIlluminantIsPreferredWhereverItIs() throws Exception {
        // Camera2's usual order: illuminant 1 tungsten (A), 2 D65.
        assertMatrix(DAY_MATRIX, SensorColourTransform.xyzToCamera(
                cal(STANDARD_A, A_MATRIX), cal(D65, DAY_MATRIX), "cam"));
        // And the other way round.
        assertMatrix(DAY_MATRIX, SensorColourTransform.xyzToCamera(
                cal(D55, DAY_MATRIX), cal(STANDARD_A, A_MATRIX), "cam"));
    }

    @Test
    void firstDaylightWinsWhenBothAre() throws Exception {
        assertMatrix(A_MATRIX, SensorColourTransform.xyzToCamera(
                cal(D65, A_MATRIX), cal(D55, DAY_MATRIX), "cam"));
    }

    @Test
    void withoutDaylightTheSecondThenTheFirst() throws Exception {
        assertMatrix(DAY_MATRIX, SensorColourTransform.xyzToCamera(
                cal(STANDARD_A, A_MATRIX), cal(null, DAY_MATRIX), "cam"));
        assertMatrix(A_MATRIX, SensorColourTransform.xyzToCamera(
                cal(STANDARD_A, A_MATRIX), null, "cam"));
        // An all-zero or non-finite matrix counts as absent.
        assertMatrix(A_MATRIX, SensorColourTransform.xyzToCamera(
                cal(STANDARD_A, A_MATRIX), cal(D65, ZERO), "cam"));
        double[][] nan = {{Double.NaN, 0, 0}, {0, 1, 0}, {0, 0, 1}};
        assertMatrix(A_MATRIX, SensorColourTransform.xyzToCamera(
                cal(D65, nan), cal(STANDARD_A, A_MATRIX), "cam"));
        assertNull(SensorColourTransform.xyzToCamera(null, cal(D65, ZERO), "cam"));
    }

    @Test
    void calibrationTransformComposesAsDngCameraCalibration() throws Exception {
        double[][] cc = {{1.02, 0, 0}, {0, 1, 0}, {0, 0, 0.97}};
        double[][] got = SensorColourTransform.xyzToCamera(cal(STANDARD_A, A_MATRIX),
                new SensorColourTransform.Calibration(D65, DAY_MATRIX, cc), "cam");
        double[][] expected = new double[3][3];
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                expected[i][j] = cc[i][i] * DAY_MATRIX[i][j];
            }
        }
        assertMatrix(expected, got);
        // The other illuminant's calibration does not leak in.
        double[][] plain = SensorColourTransform.xyzToCamera(
                new SensorColourTransform.Calibration(STANDARD_A, A_MATRIX, cc),
                cal(D65, DAY_MATRIX), "cam");
        assertMatrix(DAY_MATRIX, plain);
    }

    @Test
    void malformedCalibrationIsRefused() {
        double[][] bad = {{1, 0}, {0, 1}};
        assertThrows(LsidException.class, () -> SensorColourTransform.xyzToCamera(
                new SensorColourTransform.Calibration(D65, DAY_MATRIX, bad), null, "cam"));
    }
}
