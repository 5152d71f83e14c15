package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class GlobalBranchTest {
    private static final String GOOD = Golden.text("model_card.json");
    // hashlib.sha256(b"features").hexdigest(), computed in Python.
    private static final String SHA =
            "5b8a8b56dada6ce7567442b4935298df7de2badd7becdcf4915a59487338ca4b";

    private static ModelCard main(String sha, int k) throws LsidException {
        return ModelCard.parse(GOOD.replace("\"global_branch\": null", "\"global_branch\": {"
                + "\"features_file\": \"gia_int8_features.tflite\", \"features_sha256\": \""
                + sha + "\", \"frame_mean_input\": \"serve_frame_mean:0\", \"channels\": " + k
                + ", \"stride\": 16}")
                .replace("\"inputs\": [", "\"inputs\": [{\"dtype\": \"float32\", \"name\": "
                + "\"serve_frame_mean:0\", \"shape\": [1, 1, 1, " + k + "]},"), "gia.card.json");
    }

    private static ModelCard features(int k, String quantization) throws LsidException {
        return ModelCard.parse(GOOD.replace("\"role\": \"model\"", "\"role\": \"global_features\"")
                .replace("\"global_branch\": null", "\"global_branch\": {\"model_file\": "
                + "\"gia_int8.tflite\", \"channels\": " + k + ", \"stride\": 16}")
                .replace("512,\n    512,\n    3", "16,\n    16,\n    " + k)
                .replace("\"quantization\": \"int8\"", "\"quantization\": \"" + quantization
                + "\""), "f.card.json");
    }

    @Test
    void theFeaturesFileIsCheckedByItsSha256() throws Exception {
        byte[] bytes = "features".getBytes(StandardCharsets.US_ASCII);
        ModelCard card = main(SHA, 8);
        assertEquals("gia_int8_features.card.json", card.globalBranch.featuresCardFile());
        card.globalBranch.verifyFeatures(new ByteArrayInputStream(bytes), "f.tflite");
        LsidException other = assertThrows(LsidException.class,
                () -> card.globalBranch.verifyFeatures(new ByteArrayInputStream(
                        "feature5".getBytes(StandardCharsets.US_ASCII)), "f.tflite"));
        assertTrue(other.getMessage().startsWith("f.tflite: not the features file this model "
                + "was exported with"), other.getMessage());
    }

    @Test
    void theFeaturesCardMustMatchTheMainCard() throws Exception {
        ModelCard card = main(SHA, 8);
        card.checkFeaturesCard(features(8, "int8"), "f.card.json");
        LsidException k = assertThrows(LsidException.class,
                () -> card.checkFeaturesCard(features(16, "int8"), "f.card.json"));
        assertTrue(k.getMessage().startsWith("f.card.json: is not the features card of this "
                + "model") && k.getMessage().contains("K 16; expected global_features"),
                k.getMessage());
        assertThrows(LsidException.class,
                () -> card.checkFeaturesCard(features(8, "fp16"), "f.card.json"));
        assertThrows(LsidException.class, () -> card.checkFeaturesCard(card, "f.card.json"));
    }
}
