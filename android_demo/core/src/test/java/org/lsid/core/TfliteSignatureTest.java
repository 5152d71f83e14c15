package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The signature reader against a flatbuffer the Python package wrote
 * ({@code make_golden_vectors.py}, {@code signature.json}; its Python test checks the JSON
 * against LiteRT's own reading of the file).
 */
class TfliteSignatureTest {

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(Object value) {
        return (List<Map<String, Object>>) value;
    }

    private static void assertTensors(List<Map<String, Object>> want,
            List<TfliteSignature.Tensor> found) {
        assertEquals(want.size(), found.size());
        for (int i = 0; i < want.size(); i++) {
            assertEquals(want.get(i).get("key"), found.get(i).key);
            assertEquals(want.get(i).get("tensor"), found.get(i).tensorName);
            assertEquals(Golden.integer(want.get(i).get("index")), found.get(i).tensorIndex);
        }
    }

    @Test
    void signaturesMatchWhatPythonWrote() throws Exception {
        Map<String, Object> document = Golden.json("signature.json");
        String file = (String) document.get("file");
        List<TfliteSignature> read = TfliteSignature.read(ByteBuffer.wrap(Golden.bytes(file)),
                file);
        List<Map<String, Object>> want = list(document.get("signatures"));
        assertEquals(want.size(), read.size());
        for (int s = 0; s < want.size(); s++) {
            assertEquals(want.get(s).get("key"), read.get(s).key);
            assertTensors(list(want.get(s).get("inputs")), read.get(s).inputs);
            assertTensors(list(want.get(s).get("outputs")), read.get(s).outputs);
        }
    }

    @Test
    void theFrameMeanInputIsFoundByTheCardsTensorName() throws Exception {
        // The signature lists packed_raw first, the subgraph frame_mean: by name, not position.
        TfliteSignature signature = TfliteSignature.only(
                ByteBuffer.wrap(Golden.bytes("signature_global.tflite")), "gia.tflite");
        assertEquals("frame_mean",
                signature.inputForTensor("serve_frame_mean:0", "gia.tflite").key);
        assertEquals("packed_raw",
                signature.inputForTensor("serve_packed_raw:0", "gia.tflite").key);
        LsidException missing = assertThrows(LsidException.class,
                () -> signature.inputForTensor("frame_mean", "gia.tflite"));
        assertTrue(missing.getMessage().startsWith("gia.tflite: no input of signature \"serve\""),
                missing.getMessage());
    }

    @Test
    void otherFilesAndDamageAreNamed() {
        LsidException notTflite = assertThrows(LsidException.class,
                () -> TfliteSignature.read(ByteBuffer.wrap(Golden.bytes("global_run.json")),
                        "x.tflite"));
        assertEquals("x.tflite: not a TFLite model (no TFL3 file identifier)",
                notTflite.getMessage());
        byte[] cut = java.util.Arrays.copyOf(Golden.bytes("signature_global.tflite"), 40);
        LsidException damaged = assertThrows(LsidException.class,
                () -> TfliteSignature.read(ByteBuffer.wrap(cut), "cut.tflite"));
        assertTrue(damaged.getMessage().startsWith("cut.tflite: damaged TFLite file"),
                damaged.getMessage());
    }
}
