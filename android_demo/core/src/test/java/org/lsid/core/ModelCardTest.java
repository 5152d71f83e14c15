package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
        String newer = GOOD.replace("\"card_version\": 1", "\"card_version\": 2");
        assertTrue(messageFor(newer).contains("version 2 is newer than this app reads (1)"));
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
