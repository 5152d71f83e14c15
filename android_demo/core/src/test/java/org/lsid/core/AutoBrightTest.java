package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * LibRaw's auto-bright and the code histograms it and the as-shot colour are measured on,
 * against {@code lsid_keras.auto_bright} and {@code lsid_keras.enhance.finish_output}'s golden
 * output ({@code auto_bright.json}), and a case worked by hand.
 *
 * <p>Tolerances: histograms are integers computed in float32 alike on both sides: equal.
 * Levels and gains are float64 from the same codes (a {@code pow} may differ in its last
 * bit): 1e-9 relative. Images as in {@link AsShotColourTest}: 1e-6 absolute.
 */
class AutoBrightTest {
    private static final double RTOL = 1e-9;
    private static final float IMAGE_ATOL = 1e-6f;

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> cases(String key) {
        return (List<Map<String, Object>>) Golden.json("auto_bright.json").get(key);
    }

    private static void assertClose(double[] expected, double[] got, String what) {
        Golden.assertClose(expected, got, RTOL, what);
    }

    @Test
    void codeHistogramsMatchPython() {
        assertEquals(AsShotColour.CODES, Golden.integer(Golden.json("auto_bright.json")
                .get("codes")));
        int checked = 0;
        for (Map<String, Object> c : cases("histograms")) {
            String name = (String) c.get("name");
            RgbImage rgb = AsShotColourTest.image((String) c.get("rgb"));
            int[][] counts = AsShotColour.codeHistograms(rgb);
            List<?> channels = (List<?>) c.get("counts");
            for (int channel = 0; channel < 3; channel++) {
                Map<?, ?> sparse = (Map<?, ?>) channels.get(channel);
                List<?> codes = (List<?>) sparse.get("codes");
                List<?> numbers = (List<?>) sparse.get("counts");
                int[] expected = new int[AsShotColour.CODES];
                for (int i = 0; i < codes.size(); i++) {
                    expected[Golden.integer(codes.get(i))] = Golden.integer(numbers.get(i));
                }
                assertArrayEquals(expected, counts[channel], name + " channel " + channel);
            }
            for (Object entry : (List<?>) c.get("white_levels")) {
                Map<?, ?> levels = (Map<?, ?>) entry;
                double threshold = (Double) levels.get("threshold");
                assertClose(AsShotColourTest.vector(levels.get("levels")),
                        AutoBright.whiteLevels(counts, threshold), name + " at " + threshold);
                if (threshold == AutoBright.THRESHOLD) {
                    assertClose(AsShotColourTest.vector(levels.get("levels")),
                            AutoBright.whiteLevels(counts), name + " at the default");
                }
            }
            checked++;
        }
        assertEquals(2, checked);
    }

    @Test
    void gainMatchesPython() {
        int checked = 0;
        for (Map<String, Object> c : cases("gains")) {
            double[] levels = AsShotColourTest.vector(c.get("levels"));
            double[] colour = AsShotColourTest.vector(c.get("colour_gains"));
            double expected = (Double) c.get("gain");
            assertEquals(expected, AutoBright.gain(levels, colour), RTOL * expected,
                    c.toString());
            checked++;
        }
        assertEquals(6, checked);
    }

    @Test
    void finishMatchesPython() throws Exception {
        int checked = 0;
        for (Map<String, Object> c : cases("finish_output")) {
            String name = (String) c.get("name");
            RgbImage rgb = AsShotColourTest.image((String) c.get("rgb"));
            float[] before = rgb.data.clone();
            RawFrame frame = AsShotColourTest.frame(AsShotColourTest.scene(
                    (String) c.get("frame")));
            AsShotColour.Mode mode = "as-shot".equals(c.get("colour"))
                    ? AsShotColour.Mode.AS_SHOT : AsShotColour.Mode.NETWORK;
            AsShotColour.Finished finished = AsShotColour.finish(rgb, mode,
                    (Boolean) c.get("auto_bright"), AsShotColour.cameraMean(frame),
                    frame.whiteBalance(), frame.xyzToCamera());
            assertClose(AsShotColourTest.vector(c.get("colour_gains")), finished.colourGains,
                    name + " colour gains");
            double bright = (Double) c.get("bright");
            assertEquals(bright, finished.bright, RTOL * bright, name + " bright");
            float[] expected = Golden.npy((String) c.get("out")).floats();
            if (bright == 1.0 && finished.colourGains == null) {
                assertArrayEquals(before, rgb.data, name); // nothing applied: bit for bit
                assertArrayEquals(expected, rgb.data, name);
            } else {
                assertArrayEquals(expected, rgb.data, IMAGE_ATOL, name);
            }
            checked++;
        }
        assertEquals(6, checked);
    }

