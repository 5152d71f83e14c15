package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;

/**
 * The Java core against the golden vectors the Python package wrote
 * ({@code scripts/make_golden_vectors.py}): packing, tile plans, the model card, a tiled run
 * of a stand-in model and the auto ratio.
 */
class GoldenVectorsTest {

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> cases(Map<String, Object> document, String key) {
        return (List<Map<String, Object>>) document.get(key);
    }

    @TestFactory
    List<DynamicTest> packingMatchesPythonBitForBit() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Map<String, Object> c : cases(Golden.json("packing.json"), "cases")) {
            String order = (String) c.get("order");
            tests.add(DynamicTest.dynamicTest("pack " + order, () -> {
                Golden.Array mosaic = Golden.npy((String) c.get("mosaic"));
                Golden.Array expected = Golden.npy((String) c.get("packed"));
                List<?> blackRows = (List<?>) c.get("black");
                double[][] black = new double[2][2];
                for (int r = 0; r < 2; r++) {
                    int[] row = Golden.integers(blackRows.get(r));
                    black[r][0] = row[0];
                    black[r][1] = row[1];
                }
                List<?> cfaRows = (List<?>) c.get("cfa");
                int[][] cfa = {Golden.integers(cfaRows.get(0)), Golden.integers(cfaRows.get(1))};
                CfaPattern pattern = CfaPattern.fromColours(cfa, order);
                assertEquals(CfaPattern.valueOf(order), pattern);
                RawFrame frame = RawFrame.fromSamples(mosaic.uint16(), mosaic.shape[1],
                        mosaic.shape[0], pattern, black, Golden.integer(c.get("white")), order);
                PackedImage packed = BayerPacker.pack(frame);
                assertArrayEquals(expected.shape,
                        new int[] {packed.height, packed.width, packed.channels});
                assertArrayEquals(expected.floats(), packed.data, 0.0f, order);
            }));
        }
        return tests;
    }

    @TestFactory
    List<DynamicTest> tilePlansMatchPython() {
        Map<String, Object> document = Golden.json("tile_plans.json");
        List<DynamicTest> tests = new ArrayList<>();
        for (Map<String, Object> p : cases(document, "plans")) {
            int height = Golden.integer(p.get("height"));
            int width = Golden.integer(p.get("width"));
            int tile = Golden.integer(p.get("tile"));
            int halo = Golden.integer(p.get("halo"));
            String name = height + "x" + width + " tile " + tile + " halo " + halo;
            tests.add(DynamicTest.dynamicTest("plan " + name, () -> {
                assertArrayEquals(Golden.integers(p.get("padded")),
                        TilePlanner.paddedSize(height, width, tile, halo, 16), name);
                List<?> expected = (List<?>) p.get("tiles");
                List<Tile> plan = TilePlanner.plan(height, width, tile, halo);
                assertEquals(expected.size(), plan.size(), name);
                for (int i = 0; i < plan.size(); i++) {
                    assertArrayEquals(Golden.integers(expected.get(i)), plan.get(i).toArray(),
                            name + " tile " + i);
                }
            }));
        }
        for (Map<String, Object> f : cases(document, "fit_tile")) {
            int height = Golden.integer(f.get("height"));
            int width = Golden.integer(f.get("width"));
            int halo = Golden.integer(f.get("halo"));
            int maxTile = Golden.integer(f.get("max_tile"));
            tests.add(DynamicTest.dynamicTest("fit_tile " + height + "x" + width, () ->
                    assertEquals(Golden.integer(f.get("tile")),
                            TilePlanner.fitTile(height, width, halo, maxTile, 16))));
        }
        return tests;
    }

    @Test
    void modelCardFieldsAreRead() throws Exception {
        ModelCard card = ModelCard.parse(Golden.text("model_card.json"), "model_card.json");
        Map<String, Object> want = Golden.json("model_card_fields.json");
        assertEquals(want.get("cfa_kind"), card.cfaKind);
        assertEquals(Golden.integer(want.get("packed_channels")), card.packedChannels);
        assertEquals(Golden.integer(want.get("block_size")), card.blockSize);
        assertEquals(want.get("channel_order"), card.channelOrder);
        assertEquals(Golden.integer(want.get("tile")), card.tile);
        assertEquals(Golden.integer(want.get("halo")), card.halo);
        assertEquals(Golden.integer(want.get("size_multiple")), card.sizeMultiple);
        assertEquals(want.get("quantization"), card.quantization);
        assertEquals(want.get("input_range"), List.of(card.inputRange[0], card.inputRange[1]));
        assertEquals(want.get("output_range"),
                List.of(card.outputRange[0], card.outputRange[1]));
        Object training = want.get("training_xyz_to_camera");
        if (training == null) {
            assertEquals(null, card.trainingXyzToCamera());
        } else {
            double[][] matrix = card.trainingXyzToCamera();
            List<?> rows = (List<?>) training;
            for (int i = 0; i < 3; i++) {
                List<?> row = (List<?>) rows.get(i);
                for (int j = 0; j < 3; j++) {
                    assertEquals((Double) row.get(j), matrix[i][j], 0.0, "training matrix");
                }
            }
        }
        for (String key : new String[] {"input", "output"}) {
            @SuppressWarnings("unchecked")
            Map<String, Object> tensor = (Map<String, Object>) want.get(key);
            TensorSpec spec = key.equals("input") ? card.input : card.output;
            assertEquals(tensor.get("dtype"), spec.dtype, key);
            assertEquals((Double) tensor.get("scale"), spec.scale, 0.0, key);
            assertEquals(Golden.integer(tensor.get("zero_point")), spec.zeroPoint, key);
            assertArrayEquals(Golden.integers(tensor.get("shape")), spec.shape, key);
        }
    }

    /** The stand-in model of make_golden_vectors.py, in Java: sub-pixels of the box mean. */
    static TileModel standIn(Map<String, Object> description, int tile, int block, int channels) {
        double[][] weights = matrix(description.get("weights"));
        double[] bias = matrix(List.of(description.get("bias")))[0];
        return (input, output) -> subPixels(weights, bias, tile, block, channels,
                boxMeans(input, tile, channels), output);
    }

    /** {@code sub_pixel_map} of make_golden_vectors.py: box means to block x block x 3. */
    static void subPixels(double[][] weights, double[] bias, int tile, int block, int channels,
            double[] box, float[] output) {
        int side = tile * block;
        for (int y = 0; y < tile; y++) {
            for (int x = 0; x < tile; x++) {
                int at = (y * tile + x) * channels;
                for (int i = 0; i < block; i++) {
                    for (int j = 0; j < block; j++) {
                        for (int k = 0; k < 3; k++) {
                            double v = bias[k];
                            double[] w = weights[(i * block + j) * 3 + k];
                            for (int c = 0; c < channels; c++) {
                                v += w[c] * box[at + c];
                            }
                            output[((y * block + i) * side + x * block + j) * 3 + k] =
                                    (float) v;
                        }
                    }
                }
            }
        }
    }

    /** {@code box_mean} of make_golden_vectors.py: the zero-padded 3x3 mean, in double. */
    static double[] boxMeans(float[] input, int tile, int channels) {
        double[] box = new double[tile * tile * channels];
        double[] sum = new double[channels];
        for (int y = 0; y < tile; y++) {
            for (int x = 0; x < tile; x++) {
                boxSum(input, tile, channels, y, x, sum);
                for (int c = 0; c < channels; c++) {
                    box[(y * tile + x) * channels + c] = sum[c] / 9.0;
                }
            }
        }
        return box;
    }

    @TestFactory
    List<DynamicTest> tiledRunOfTheStandInModelMatchesPython() {
        Map<String, Object> document = Golden.json("tiled_run.json");
        @SuppressWarnings("unchecked")
        Map<String, Object> standIn = (Map<String, Object>) document.get("stand_in");
        List<DynamicTest> tests = new ArrayList<>();
        for (Map<String, Object> c : cases(document, "cases")) {
            int tile = Golden.integer(c.get("tile"));
            int halo = Golden.integer(c.get("halo"));
            int block = Golden.integer(c.get("block"));
            @SuppressWarnings("unchecked")
            Map<String, Object> outputs = (Map<String, Object>) c.get("outputs");
            for (Blend blend : Blend.values()) {
                String name = c.get("name") + " " + blend;
                tests.add(DynamicTest.dynamicTest("tiled " + name, () -> {
                    Golden.Array input = Golden.npy((String) c.get("input"));
                    Golden.Array expected =
                            Golden.npy((String) outputs.get(blend.name().toLowerCase()));
                    PackedImage packed = new PackedImage(input.shape[0], input.shape[1],
                            input.shape[2], input.floats());
                    TiledRunner runner = new TiledRunner(
                            standIn(standIn, tile, block, packed.channels), tile, halo, block,
                            packed.channels, blend);
                    RgbImage rgb = runner.run(packed, null, null);
                    assertArrayEquals(expected.shape, new int[] {rgb.height, rgb.width, 3});
                    // The stand-in sums in another order than NumPy: float32 rounding only.
                    assertArrayEquals(expected.floats(), rgb.data, 2e-6f, name);
                }));
            }
        }
        return tests;
    }

    private static double[][] matrix(Object rows) {
        List<?> list = (List<?>) rows;
        double[][] out = new double[list.size()][];
        for (int i = 0; i < out.length; i++) {
            List<?> row = (List<?>) list.get(i);
            out[i] = new double[row.size()];
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] = (Double) row.get(j);
            }
        }
        return out;
    }

    /**
     * The zero-padded 3x3 box sum of the stand-in models at pixel (y, x) of a {@code tile} x
     * {@code tile} x {@code channels} input, written into {@code sum} (divide by 9 for the
     * mean, as make_golden_vectors.py does).
     */
    static void boxSum(float[] input, int tile, int channels, int y, int x, double[] sum) {
        java.util.Arrays.fill(sum, 0.0);
        for (int dy = -1; dy <= 1; dy++) {
            for (int dx = -1; dx <= 1; dx++) {
                int yy = y + dy;
                int xx = x + dx;
                if (yy < 0 || xx < 0 || yy >= tile || xx >= tile) {
                    continue;
                }
                for (int c = 0; c < channels; c++) {
                    sum[c] += input[(yy * tile + xx) * channels + c];
                }
            }
        }
    }

    /**
     * The global stand-in's bottleneck map of make_golden_vectors.py, in Java: the box mean m,
     * {@code linear @ m + quadratic @ m^2 + bias}, then 16 x 16 block means.
     */
    static float[] bottleneckMap(Map<String, Object> description, double[] box, int tile,
            int channels, int stride) {
        double[][] linear = matrix(description.get("linear"));
        double[][] quadratic = matrix(description.get("quadratic"));
        double[] bias = matrix(List.of(description.get("bias")))[0];
        int k = bias.length;
        int side = tile / stride;
        double[] sums = new double[side * side * k];
        for (int y = 0; y < tile; y++) {
            for (int x = 0; x < tile; x++) {
                int cell = ((y / stride) * side + x / stride) * k;
                for (int j = 0; j < k; j++) {
                    double v = bias[j];
                    for (int c = 0; c < channels; c++) {
                        double m = box[(y * tile + x) * channels + c];
                        v += linear[j][c] * m + quadratic[j][c] * m * m;
                    }
                    sums[cell + j] += v;
                }
            }
        }
        float[] map = new float[sums.length];
        for (int i = 0; i < sums.length; i++) {
            map[i] = (float) (sums[i] / (stride * stride));
        }
        return map;
    }

    /**
     * {@code litert.quantise} as the golden int8 stand-in quantises: float32 {@code x / scale
     * + zero}, rounded half to even, clipped.
     */
    static byte[] quantiseAsPython(float[] values, TensorSpec spec) {
        byte[] codes = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            float scaled = values[i] / (float) spec.scale + spec.zeroPoint;
            codes[i] = (byte) Math.max(-128, Math.min(127, Math.rint(scaled)));
        }
        return codes;
    }

    /** A kept map's spec for the golden runs: float32, or int8 with a quantisation. */
    private static TensorSpec keptSpec(String name, int[] shape, Map<String, Object> q) {
        return q == null ? new TensorSpec(name, "float32", shape, 0, 0)
                : new TensorSpec(name, "int8", shape, (Double) q.get("scale"),
                        Golden.integer(q.get("zero_point")));
    }

    /**
     * The one-pass run of the global stand-in (encoder: box mean and bottleneck map; decoder:
     * the tiled stand-in's weights on the kept box mean plus {@code mean_to_rgb @ frame_mean})
     * against {@code run_tiled_split}'s output: float32 kept maps, and int8 ones with each
     * side's own quantisation (the core's {@link Requantiser} tables in between).
     */
    @TestFactory
    List<DynamicTest> globalModelsOnePassRunMatchesPython() {
        Map<String, Object> tiled = Golden.json("tiled_run.json");
        Map<String, Object> document = Golden.json("global_run.json");
        @SuppressWarnings("unchecked")
        Map<String, Object> tileStandIn = (Map<String, Object>) tiled.get("stand_in");
        @SuppressWarnings("unchecked")
        Map<String, Object> standIn = (Map<String, Object>) document.get("stand_in");
        @SuppressWarnings("unchecked")
        Map<String, Object> int8 = (Map<String, Object>) document.get("int8");
        double[][] meanToRgb = matrix(standIn.get("mean_to_rgb"));
        double[][] tileWeights = matrix(tileStandIn.get("weights"));
        double[] tileBias = matrix(List.of(tileStandIn.get("bias")))[0];
        int meanChannels = Golden.integer(document.get("channels"));
        int stride = Golden.integer(document.get("stride"));
        List<Map<String, Object>> int8Kept = cases(int8, "kept");
        List<DynamicTest> tests = new ArrayList<>();
        List<Map<String, Object>> runs = new ArrayList<>(cases(document, "cases"));
        runs.addAll(cases(int8, "cases"));
        for (Map<String, Object> run : runs) {
            boolean quantised = cases(int8, "cases").contains(run);
            Map<String, Object> c = cases(document, "cases").stream()
                    .filter(f -> f.get("name").equals(run.get("name"))).findFirst().get();
            int tile = Golden.integer(c.get("tile"));
            int halo = Golden.integer(c.get("halo"));
            int block = Golden.integer(c.get("block"));
            List<Map<String, Object>> keptShapes = cases(c, "kept");
            List<?> wantMean = (List<?>) run.get("frame_mean");
            @SuppressWarnings("unchecked")
            Map<String, Object> outputs = (Map<String, Object>) run.get("outputs");
            for (Map.Entry<String, Object> entry : outputs.entrySet()) {
                Blend blend = Blend.valueOf(entry.getKey().toUpperCase());
                String name = c.get("name") + (quantised ? " int8 " : " ") + blend;
                tests.add(DynamicTest.dynamicTest("global " + name, () -> {
                    Golden.Array input = Golden.npy((String) c.get("input"));
                    Golden.Array expected = Golden.npy((String) entry.getValue());
                    PackedImage packed = new PackedImage(input.shape[0], input.shape[1],
                            input.shape[2], input.floats());
                    int channels = packed.channels;
                    List<Requantiser> kept = new ArrayList<>();
                    for (int i = 0; i < keptShapes.size(); i++) {
                        String map = (String) keptShapes.get(i).get("name");
                        int[] shape = Golden.integers(keptShapes.get(i).get("shape"));
                        @SuppressWarnings("unchecked")
                        Map<String, Object> q = quantised ? int8Kept.get(i) : null;
                        kept.add(new Requantiser(keptSpec(map, shape, q == null ? null
                                : (Map<String, Object>) q.get("encoder")),
                                keptSpec("serve_" + map + ":0", shape, q == null ? null
                                : (Map<String, Object>) q.get("decoder"))));
                    }
                    EncoderModel encoder = window -> {
                        double[] box = boxMeans(window, tile, channels);
                        float[] boxFloats = new float[box.length];
                        for (int i = 0; i < box.length; i++) {
                            boxFloats[i] = (float) box[i];
                        }
                        float[][] maps = {boxFloats,
                            bottleneckMap(standIn, box, tile, channels, stride)};
                        List<TensorData> out = new ArrayList<>();
                        for (int i = 0; i < maps.length; i++) {
                            TensorSpec spec = kept.get(i).from;
                            out.add(spec.isInt8()
                                    ? TensorData.ofInt8(spec, quantiseAsPython(maps[i], spec))
                                    : TensorData.ofFloats(spec, maps[i]));
                        }
                        return out;
                    };
                    List<float[]> seenMeans = new ArrayList<>();
                    DecoderModel decoder = (maps, frameMean, out) -> {
                        seenMeans.add(frameMean.floats());
                        TensorData boxMap = maps.get(0);
                        double[] box = new double[boxMap.spec.size()];
                        for (int i = 0; i < box.length; i++) {
                            // Dequantised as litert.dequantise: float32 (q - zero) * scale.
                            box[i] = boxMap.isInt8() ? ((float) boxMap.int8()[i]
                                    - boxMap.spec.zeroPoint) * (float) boxMap.spec.scale
                                    : boxMap.floats()[i];
                        }
                        subPixels(tileWeights, tileBias, tile, block, channels, box, out);
                        float[] mean = frameMean.floats();
                        for (int i = 0; i < out.length; i++) {
                            double[] w = meanToRgb[i % 3];
                            double v = out[i];
                            for (int k = 0; k < meanChannels; k++) {
                                v += w[k] * mean[k];
                            }
                            out[i] = (float) v;
                        }
                    };
                    TensorSpec frameMean = new TensorSpec("serve_frame_mean:0", "float32",
                            new int[] {1, 1, 1, meanChannels}, 0, 0);
                    TiledRunner runner = new TiledRunner(encoder, decoder, kept, frameMean,
                            stride, tile, halo, block, channels, blend);
                    List<Integer> done = new ArrayList<>();
                    RgbImage rgb = runner.run(packed, (d, total, nanos) -> done.add(d), null);
                    int tiles = runner.plan(packed.height, packed.width).size();
                    assertEquals(2 * tiles, done.size());
                    assertEquals(tiles, seenMeans.size());
                    for (int k = 0; k < meanChannels; k++) {
                        // Sums in double on both sides, in another order: float32 rounding.
                        assertEquals((Double) wantMean.get(k), seenMeans.get(0)[k], 1e-6,
                                name + " mean");
                    }
                    for (float[] seen : seenMeans) {
                        assertTrue(seen == seenMeans.get(0), name + ": every tile, one mean");
                    }
                    assertArrayEquals(expected.shape, new int[] {rgb.height, rgb.width, 3});
                    assertArrayEquals(expected.floats(), rgb.data, 1e-5f, name);
                }));
            }
        }
        assertTrue(tests.size() >= 4);
        return tests;
    }

    @Test
    void autoRatioMatchesPython() {
        Map<String, Object> document = Golden.json("auto_ratio.json");
        List<Map<String, Object>> all = cases(document, "cases");
        assertTrue(all.size() >= 3);
        for (Map<String, Object> c : all) {
            Golden.Array array = Golden.npy((String) c.get("packed"));
            float[] values;
            if (c.containsKey("codes_per_unit")) {
                // 8-bit codes: packed = code / codes_per_unit in float32, as the script made it.
                float unit = (float) Golden.integer(c.get("codes_per_unit"));
                int[] codes = array.uint8();
                values = new float[codes.length];
                for (int i = 0; i < codes.length; i++) {
                    values[i] = codes[i] / unit;
                }
            } else {
                values = array.floats();
            }
            PackedImage packed = new PackedImage(array.shape[0], array.shape[1], array.shape[2],
                    values);
            double expected = (Double) c.get("ratio");
            assertEquals(expected, AutoRatio.estimate(packed), 1e-9 * expected,
                    (String) c.get("name"));
        }
    }
}
