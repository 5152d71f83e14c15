package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelCardTest {
    private static final String GOOD = Golden.text("model_card.json");

    private static String messageFor(String json) {
        LsidException error = assertThrows(LsidException.class,
                () -> ModelCard.parse(json, "assets/model.card.json"));
        assertTrue(error.getMessage().startsWith("assets/model.card.json: "), error.getMessage());
        return error.getMessage();
    }

    @Test
    void notJsonIsNamed() {
        assertTrue(messageFor("{\"tile\": 256,").contains("model card is not JSON (JSON offset"));
        assertTrue(messageFor("").contains("is not JSON"));
    }

    @Test
    void anotherDocumentIsRefused() {
        assertTrue(messageFor("{\"format\": \"tflite\"}").contains("not an lsid model card"));
        assertTrue(messageFor("[1, 2]").contains("is not a JSON object"));
    }

    @Test
    void newerCardsAreRefused() {
        String newer = GOOD.replace("\"card_version\": 3", "\"card_version\": 4");
        assertTrue(messageFor(newer).contains("version 4 is newer than this app reads (3)"));
    }

    @Test
    void inconsistentCardsAreRefused() {
        assertTrue(messageFor(GOOD.replace("\"halo\": 32", "\"halo\": 121"))
                .contains("tile 256 / halo 121 cannot be tiled"));
        assertTrue(messageFor(GOOD.replace("\"block_size\": 2", "\"block_size\": 3"))
                .contains("bayer with 4 channels and block 3; expected 4 and 2"));
        assertTrue(messageFor(GOOD.replace("\"tile\": 256", "\"tile\": 128"))
                .contains("input shape [1, 256, 256, 4]; expected [1, 128, 128, 4]"));
        assertTrue(messageFor(GOOD.replace("\"halo\": 32", "\"halo\": \"32\""))
                .contains("card.halo is not an integer"));
        assertTrue(messageFor(GOOD.replace("\"halo\": 32,", ""))
                .contains("card.halo is missing"));
        assertTrue(messageFor(GOOD.replace("\"scale\": 0.003921568859368563", "\"scale\": 0"))
                .contains("inputs[0] is int8 with scale 0.0"));
    }

    @Test
    void xtransCardsParseButTheAppNeedsBayer() throws Exception {
        String xtrans = GOOD.replace("\"cfa_kind\": \"bayer\"", "\"cfa_kind\": \"xtrans\"")
                .replace("\"packed_channels\": 4", "\"packed_channels\": 9")
                .replace("\"block_size\": 2", "\"block_size\": 3")
                .replace("\"G\"\n  ],", "\"G\", \"R\", \"B\", \"G\", \"G\", \"G\"],")
                .replace("256,\n    4\n", "256,\n    9\n")
                .replace("512,\n    512,", "768,\n    768,");
        ModelCard card = ModelCard.parse(xtrans, "fuji.card.json");
        assertEquals(9, card.packedChannels);
        LsidException error = assertThrows(LsidException.class,
                () -> card.requireBayer("fuji.tflite"));
        assertTrue(error.getMessage().startsWith("fuji.tflite: the model takes xtrans frames"));
    }

    @Test
    void localCardsHaveNoGlobalBranch() throws Exception {
        ModelCard card = ModelCard.parse(GOOD, "model.card.json");
        assertEquals(ModelCard.ROLE_MODEL, card.role);
        assertFalse(card.isGlobal());
        assertNull(card.globalBranch);
        assertNull(card.frameMean);
        assertTrue(card.kept.isEmpty());
        assertEquals("serve_packed_raw:0", card.input.name);
        TiledRunner.forCard((in, out) -> { }, card, Blend.CROP); // runs
        // A local model's version-2 (and 1) card is read as it was.
        ModelCard older = ModelCard.parse(GOOD.replace("\"card_version\": 3",
                "\"card_version\": 2"), "sid.card.json");
        assertFalse(older.isGlobal());
    }

    static final String DECODER = Golden.text("model_card_decoder.json");
    static final String ENCODER = Golden.text("model_card_encoder.json");

    /** The golden decoder card with {@code change} applied to its tree, as text. */
    static String decoderWith(java.util.function.Consumer<Map<String, Object>> change) {
        Map<String, Object> card = Golden.mutableJson("model_card_decoder.json");
        change.accept(card);
        return Golden.toJson(card);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> branch(Map<String, Object> card) {
        return (Map<String, Object>) card.get("global_branch");
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> list(Object value) {
        return (List<Map<String, Object>>) value;
    }

    @Test
    void aGlobalModelsTwoCardsFromPythonAreRead() throws Exception {
        ModelCard decoder = ModelCard.parse(DECODER, "gia_int8.card.json");
        ModelCard encoder = ModelCard.parse(ENCODER, "gia_int8_encoder.card.json");
        assertTrue(decoder.isGlobal() && !decoder.isEncoder());
        assertTrue(encoder.isGlobal() && encoder.isEncoder());
        assertEquals(ModelCard.ROLE_GLOBAL_ENCODER, encoder.role);
        GlobalBranch branch = decoder.globalBranch;
        assertEquals("gia_int8_encoder.tflite", branch.encoderFile);
        assertEquals("gia_int8_encoder.card.json", branch.encoderCardFile());
        assertEquals("serve_frame_mean:0", branch.frameMeanInput);
        assertEquals(64, branch.channels);
        assertEquals(16, branch.stride);
        assertEquals("gia_int8.tflite", encoder.globalBranch.modelFile);
        assertNull(encoder.globalBranch.encoderFile);
        assertEquals(branch.kept, encoder.globalBranch.kept);
        String[] names = {"skip1", "skip2", "skip3", "skip4", "bottleneck"};
        assertEquals(names.length, branch.kept.size());
        for (int i = 0; i < names.length; i++) {
            GlobalBranch.KeptMap map = branch.kept.get(i);
            assertEquals(names[i], map.name);
            assertEquals("serve_" + names[i] + ":0", map.decoderInput);
            assertArrayEquals(new int[] {1, 64 >> i, 64 >> i, 4 << i}, map.shape());
            // Each file's specs come in kept order, found by name (the card lists them sorted).
            assertEquals(map.decoderInput, decoder.kept.get(i).name);
            assertEquals(map.encoderOutput, encoder.kept.get(i).name);
            assertArrayEquals(map.shape(), decoder.kept.get(i).shape);
            assertTrue(decoder.kept.get(i).isInt8() && encoder.kept.get(i).isInt8());
            assertTrue(decoder.kept.get(i).scale != encoder.kept.get(i).scale, map.name);
        }
        assertEquals("StatefulPartitionedCall:3", branch.kept.get(0).encoderOutput);
        assertNotEquals(decoder.inputs.get(0).name, decoder.kept.get(0).name);
        assertNull(decoder.input);
        assertArrayEquals(new int[] {1, 128, 128, 3}, decoder.output.shape);
        assertArrayEquals(new int[] {1, 1, 1, 64}, decoder.frameMean.shape);
        assertEquals("serve_frame_mean:0", decoder.frameMean.name);
        assertArrayEquals(new int[] {1, 64, 64, 4}, encoder.input.shape);
        assertNull(encoder.output);
        assertEquals(6, decoder.inputs.size());
        assertEquals(5, encoder.outputs.size());
        decoder.checkEncoderCard(encoder, "gia_int8_encoder.card.json");
    }

    @Test
    void aGlobalModelRunsOnlyAsItsTwoFiles() throws Exception {
        ModelCard decoder = ModelCard.parse(DECODER, "gia.card.json");
        ModelCard encoder = ModelCard.parse(ENCODER, "gia_encoder.card.json");
        LsidException local = assertThrows(LsidException.class,
                () -> TiledRunner.forCard((in, out) -> { }, decoder, Blend.CROP));
        assertTrue(local.getMessage().contains("model is global")
                && local.getMessage().contains("gia_int8_encoder.tflite")
                && local.getMessage().contains("forGlobalCard"), local.getMessage());
        assertThrows(LsidException.class,
                () -> TiledRunner.forCard((in, out) -> { }, encoder, Blend.CROP));
        TiledRunner runner = TiledRunner.forGlobalCard(in -> null, (kept, mean, out) -> { },
                decoder, encoder, Blend.CROP);
        assertTrue(runner.isGlobal());
        assertEquals(2 * runner.plan(300, 400).size(), runner.tileRuns(300, 400));
        // Per tile: 64^2 * 4 + 32^2 * 8 + 16^2 * 16 + 8^2 * 32 + 4^2 * 64 int8 values.
        assertEquals(runner.plan(300, 400).size() * (16384L + 8192 + 4096 + 2048 + 1024),
                runner.keptBytes(300, 400));
        LsidException swapped = assertThrows(LsidException.class,
                () -> TiledRunner.forGlobalCard(in -> null, (kept, mean, out) -> { }, encoder,
                        decoder, Blend.CROP));
        assertTrue(swapped.getMessage().contains("a global encoder's (role global_encoder)"),
                swapped.getMessage());
        LsidException plain = assertThrows(LsidException.class,
                () -> TiledRunner.forGlobalCard(in -> null, (kept, mean, out) -> { },
                        ModelCard.parse(GOOD, "sid.card.json"), encoder, Blend.CROP));
        assertTrue(plain.getMessage().contains("a local model's"), plain.getMessage());
        LsidException twice = assertThrows(LsidException.class,
                () -> decoder.checkEncoderCard(decoder, "gia_encoder.card.json"));
        assertTrue(twice.getMessage().startsWith("gia_encoder.card.json: is not the encoder card "
                + "of this model (role model"), twice.getMessage());
        ModelCard fp16 = ModelCard.parse(ENCODER.replace("\"quantization\": \"int8\"",
                "\"quantization\": \"fp16\""), "e.card.json");
        assertThrows(LsidException.class, () -> decoder.checkEncoderCard(fp16, "e.card.json"));
    }

    @Test
    void version2GlobalCardsAreRefusedWithOneMessage() {
        String want = "assets/model.card.json: exported by an older lsid-keras as two passes "
                + "(card version 2); re-export it with `lsid export`";
        String features = GOOD.replace("\"role\": \"model\"", "\"role\": \"global_features\"")
                .replace("\"global_branch\": null", "\"global_branch\": {\"model_file\": "
                + "\"gia_int8.tflite\", \"channels\": 64, \"stride\": 16}")
                .replace("\"card_version\": 3", "\"card_version\": 2");
        assertEquals(want, messageFor(features));
        String main = GOOD.replace("\"global_branch\": null", "\"global_branch\": {"
                + "\"features_file\": \"gia_int8_features.tflite\", \"features_sha256\": "
                + "\"ab12\", \"frame_mean_input\": \"serve_frame_mean:0\", \"channels\": 64, "
                + "\"stride\": 16}").replace("\"card_version\": 3", "\"card_version\": 2");
        assertEquals(want, messageFor(main));
        // As card.py: a global_branch of any other split is version 2's.
        assertEquals(want, messageFor(decoderWith(card -> branch(card).remove("split"))));
    }

    @Test
    void inconsistentGlobalCardsAreRefused() {
        assertTrue(messageFor(decoderWith(card -> list(card.get("inputs")).remove(0)))
                .contains("inputs lists 5 tensors; expected 6 (global_branch.kept and "
                        + "frame_mean)"));
        assertTrue(messageFor(decoderWith(card -> list(card.get("inputs")).get(2).put("name",
                "serve_skip9:0"))).contains("inputs has no tensor named \"serve_skip1:0\" "
                + "(kept map skip1)"));
        assertTrue(messageFor(decoderWith(card -> branch(card).put("frame_mean_input",
                "mean"))).contains("has no tensor named \"mean\""));
        assertTrue(messageFor(decoderWith(card -> list(branch(card).get("kept")).get(1)
                .put("shape", List.of(1.0, 32.0, 32.0, 9.0))))
                .contains("input serve_skip2:0 shape [1, 32, 32, 8]; expected [1, 32, 32, 9]"));
        assertTrue(messageFor(decoderWith(card -> list(branch(card).get("kept")).remove(4)))
                .contains("global_branch.kept must end with the bottleneck map [1, 4, 4, 64]"));
        assertTrue(messageFor(decoderWith(card -> branch(card).put("channels", 32.0)))
                .contains("must end with the bottleneck map [1, 4, 4, 32]"));
        assertTrue(messageFor(decoderWith(card -> list(card.get("inputs")).get(1).put("shape",
                List.of(1.0, 1.0, 1.0, 32.0)))).contains("input serve_frame_mean:0 shape "
                + "[1, 1, 1, 32]; expected [1, 1, 1, 64]"));
        assertTrue(messageFor(decoderWith(card -> list(card.get("inputs")).get(2).put("dtype",
                "uint8"))).contains("kept map skip1 is uint8; this app keeps int8 and float32"));
        assertTrue(messageFor(decoderWith(card -> list(branch(card).get("kept")).get(3)
                .put("decoder_input", "serve_skip1:0"))).contains("after another with its name "
                + "or tensor"));
        assertTrue(messageFor(decoderWith(card -> branch(card).remove("encoder_sha256")))
                .contains("encoder_sha256 is missing"));
        assertTrue(messageFor(ENCODER.replace("\"role\": \"global_encoder\"", "\"role\": \"x\""))
                .contains("role \"x\"; expected \"model\" or \"global_encoder\""));
        assertTrue(messageFor(GOOD.replace("\"role\": \"model\"",
                "\"role\": \"global_encoder\"")).contains("encoder file lacks global_branch"));
    }

    @Test
    void quantisationRoundsHalfAwayFromZeroAndClamps() {
        TensorSpec int8 = new TensorSpec("int8", new int[] {1}, 0.5, -128);
        assertEquals(-128, int8.quantize(0f));
        assertEquals(-127, int8.quantize(0.25f)); // 0.5 rounds away from zero
        assertEquals(127, int8.quantize(1000f));
        assertEquals(-128, int8.quantize(-3f));
        assertEquals(1.0f, int8.dequantize(-126), 0f);
        TensorSpec uint8 = new TensorSpec("uint8", new int[] {1}, 1 / 255.0, 0);
        assertEquals(255, uint8.quantize(1.5f));
        assertEquals(128, uint8.quantize(128 / 255f));
    }

    @Test
    void jsonReaderIsStrictAndReadsEscapes() {
        assertEquals("a\"b\u00e9\n", Json.parse("\"a\\\"b\\u00e9\\n\""));
        assertEquals(Double.NaN, (Double) Json.parse("NaN"), 0.0);
        assertEquals(-2.5e-3, (Double) Json.parse(" -2.5e-3 "), 0.0);
        assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"a\": 01}"));
        assertThrows(IllegalArgumentException.class, () -> Json.parse("[1, 2] x"));
        assertThrows(IllegalArgumentException.class, () -> Json.parse("{'a': 1}"));
    }
}