    @Test
    void withoutAutoBrightFinishIsTheAsShotColour() throws Exception {
        RawFrame frame = AsShotColourTest.frame(AsShotColourTest.scene("bayer"));
        RgbImage one = AsShotColourTest.image("auto_bright_as_shot_rgb.npy");
        RgbImage other = AsShotColourTest.image("auto_bright_as_shot_rgb.npy");
        double[] mean = AsShotColour.cameraMean(frame);
        double[] gains = AsShotColour.finish(one, AsShotColour.Mode.AS_SHOT, mean,
                frame.whiteBalance(), frame.xyzToCamera());
        AsShotColour.Finished finished = AsShotColour.finish(other, AsShotColour.Mode.AS_SHOT,
                false, mean, frame.whiteBalance(), frame.xyzToCamera());
        assertArrayEquals(gains, finished.colourGains);
        assertEquals(1.0, finished.bright);
        assertArrayEquals(one.data, other.data);

        RgbImage network = AsShotColourTest.image("auto_bright_network_rgb.npy");
        float[] before = network.data.clone();
        finished = AsShotColour.finish(network, AsShotColour.Mode.NETWORK, false, mean,
                frame.whiteBalance(), frame.xyzToCamera());
        assertNull(finished.colourGains);
        assertEquals(1.0, finished.bright);
        assertArrayEquals(before, network.data);
    }

    @Test
    void codesRoundHalfUpInFloat32AndClip() {
        assertEquals(32768, AsShotColour.code(0.5f)); // 32767.5 + 0.5
        assertEquals(0, AsShotColour.code(-0.3f));
        assertEquals(65535, AsShotColour.code(1.0f));
        assertEquals(65535, AsShotColour.code(1.7f));
        // (1 + 0.5) / 65535 in float32 lies just above the half: float32 arithmetic rounds it
        // up to 2, where float64 would give 1.
        float half = (float) (1.5 / 65535);
        assertTrue(half * 65535.0 + 0.5 < 2.0);
        assertEquals(2, AsShotColour.code(half));
    }

    @Test
    void handWorkedPictureIsScaledSoThatOnePercentReachesWhite() throws Exception {
        // 100 pixels: green at linear 0.25 but for one at 0.9 encoded; red and blue at linear
        // 0.1. 1 % of 100 is 1 pixel, and the level is where the count from the top first
        // exceeds it: the brightest green pixel alone does not, so green's level is 0.25 (to a
        // code), the white of the picture; the gain is 4.
        RgbImage rgb = new RgbImage(10, 10);
        float green = (float) AsShotColour.toEncoded(0.25);
        float dim = (float) AsShotColour.toEncoded(0.1);
        for (int i = 0; i < rgb.data.length; i += 3) {
            rgb.data[i] = dim;
            rgb.data[i + 1] = green;
            rgb.data[i + 2] = dim;
        }
        rgb.data[3 * 57 + 1] = 0.9f;
        int[][] counts = AsShotColour.codeHistograms(rgb);
        assertEquals(99, counts[1][AsShotColour.code(green)]);
        assertEquals(1, counts[1][AsShotColour.code(0.9f)]);
        double[] levels = AutoBright.whiteLevels(counts);
        assertEquals(0.1, levels[0], 1e-5);
        assertEquals(0.25, levels[1], 1e-5);
        assertEquals(0.1, levels[2], 1e-5);
        // At 0.5 %, half a pixel: the brightest pixel sets green's level.
        assertEquals(AsShotColour.toLinear(0.9), AutoBright.whiteLevels(counts, 0.005)[1], 1e-4);
        assertEquals(4.0, AutoBright.gain(levels, null), 1e-3);

        AsShotColour.Finished finished = AsShotColour.finish(rgb, AsShotColour.Mode.NETWORK,
                true, null, null, null);
        assertNull(finished.colourGains);
        assertEquals(1 / levels[1], finished.bright, 1e-12);
        // Linear 0.1 x 4 = 0.4 in red and blue, green at white; the bright one clipped.
        assertEquals(AsShotColour.toEncoded(0.4), rgb.data[0], 2e-5);
        assertEquals(1.0, rgb.data[1], 2e-5);
        assertEquals(AsShotColour.toEncoded(0.4), rgb.data[2], 2e-5);
        assertEquals(1.0f, rgb.data[3 * 57 + 1]);
    }

    @Test
    void gainIsClippedAndClamped() {
        // With colour gains: red 0.2 x 2 = 0.4 is the white, gain 2.5.
        assertEquals(2.5, AutoBright.gain(new double[] {0.2, 0.3, 0.1},
                new double[] {2.0, 1.0, 0.5}), 1e-12);
        assertEquals(1 / 0.3, AutoBright.gain(new double[] {0.2, 0.3, 0.1}, null), 1e-12);
        // A level past white after its gain counts as white: never darker.
        assertEquals(1.0, AutoBright.gain(new double[] {0.6, 0.3, 0.1},
                new double[] {2.0, 1.0, 1.0}));
        // Darker than 1 / 256 (or an empty histogram's 0): the largest gain.
        assertEquals(AutoBright.MAX_GAIN, AutoBright.gain(new double[] {1e-3, 2e-3, 0}, null));
        assertArrayEquals(new double[] {0, 0, 0},
                AutoBright.whiteLevels(new int[3][AsShotColour.CODES]));
    }
}
