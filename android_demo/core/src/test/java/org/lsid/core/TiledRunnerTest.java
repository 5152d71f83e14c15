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

    private static final TensorSpec FIRST = new TensorSpec("first", "float32",
            new int[] {1, 32, 32, 1}, 0, 0);
    private static final TensorSpec FIRST_INPUT = new TensorSpec("serve_first:0", "float32",
            new int[] {1, 32, 32, 1}, 0, 0);
    private static final TensorSpec BOTTLENECK = new TensorSpec("bottleneck", "int8",
            new int[] {1, 2, 2, 5}, 0.125, -4);
    private static final TensorSpec BOTTLENECK_INPUT = new TensorSpec("serve_bottleneck:0",
            "int8", new int[] {1, 2, 2, 5}, 0.25, 3);
    private static final TensorSpec MEAN = new TensorSpec("serve_frame_mean:0", "float32",
            new int[] {1, 1, 1, 5}, 0, 0);

    /**
     * A counting global model: the encoder keeps each window's first channel (float32) and a
     * constant int8 bottleneck map (code 6: (6 + 4) * 0.125 = 1.25); the decoder's output is
     * the kept first channel plus the frame mean's first value. Records every encoder output
     * and, at each decoder run, which tiles' kept int8 maps were released (the float maps are
     * released as soon as they are halved).
     */
    private static final class Counting {
        final List<List<TensorData>> encoded = new ArrayList<>();
        final List<String> releasedAtDecoder = new ArrayList<>();
        final List<float[]> means = new ArrayList<>();

        TiledRunner runner(Blend blend) {
            EncoderModel encoder = input -> {
                float[] first = new float[32 * 32];
                for (int i = 0; i < first.length; i++) {
                    first[i] = input[i * 4];
                }
                byte[] codes = new byte[BOTTLENECK.size()];
                java.util.Arrays.fill(codes, (byte) 6);
                List<TensorData> maps = List.of(TensorData.ofFloats(FIRST, first),
                        TensorData.ofInt8(BOTTLENECK, codes));
                encoded.add(maps);
                return maps;
            };
            DecoderModel decoder = (kept, mean, output) -> {
                StringBuilder released = new StringBuilder();
                for (List<TensorData> maps : encoded) {
                    // The float map was halved into a new object and released at keep.
                    released.append(!maps.get(0).isReleased() ? '?'
                            : maps.get(1).isReleased() ? 'r' : '-');
                }
                releasedAtDecoder.add(released.toString());
                means.add(mean.floats());
                float[] first = kept.get(0).floats();
                for (int y = 0; y < 64; y++) {
                    for (int x = 0; x < 64; x++) {
                        for (int c = 0; c < 3; c++) {
                            output[(y * 64 + x) * 3 + c] = first[(y / 2) * 32 + x / 2]
                                    + mean.floats()[0];
                        }
                    }
                }
            };
            return new TiledRunner(encoder, decoder, List.of(new Requantiser(FIRST, FIRST_INPUT),
                    new Requantiser(BOTTLENECK, BOTTLENECK_INPUT)), MEAN, 16, 32, 8, 2, 4, blend);
        }
    }

    @Test
    void aGlobalModelRunsTheEncoderOncePerTileAndFreesWhatItKept() throws Exception {
        PackedImage packed = ramp(45, 70);
        Counting model = new Counting();
        TiledRunner runner = model.runner(Blend.CROP);
        int tiles = runner.plan(45, 70).size();
        assertTrue(tiles > 2);
        assertEquals(2 * tiles, runner.tileRuns(45, 70));
        // The float map kept as float16 (2 bytes a value), the int8 one as its bytes.
        assertEquals(tiles * (32L * 32 * 2 + 2 * 2 * 5), runner.keptBytes(45, 70));
        List<Integer> done = new ArrayList<>();
        RgbImage rgb = runner.run(packed, (d, total, nanos) -> {
            assertEquals(2 * tiles, total);
            done.add(d);
        }, null);
        assertEquals(2 * tiles, done.size());
        // One encoder run per tile; decoder runs in plan order, each after the maps of the
        // tiles before it were released and before its own and later ones were.
        assertEquals(tiles, model.encoded.size());
        assertEquals(tiles, model.releasedAtDecoder.size());
        for (int j = 0; j < tiles; j++) {
            assertEquals("r".repeat(j) + "-".repeat(tiles - j), model.releasedAtDecoder.get(j));
        }
        for (List<TensorData> maps : model.encoded) {
            assertTrue(maps.get(0).isReleased() && maps.get(1).isReleased());
        }
        // A constant bottleneck map averages to itself (dequantised: 1.25), whatever the
        // shares; every tile gets the same frame mean.
        for (float[] mean : model.means) {
            assertTrue(mean == model.means.get(0));
            assertEquals(1.25f, mean[0], 0f);
        }
        // The decoder sees the first channel rounded to float16, exactly.
        int rounded = 0;
        for (int y = 0; y < rgb.height; y += 7) {
            for (int x = 0; x < rgb.width; x += 5) {
                float value = packed.get(y / 2, x / 2, 0);
                float half = Float16.toFloat(Float16.fromFloat(value));
                assertEquals(half + 1.25f, rgb.data[(y * rgb.width + x) * 3], 0f, y + "," + x);
                rounded += half != value ? 1 : 0;
            }
        }
        assertTrue(rounded > 100, rounded + " values changed by float16 rounding");
    }

    @Test
    void aGlobalRunCountsBothPassesWhenCancelledAndChecksWhatTheEncoderGives() {
        PackedImage packed = ramp(45, 70);
        TiledRunner runner = new Counting().runner(Blend.FEATHER);
        int total = runner.tileRuns(45, 70);
        for (int stopAt : new int[] {2, total / 2 + 1}) {
            List<Integer> partial = new ArrayList<>();
            CancellationException stop = assertThrows(CancellationException.class,
                    () -> runner.run(packed, (done, all, nanos) -> partial.add(done),
                            () -> partial.size() >= stopAt));
            assertEquals("cancelled after " + stopAt + " of " + total + " tiles",
                    stop.getMessage());
        }
        TiledRunner wrong = new TiledRunner(in -> List.of(TensorData.ofFloats(FIRST,
                new float[32 * 32])), (kept, mean, out) -> { },
                List.of(new Requantiser(FIRST, FIRST_INPUT),
                        new Requantiser(BOTTLENECK, BOTTLENECK_INPUT)), MEAN, 16, 32, 8, 2, 4,
                Blend.CROP);
        IllegalStateException error = assertThrows(IllegalStateException.class,
                () -> wrong.run(packed, null, null));
        assertTrue(error.getMessage().startsWith("the encoder returned [first float32"),
                error.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new TiledRunner(in -> null,
                (kept, mean, out) -> { }, List.of(new Requantiser(FIRST, FIRST_INPUT)), MEAN,
                16, 32, 8, 2, 4, Blend.CROP));
        assertThrows(IllegalArgumentException.class, () -> new TiledRunner(in -> null,
                (kept, mean, out) -> { }, List.of(new Requantiser(BOTTLENECK, BOTTLENECK_INPUT)),
                MEAN, 8, 32, 8, 2, 4, Blend.CROP));
    }

    @Test
    void amplifyClipsAtOne() {
        PackedImage packed = new PackedImage(1, 1, 4, new float[] {0f, 0.001f, 0.01f, 0.5f});
        assertArrayEquals(new float[] {0f, 0.001f * 300f, 1f, 1f}, packed.amplified(300f).data,
                0f);
        assertThrows(IllegalArgumentException.class, () -> packed.amplified(0f));
    }
}
