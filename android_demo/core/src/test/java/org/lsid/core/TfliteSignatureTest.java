package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The signature reader against flatbuffers the Python package wrote (a global model's decoder
 * and encoder: {@code make_golden_vectors.py}, {@code signature.json}; its Python test checks
 * the JSON against LiteRT's own reading of the files).
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
        List<Map<String, Object>> files = list(Golden.json("signature.json").get("files"));
        assertEquals(2, files.size());
        for (Map<String, Object> described : files) {
            String file = (String) described.get("file");
            List<TfliteSignature> read = TfliteSignature.read(
                    ByteBuffer.wrap(Golden.bytes(file)), file);
            List<Map<String, Object>> want = list(described.get("signatures"));
            assertEquals(want.size(), read.size());
            for (int s = 0; s < want.size(); s++) {
                assertEquals(want.get(s).get("key"), read.get(s).key);
                assertTensors(list(want.get(s).get("inputs")), read.get(s).inputs);
                assertTensors(list(want.get(s).get("outputs")), read.get(s).outputs);
            }
        }
    }

    @Test
    void keptMapsAndTheFrameMeanAreFoundByTheCardsTensorNames() throws Exception {
        // The signatures list inputs and outputs in other orders than the subgraphs, under
        // keys whose numbers are not the tensors': by name, never by position.
        Map<String, Object> document = Golden.json("signature.json");
        TfliteSignature decoder = TfliteSignature.only(
                ByteBuffer.wrap(Golden.bytes("signature_decoder.tflite")), "gia.tflite");
        TfliteSignature encoder = TfliteSignature.only(
                ByteBuffer.wrap(Golden.bytes("signature_encoder.tflite")), "gia_encoder.tflite");
        assertEquals("frame_mean", decoder.inputForTensor(
                (String) document.get("frame_mean_input"), "gia.tflite").key);
        List<Map<String, Object>> kept = list(document.get("kept"));
        assertEquals(5, kept.size());
        java.util.Set<String> outputKeys = new java.util.HashSet<>();
        for (Map<String, Object> map : kept) {
            assertEquals(map.get("name"), decoder.inputForTensor(
                    (String) map.get("decoder_input"), "gia.tflite").key);
            TfliteSignature.Tensor output = encoder.outputForTensor(
                    (String) map.get("encoder_output"), "gia_encoder.tflite");
            assertEquals(map.get("encoder_output"), output.tensorName);
            assertTrue(outputKeys.add(output.key));
        }
        assertTrue(!encoder.outputs.get(0).tensorName.endsWith(":0"));
        LsidException missing = assertThrows(LsidException.class,
                () -> decoder.inputForTensor("frame_mean", "gia.tflite"));
        assertTrue(missing.getMessage().startsWith("gia.tflite: no input of signature \"serve\""),
                missing.getMessage());
        LsidException output = assertThrows(LsidException.class,
                () -> encoder.outputForTensor("serve_skip1:0", "gia_encoder.tflite"));
        assertTrue(output.getMessage().startsWith("gia_encoder.tflite: no output of signature"),
                output.getMessage());
    }

    @Test
    void otherFilesAndDamageAreNamed() {
        LsidException notTflite = assertThrows(LsidException.class,
                () -> TfliteSignature.read(ByteBuffer.wrap(Golden.bytes("global_run.json")),
                        "x.tflite"));
        assertEquals("x.tflite: not a TFLite model (no TFL3 file identifier)",
                notTflite.getMessage());
        byte[] cut = java.util.Arrays.copyOf(Golden.bytes("signature_decoder.tflite"), 40);
        LsidException damaged = assertThrows(LsidException.class,
                () -> TfliteSignature.read(ByteBuffer.wrap(cut), "cut.tflite"));
        assertTrue(damaged.getMessage().startsWith("cut.tflite: damaged TFLite file"),
                damaged.getMessage());
    }
}
