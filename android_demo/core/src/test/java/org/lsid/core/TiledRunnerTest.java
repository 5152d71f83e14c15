package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import org.junit.jupiter.api.Test;

class TiledRunnerTest {
    /** Puts each packed pixel's first channel into all block x block x 3 outputs. */
    private static TileModel nearest(int tile, int block, int channels) {
        return (input, output) -> {
            int side = tile * block;
            for (int y = 0; y < side; y++) {
                for (int x = 0; x < side; x++) {
                    float v = input[((y / block) * tile + x / block) * channels];
                    for (int c = 0; c < 3; c++) {
                        output[(y * side + x) * 3 + c] = v;
                    }
                }
            }
        };
    }

    private static PackedImage ramp(int height, int width) {
        PackedImage packed = new PackedImage(height, width, 4);
        for (int i = 0; i < packed.data.length; i++) {
            packed.data[i] = (i % 997) / 997f;
        }
        return packed;
    }

    @Test
    void aPerPixelModelIsReproducedExactlyByBothBlends() throws Exception {
        PackedImage packed = ramp(45, 70);
        for (Blend blend : Blend.values()) {
            TiledRunner runner = new TiledRunner(nearest(32, 2, 4), 32, 8, 2, 4, blend);
            RgbImage rgb = runner.run(packed, null, null);
            for (int y = 0; y < rgb.height; y++) {
                for (int x = 0; x < rgb.width; x++) {
                    float want = packed.get(y / 2, x / 2, 0);
                    assertEquals(want, rgb.data[(y * rgb.width + x) * 3 + 1], 1e-6f,
                            blend + " at " + y + "," + x);
                }
            }
        }
    }

    @Test
    void listenerSeesEveryTileAndCancellationStops() throws Exception {
        PackedImage packed = ramp(60, 60);
        TiledRunner runner = new TiledRunner(nearest(32, 2, 4), 32, 8, 2, 4, Blend.CROP);
        int total = runner.plan(60, 60).size();
        assertTrue(total > 2);
        List<Integer> seen = new ArrayList<>();
        runner.run(packed, (done, all, nanos) -> {
            assertEquals(total, all);
            assertTrue(nanos >= 0);
            seen.add(done);
        }, null);
        assertEquals(total, seen.size());
        assertEquals(total, (int) seen.get(total - 1));

        List<Integer> partial = new ArrayList<>();
        CancellationException stop = assertThrows(CancellationException.class,
                () -> runner.run(packed, (done, all, nanos) -> partial.add(done),
                        () -> partial.size() >= 2));
        assertEquals(2, partial.size());
        assertEquals("cancelled after 2 of " + total + " tiles", stop.getMessage());
    }

    @Test
    void modelErrorsAndWrongChannelsReachTheCaller() {
        TiledRunner runner = new TiledRunner((in, out) -> {
            throw new IllegalStateException("delegate lost");
        }, 32, 8, 2, 4, Blend.CROP);
        assertThrows(IllegalStateException.class, () -> runner.run(ramp(20, 20), null, null));
        LsidException channels = assertThrows(LsidException.class,
                () -> runner.run(new PackedImage(20, 20, 9), null, null));
        assertEquals("packed frame has 9 channels; the model takes 4", channels.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new TiledRunner(nearest(32, 2, 4), 32, 9, 2, 4, Blend.CROP));
    }

    /** A global model whose output is its input's first channel plus the frame mean's. */
    private static TiledRunner constantFeatures(float value, List<Integer> featureRuns) {
        GlobalTileModel main = (input, mean, output) -> {
            nearest(32, 2, 4).run(input, output);
            for (int i = 0; i < output.length; i++) {
                output[i] += mean[0];
            }
        };
        FeaturesModel features = (input, map) -> {
            featureRuns.add(map.length);
            java.util.Arrays.fill(map, value);
        };
        return new TiledRunner(main, features, 5, 16, 32, 8, 2, 4, Blend.CROP);
    }

    @Test
    void aGlobalModelRunsTwoPassesWithTheFrameMean() throws Exception {
        PackedImage packed = ramp(45, 70);
        List<Integer> featureRuns = new ArrayList<>();
        TiledRunner runner = constantFeatures(0.25f, featureRuns);
        int tiles = runner.plan(45, 70).size();
        assertEquals(2 * tiles, runner.tileRuns(45, 70));
        // A constant bottleneck map averages to itself whatever the shares: the output is the
        // per-pixel model's plus 0.25, and every features run filled (32 / 16)^2 * 5 floats.
        RgbImage rgb = runner.run(packed, null, null);
        assertEquals(tiles, featureRuns.size());
        assertEquals(2 * 2 * 5, (int) featureRuns.get(0));
        for (int y = 0; y < rgb.height; y += 7) {
            for (int x = 0; x < rgb.width; x += 5) {
                assertEquals(packed.get(y / 2, x / 2, 0) + 0.25f,
                        rgb.data[(y * rgb.width + x) * 3], 1e-6f, y + "," + x);
            }
        }
        // Cancelling in the first pass counts the tiles of both passes.
        List<Integer> partial = new ArrayList<>();
        CancellationException stop = assertThrows(CancellationException.class,
                () -> runner.run(packed, (done, all, nanos) -> partial.add(done),
                        () -> partial.size() >= 2));
        assertEquals("cancelled after 2 of " + 2 * tiles + " tiles", stop.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new TiledRunner((in, mean, out) -> { }, (in, map) -> { }, 5, 8, 32, 8, 2, 4,
                        Blend.CROP));
    }

    @Test
    void amplifyClipsAtOne() {
        PackedImage packed = new PackedImage(1, 1, 4, new float[] {0f, 0.001f, 0.01f, 0.5f});
        assertArrayEquals(new float[] {0f, 0.001f * 300f, 1f, 1f}, packed.amplified(300f).data,
                0f);
        assertThrows(IllegalArgumentException.class, () -> packed.amplified(0f));
    }
}
