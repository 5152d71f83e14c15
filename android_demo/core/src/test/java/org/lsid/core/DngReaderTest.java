package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The Java DNG reader against a DNG written and read by the Python package. */
class DngReaderTest {
    @SuppressWarnings("unchecked")
    private static Map<String, Object> goldenCase() {
        return ((List<Map<String, Object>>) Golden.json("dng.json").get("cases")).get(0);
    }

    @Test
    void readsWhatReadRawReadsAndPacksTheSame() throws Exception {
        Map<String, Object> want = goldenCase();
        String name = (String) want.get("file");
        RawFrame frame = DngReader.read(ByteBuffer.wrap(Golden.bytes(name)), name);
        assertEquals(Golden.integer(want.get("height")), frame.height);
        assertEquals(Golden.integer(want.get("width")), frame.width);
        List<?> cfa = (List<?>) want.get("cfa");
        assertEquals(CfaPattern.fromColours(new int[][] {Golden.integers(cfa.get(0)),
            Golden.integers(cfa.get(1))}, name), frame.cfa);
        List<?> black = (List<?>) want.get("black");
        for (int r = 0; r < 2; r++) {
            List<?> row = (List<?>) black.get(r);
            for (int c = 0; c < 2; c++) {
                assertEquals((Double) row.get(c), frame.blackLevel(r, c), 0.0);
            }
        }
        assertEquals((Double) want.get("white"), frame.whiteLevel, 0.0);
        List<?> wb = (List<?>) want.get("white_balance");
        float[] gains = frame.whiteBalance();
        for (int k = 0; k < 3; k++) {
            assertEquals((Double) wb.get(k), gains[k], 1e-5);
        }
        assertEquals(Math.round((Double) want.get("exposure_time") * 1e9), frame.exposureTimeNs);
        List<?> colour = (List<?>) want.get("color_matrix");
        double[][] xyzToCamera = frame.xyzToCamera();
        for (int r = 0; r < 3; r++) {
            List<?> row = (List<?>) colour.get(r);
            for (int c = 0; c < 3; c++) {
                assertEquals((Double) row.get(c), xyzToCamera[r][c], 1e-6, "ColorMatrix1");
            }
        }
        Golden.Array expected = Golden.npy((String) want.get("packed"));
        PackedImage packed = BayerPacker.pack(frame);
        assertArrayEquals(expected.shape, new int[] {packed.height, packed.width, 4});
        assertArrayEquals(expected.floats(), packed.data, 0f);
    }

    private static String messageFor(byte[] data) {
        LsidException error = assertThrows(LsidException.class,
                () -> DngReader.read(ByteBuffer.wrap(data), "picked.dng"));
        assertTrue(error.getMessage().startsWith("picked.dng: "), error.getMessage());
        return error.getMessage();
    }

    @Test
    void badFilesAreOneMessage() {
        byte[] good = Golden.bytes((String) goldenCase().get("file"));
        assertTrue(messageFor(new byte[0]).contains("not a DNG file"));
        assertTrue(messageFor("JFIF not a raw file".getBytes(java.nio.charset.StandardCharsets
                .US_ASCII)).contains("not a DNG file (no TIFF header)"));
        String truncated = messageFor(Arrays.copyOf(good, good.length - 100));
        assertTrue(truncated.contains("truncated"), truncated);
        String cut = messageFor(Arrays.copyOf(good, 20));
        assertTrue(cut.contains("truncated or malformed"), cut);
    }

    /** Sets the value of a SHORT tag of the first IFD in a little-endian TIFF. */
    static byte[] withShortTag(byte[] data, int tag, int value) {
        byte[] copy = data.clone();
        ByteBuffer buffer = ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN);
        int ifd = buffer.getInt(4);
        int count = buffer.getShort(ifd) & 0xFFFF;
        for (int i = 0; i < count; i++) {
            int at = ifd + 2 + 12 * i;
            if ((buffer.getShort(at) & 0xFFFF) == tag) {
                buffer.putShort(at + 8, (short) value);
                return copy;
            }
        }
        throw new IllegalStateException("tag " + tag + " not in the first IFD");
    }

    @Test
    void unsupportedEncodingsAreNamed() {
        byte[] good = Golden.bytes((String) goldenCase().get("file"));
        assertTrue(messageFor(withShortTag(good, 259, 7))
                .contains("compressed DNG (compression 7, lossless JPEG)"));
        assertTrue(messageFor(withShortTag(good, 258, 12)).contains("12-bit samples"));
        assertTrue(messageFor(withShortTag(good, 262, 34892))
                .contains("no full-resolution CFA image"));
    }
}
