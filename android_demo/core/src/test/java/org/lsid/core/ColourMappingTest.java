package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The colour mapping against lsid_keras.raw.colour's golden output. */
class ColourMappingTest {
    private static double[][] matrix(Object value) {
        List<?> rows = (List<?>) value;
        double[][] out = new double[3][3];
        for (int i = 0; i < 3; i++) {
            List<?> row = (List<?>) rows.get(i);
            for (int j = 0; j < 3; j++) {
                out[i][j] = (Double) row.get(j);
            }
        }
        return out;
    }

    @Test
    void cameraToCameraMatrixAndPackedMappingMatchPython() throws Exception {
        Map<String, Object> golden = Golden.json("colour.json");
        double[][] source = matrix(golden.get("source_xyz_to_camera"));
        double[][] target = matrix(golden.get("target_xyz_to_camera"));
        List<?> gainList = (List<?>) golden.get("as_shot_gains");
        float[] gains = new float[3];
        for (int k = 0; k < 3; k++) {
            gains[k] = (float) (double) (Double) gainList.get(k);
        }
        double[][] expected = matrix(golden.get("matrix"));
        double[][] got = ColourMapping.cameraToCamera(source,
                ColourMapping.whiteBalanceGains(gains, source), target);
        for (int i = 0; i < 3; i++) {
            // float32 gains on this side: agreement to 1e-6 relative.
            assertArrayEquals(expected[i], got[i], 1e-6, "row " + i);
        }
        Golden.Array input = Golden.npy((String) golden.get("packed"));
        Golden.Array mapped = Golden.npy((String) golden.get("mapped"));
        PackedImage packed = new PackedImage(input.shape[0], input.shape[1], input.shape[2],
                input.floats());
        PackedImage out = ColourMapping.applyToPacked(packed, expected);
        assertArrayEquals(mapped.floats(), out.data, 1e-6f);
    }

    @Test
    void sameOrUnknownCameraIsLeftAlone() throws Exception {
        double[][] target = matrix(Golden.json("colour.json").get("target_xyz_to_camera"));
        assertNull(ColourMapping.mappingFor(target, new float[] {2f, 1f, 1.5f}, target));
        assertNull(ColourMapping.mappingFor(target, null, null));
        assertNull(ColourMapping.mappingFor(null, null, null));
    }

    @Test
    @SuppressWarnings("unchecked")
    void aFrameWithoutMatrixIsMappedAsLibRawRendersItAsPythonDoes() throws Exception {
        // LibRaw renders a RAW without a colour matrix as camera RGB x white balance = sRGB;
        // the mapping into the training camera follows that rule (lsid_keras.raw.colour).
        Map<String, Object> golden = Golden.json("colour.json");
        double[][] target = matrix(golden.get("target_xyz_to_camera"));
        List<Map<String, Object>> cases = (List<Map<String, Object>>) golden.get("without_matrix");
        assertEquals(2, cases.size());
        for (Map<String, Object> c : cases) {
            List<?> gainList = (List<?>) c.get("as_shot_gains");
            float[] gains = new float[3];
            for (int k = 0; k < 3; k++) {
                gains[k] = (float) (double) (Double) gainList.get(k);
            }
            double[][] expected = matrix(c.get("matrix"));
            double[][] got = ColourMapping.mappingFor(null, gains, target);
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(expected[i], got[i], 1e-6, "gains " + gainList + " row " + i);
            }
        }
        // sRGB as the camera: its sRGB -> camera matrix is the identity.
        double[][] identity = ColourMapping.srgbToCamera(ColourMapping.SRGB_AS_CAMERA, "sRGB");
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 3; j++) {
                assertEquals(i == j ? 1.0 : 0.0, identity[i][j], 1e-12);
            }
        }
    }

    @Test
    void greyStaysGreyAndGreenKeepsItsLevel() throws Exception {
        Map<String, Object> golden = Golden.json("colour.json");
        double[][] source = matrix(golden.get("source_xyz_to_camera"));
        double[][] target = matrix(golden.get("target_xyz_to_camera"));
        double[] gains = {2.1, 1.0, 1.45};
        double[][] a = ColourMapping.cameraToCamera(source, gains, target);
        // The source's white (1 / gains) lands on the target's white for the same light, whose
        // green is unchanged.
        double[] white = ColourMapping.multiply(a, new double[] {1 / 2.1, 1.0, 1 / 1.45});
        assertEquals(1.0, white[1], 1e-9);
        double[] inverseWhite = ColourMapping.multiply(
                ColourMapping.inverse(source, "source"), new double[] {1 / 2.1, 1.0, 1 / 1.45});
        double[] seen = ColourMapping.multiply(target, inverseWhite);
        assertEquals(seen[0] / seen[1], white[0], 1e-9);
        assertEquals(seen[2] / seen[1], white[2], 1e-9);
    }
}
