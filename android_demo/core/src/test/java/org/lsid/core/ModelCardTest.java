package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
        String newer = GOOD.replace("\"card_version\": 2", "\"card_version\": 3");
        assertTrue(messageFor(newer).contains("version 3 is newer than this app reads (2)"));
    }

    @Test
    void inconsistentCardsAreRefused() {
        assertTrue(messageFor(GOOD.replace("\"halo\": 32", "\"halo\": 121"))
                .contains("tile 256 / halo 121 cannot be tiled"));
        assertTrue(messageFor(GOOD.replace("\"block_size\": 2", "\"block_size\": 3"))
                .contains("bayer with 4 channels and block 3; expected 4 and 2"));
        assertTrue(messageFor(GOOD.replace("\"tile\": 256", "\"tile\": 128"))
                .contains("input shape [1, 256, 256, 4] disagrees with tile 128"));
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

    /** The golden card as a global model's main file: a frame_mean input and global_branch. */
    private static String globalCard(int meanChannels) {
        return GOOD.replace("\"global_branch\": null", "\"global_branch\": {"
                + "\"features_file\": \"gia_int8_features.tflite\", \"features_sha256\": "
                + "\"ab12\", \"frame_mean_input\": \"serve_frame_mean:0\", \"channels\": 64, "
                + "\"stride\": 16, \"how\": \"two passes\"}")
                .replace("\"inputs\": [", "\"inputs\": [{\"dtype\": \"int8\", \"name\": "
                + "\"serve_frame_mean:0\", \"scale\": 0.01, \"shape\": [1, 1, 1, "
                + meanChannels + "], \"zero_point\": 3},");
    }

    @Test
    void localCardsHaveNoGlobalBranch() throws Exception {
        ModelCard card = ModelCard.parse(GOOD, "model.card.json");
        assertEquals(ModelCard.ROLE_MODEL, card.role);
        assertFalse(card.isGlobal());
        assertNull(card.globalBranch);
        assertNull(card.frameMean);
        TiledRunner.forCard((in, out) -> { }, card, Blend.CROP); // runs
    }

    @Test
    void globalCardsExposeTheirBranchAndRunInTwoPasses() throws Exception {
        ModelCard card = ModelCard.parse(globalCard(64), "gia.card.json");
        assertTrue(card.isGlobal());
        assertEquals("gia_int8_features.tflite", card.globalBranch.featuresFile);
        assertEquals("serve_frame_mean:0", card.globalBranch.frameMeanInput);
        assertEquals(64, card.globalBranch.channels);
        assertEquals(16, card.globalBranch.stride);
        // The packed input is found by name, not by position: frame_mean is listed first.
        assertArrayEquals(new int[] {1, 256, 256, 4}, card.input.shape);
        assertArrayEquals(new int[] {1, 1, 1, 64}, card.frameMean.shape);
        assertEquals(3, card.frameMean.zeroPoint);
        LsidException error = assertThrows(LsidException.class,
                () -> TiledRunner.forCard((in, out) -> { }, card, Blend.CROP));
        assertTrue(error.getMessage().contains("model is global")
                && error.getMessage().contains("gia_int8_features.tflite")
                && error.getMessage().contains("forGlobalCard"), error.getMessage());
        TiledRunner runner = TiledRunner.forGlobalCard((in, mean, out) -> { },
                (in, features) -> { }, card, Blend.CROP);
        assertTrue(runner.isGlobal());
        assertEquals(2 * runner.plan(300, 400).size(), runner.tileRuns(300, 400));
        LsidException local = assertThrows(LsidException.class,
                () -> TiledRunner.forGlobalCard((in, mean, out) -> { }, (in, features) -> { },
                        ModelCard.parse(GOOD, "sid.card.json"), Blend.CROP));
        assertTrue(local.getMessage().contains("a local model's"), local.getMessage());
        assertTrue(messageFor(globalCard(32))
                .contains("input serve_frame_mean:0 shape [1, 1, 1, 32]; expected [1, 1, 1, 64]"));
        assertTrue(messageFor(globalCard(64).replace("\"frame_mean_input\": \"serve_frame_mean:0\"",
                "\"frame_mean_input\": \"mean\"")).contains("inputs has no tensor named \"mean\""));
        assertTrue(messageFor(GOOD.replace("\"global_branch\": null", "\"global_branch\": {"
                + "\"features_file\": \"f.tflite\", \"features_sha256\": \"ab\", "
                + "\"frame_mean_input\": \"frame_mean\", \"channels\": 64, \"stride\": 16}"))
                .contains("inputs lists 1 tensors; expected 2"));
    }

    @Test
    void featuresCardsCheckTheirBottleneckOutput() throws Exception {
        String features = GOOD.replace("\"role\": \"model\"", "\"role\": \"global_features\"")
                .replace("\"global_branch\": null", "\"global_branch\": {\"model_file\": "
                + "\"gia_int8.tflite\", \"channels\": 64, \"stride\": 16, \"how\": \"x\"}");
        assertTrue(messageFor(features).contains(
                "output shape [1, 512, 512, 3]; expected [1, 16, 16, 64]"));
        ModelCard card = ModelCard.parse(features.replace("512,\n    512,\n    3",
                "16,\n    16,\n    64"), "f.card.json");
        assertEquals("gia_int8.tflite", card.globalBranch.modelFile);
        assertThrows(LsidException.class,
                () -> TiledRunner.forCard((in, out) -> { }, card, Blend.CROP));
        LsidException error = assertThrows(LsidException.class,
                () -> TiledRunner.forGlobalCard((in, mean, out) -> { }, (in, f) -> { }, card,
                        Blend.CROP));
        assertTrue(error.getMessage().contains("features file's (role global_features)"),
                error.getMessage());
        assertTrue(messageFor(GOOD.replace("\"role\": \"model\"", "\"role\": \"x\""))
                .contains("role \"x\""));
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
