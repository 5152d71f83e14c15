package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class GlobalBranchTest {
    @Test
    void theEncoderFileIsCheckedByItsSha256() throws Exception {
        // The golden decoder card's encoder_sha256 is hashlib.sha256(b"encoder").hexdigest().
        GlobalBranch branch = ModelCard.parse(ModelCardTest.DECODER, "gia.card.json")
                .globalBranch;
        branch.verifyEncoder(new ByteArrayInputStream(
                "encoder".getBytes(StandardCharsets.US_ASCII)), "e.tflite");
        LsidException other = assertThrows(LsidException.class,
                () -> branch.verifyEncoder(new ByteArrayInputStream(
                        "encodeR".getBytes(StandardCharsets.US_ASCII)), "e.tflite"));
        assertTrue(other.getMessage().startsWith("e.tflite: not the encoder file this model "
                + "was exported with (sha256 "), other.getMessage());
    }
}
