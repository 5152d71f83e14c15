package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The as-shot colour against lsid_keras.as_shot_colour's golden output ({@code as_shot.json}).
 *
 * <p>Tolerances: the scene colour is float64 on both sides from the same integer sums, so it
 * agrees to 1e-9 relative, and so do the gains (from the same code histograms); images are
 * interpolated in float32 from tables computed in float64 through {@code pow}, whose last-bit
 * differences between libm and Java may move a table entry by a float32 ulp: 1e-6 absolute.
 */
class AsShotColourTest {
    private static final double COLOUR_RTOL = 1e-9;
    private static final float IMAGE_ATOL = 1e-6f;

    static double[][] matrix(Object value) {
        if (value == null) {
            return null;
        }
        List<?> rows = (List<?>) value;
        double[][] out = new double[rows.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = vector(rows.get(i));
        }
        return out;
    }

    static double[] vector(Object value) {
        if (value == null) {
            return null;
        }
        List<?> list = (List<?>) value;
        double[] out = new double[list.size()];
        for (int k = 0; k < out.length; k++) {
            out[k] = (Double) list.get(k);
        }
        return out;
    }

    private static void assertClose(double[] expected, double[] got, String what) {
        Golden.assertClose(expected, got, COLOUR_RTOL, what);
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> cases(String key) {
        return (List<Map<String, Object>>) Golden.json("as_shot.json").get(key);
    }

    static Map<String, Object> scene(String name) {
        return cases("scene_colour").stream().filter(c -> name.equals(c.get("name")))
                .findFirst().orElseThrow();
    }

    /** The case's frame as the core reads one, with its as-shot gains (R, G, B) as given. */
    static RawFrame frame(Map<String, Object> c) throws LsidException {
        Golden.Array mosaic = Golden.npy((String) c.get("mosaic"));
        int height = mosaic.shape[0];
        int width = mosaic.shape[1];
        ByteBuffer samples = ByteBuffer.allocate(height * width * 2)
                .order(ByteOrder.LITTLE_ENDIAN);
        samples.asShortBuffer().put(mosaic.uint16());
        double[] wb = vector(c.get("camera_wb"));
        float[] gains = {(float) wb[0], (float) wb[1], (float) wb[2]};
        return new RawFrame(samples, width, height, width * 2, 2,
                CfaPattern.valueOf((String) c.get("order")), matrix(c.get("black")),
                (Double) c.get("white"), gains, 0, matrix(c.get("xyz_to_camera")),
                (String) c.get("name"));
    }

    static RgbImage image(String name) {
        Golden.Array array = Golden.npy(name);
        RgbImage rgb = new RgbImage(array.shape[0], array.shape[1]);
        float[] data = array.floats();
        System.arraycopy(data, 0, rgb.data, 0, data.length);
        return rgb;
    }

    @Test
    void sceneColourMatchesPython() throws Exception {
        List<Map<String, Object>> scenes = cases("scene_colour");
        assertEquals(4, scenes.size());
        for (Map<String, Object> c : scenes) {
            String name = (String) c.get("name");
            assertClose(vector(c.get("scene_colour")), AsShotColour.sceneColour(frame(c)), name);
        }
    }

    @Test
    void missingGainsFallBackToD65LikeZeroGains() throws Exception {
        Map<String, Object> c = scene("d65_fallback");
        RawFrame frame = frame(c);
        double[] mean = AsShotColour.cameraMean(frame);
        // LibRaw's zeros and Camera2's missing COLOR_CORRECTION_GAINS give the same colour.
        assertClose(vector(c.get("scene_colour")),
                AsShotColour.sceneColour(mean, null, frame.xyzToCamera()), "null gains");
        assertNull(AsShotColour.sceneColour(null, null, frame.xyzToCamera()));
    }

    @Test
    void cameraMeanIsBlackSubtractedWithoutClipping() throws Exception {
        // GRBG 3 x 3: G R G / B G B / G R G; black 10 at (0, 0), 20 elsewhere; white 110.
        short[] mosaic = {5, 70, 15, 40, 30, 60, 25, 90, 35};
        RawFrame frame = RawFrame.fromSamples(mosaic, 3, 3, CfaPattern.GRBG,
                new double[][] {{10, 20}, {20, 20}}, 110, "hand");
        double[] mean = AsShotColour.cameraMean(frame);
        // Greens: (0,0),(0,2),(2,0),(2,2) at black 10 -> -5, 5, 15, 25; (1,1) at 20 -> 10.
        assertEquals((-5 + 5 + 15 + 25 + 10) / 5.0 / 90, mean[CfaPattern.GREEN], 1e-15);
        assertEquals((50 + 70) / 2.0 / 90, mean[CfaPattern.RED], 1e-15);
        assertEquals((20 + 40) / 2.0 / 90, mean[CfaPattern.BLUE], 1e-15);
    }

    @Test
    void matchMeanColourMatchesPython() throws Exception {
        int checked = 0;
        for (Map<String, Object> c : cases("match_mean_colour")) {
            String name = (String) c.get("name");
            RgbImage rgb = image((String) c.get("rgb"));
            double[] gains;
            if (c.get("frame") == null) {
                gains = AsShotColour.matchMeanColour(rgb, vector(c.get("target")));
            } else {
                RawFrame frame = frame(scene((String) c.get("frame")));
                gains = AsShotColour.finish(rgb, AsShotColour.Mode.AS_SHOT,
                        AsShotColour.cameraMean(frame), frame.whiteBalance(),
                        frame.xyzToCamera());
            }
            assertClose(vector(c.get("gains")), gains, name + " gains");
            assertArrayEquals(Golden.npy((String) c.get("out")).floats(), rgb.data, IMAGE_ATOL,
                    name);
            checked++;
        }
        assertEquals(6, checked);
    }

    @Test
    void darkImageAndNetworkModeAreLeftAsTheyAre() throws Exception {
        RgbImage dark = image("as_shot_dark_rgb.npy");
        float[] before = dark.data.clone();
        assertArrayEquals(new double[] {1, 1, 1},
                AsShotColour.matchMeanColour(dark, new double[] {0.8, 1, 1.3}));
        assertArrayEquals(before, dark.data); // bit for bit, values below 0 included

        Map<String, Object> c = scene("bayer");
        RawFrame frame = frame(c);
        RgbImage rgb = image("as_shot_scene_rgb.npy");
        float[] network = rgb.data.clone();
        assertNull(AsShotColour.finish(rgb, AsShotColour.Mode.NETWORK,
                AsShotColour.cameraMean(frame), frame.whiteBalance(), frame.xyzToCamera()));
        assertArrayEquals(network, rgb.data);
    }

    @Test
    void aFrameWithoutMatrixGetsTheColourLibRawRendersItWith() throws Exception {
        // No matrix: camera RGB x white balance is the linear sRGB colour, as LibRaw renders it.
        Map<String, Object> c = scene("no_matrix");
        RawFrame frame = frame(c);
        double[] mean = AsShotColour.cameraMean(frame);
        float[] wb = frame.whiteBalance();
        double[] colour = AsShotColour.sceneColour(mean, wb, null);
        assertClose(new double[] {mean[0] * wb[0] / wb[1], mean[1], mean[2] * wb[2] / wb[1]},
                colour, "camera x white balance");
        RgbImage rgb = image("as_shot_scene_rgb.npy");
        assertNotNull(AsShotColour.finish(rgb, AsShotColour.Mode.AS_SHOT, mean, wb, null));
    }

    @Test
    void meanTakesTheTargetChromaticityAndKeepsItsLuminance() {
        // Mid-range values and gains within the limits: nothing clips, so in linear light the
        // new mean is mean * gains exactly, proportional to the target, same luminance.
        RgbImage rgb = new RgbImage(4, 5);
        for (int i = 0; i < rgb.data.length; i++) {
            rgb.data[i] = 0.3f + 0.2f * ((i * 7) % 5) / 4f;
        }
        double[] target = {0.9, 1.0, 1.2};
        double[] before = linearMean(rgb);
        AsShotColour.matchMeanColour(rgb, target);
        double[] after = linearMean(rgb);
        assertEquals(luminance(before), luminance(after), 1e-6);
        for (int c = 0; c < 3; c++) {
            assertEquals(target[c] / luminance(target), after[c] / luminance(after), 1e-5,
                    "channel " + c);
        }
    }

    @Test
    void tableInterpolationIsWithinItsBoundOfTheCurve() {
        // Dense values (codes, between codes, beyond [0, 1]) through the tables against the
        // formula. The error is largest at the kink where the curve reaches white, when it
        // falls between two codes: measured over gains 1-256 (Python, 1.4 M values each) at
        // most 6.7e-6 up to gain 4, 1.7e-5 up to 30, 1.1e-4 up to 256 (181: 6.6e-5), more
        // than apply_linear_gains' docstring says (1.3e-5), which holds at the gains its test
        // tries (0.25, 1, 1.7, 4, 30, 256).
        double[][] cases = {{0.25, 1.0, 4.0}, {7.0, 30.0, 0.5}, {256.0, 100.0, 181.0}};
        double[] bounds = {7e-6, 2e-5, 1.2e-4};
        RgbImage base = new RgbImage(1000, 67);
        for (int i = 0; i < base.data.length; i++) {
            base.data[i] = (i * 0.61803398875f) % 1.02f - 0.01f;
        }
        for (int t = 0; t < cases.length; t++) {
            RgbImage rgb = new RgbImage(base.height, base.width);
            System.arraycopy(base.data, 0, rgb.data, 0, base.data.length);
            AsShotColour.applyLinearGains(rgb, cases[t]);
            double worst = 0;
            for (int i = 0; i < rgb.data.length; i++) {
                float formula = (float) AsShotColour.toEncoded(
                        AsShotColour.toLinear(base.data[i]) * cases[t][i % 3]);
                worst = Math.max(worst, Math.abs(formula - rgb.data[i]));
            }
            assertTrue(worst <= bounds[t], "gains " + t + ": " + worst);
            assertTrue(worst > 0, "interpolated, not the formula");
        }
    }

    @Test
    void curveDecodesWhatItEncodes() {
        for (int k = 0; k <= 1000; k++) {
            double v = k / 1000.0;
            assertEquals(v, AsShotColour.toEncoded(AsShotColour.toLinear(v)), 1e-12);
        }
        // Rec. 709 joins continuously at the toe; 18 % grey encodes to about 0.409.
        assertEquals(0.409, AsShotColour.toEncoded(0.18), 1e-3);
        assertEquals(0.0, AsShotColour.toLinear(-0.5));
        assertEquals(1.0, AsShotColour.toLinear(1.5));
    }

    private static double[] linearMean(RgbImage rgb) {
        double[] mean = new double[3];
        for (int i = 0; i < rgb.data.length; i++) {
            mean[i % 3] += AsShotColour.toLinear(rgb.data[i]) * 3 / rgb.data.length;
        }
        return mean;
    }

    private static double luminance(double[] rgb) {
        return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
    }
}
