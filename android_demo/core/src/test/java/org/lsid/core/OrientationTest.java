package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The display layout against {@code lsid_keras.image_io.orient}'s golden output and the flip
 * codes rawpy reports for DNGs written with each EXIF Orientation ({@code orientation.json}).
 */
class OrientationTest {
    @SuppressWarnings("unchecked")
    private static Map<String, Object> golden() {
        return Golden.json("orientation.json");
    }

    @Test
    @SuppressWarnings("unchecked")
    void exifOrientationReadsAsLibRawReadsIt() {
        Map<String, Object> exifToFlip = (Map<String, Object>) golden().get("exif_to_flip");
        assertEquals(8, exifToFlip.size());
        for (Map.Entry<String, Object> e : exifToFlip.entrySet()) {
            assertEquals(Golden.integer(e.getValue()),
                    Orientation.flipOfExif(Integer.parseInt(e.getKey())), "EXIF " + e.getKey());
        }
        // Only the low three bits count, as in LibRaw's "50132467"[orientation & 7].
        assertEquals(Orientation.flipOfExif(1), Orientation.flipOfExif(9));
        assertEquals(5, Orientation.flipOfExif(0));
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyFlipCodeLaysTheImageOutAsPythonDoes() {
        Map<String, Object> g = golden();
        Golden.Array input = Golden.npy((String) g.get("input"));
        RgbImage image = new RgbImage(input.shape[0], input.shape[1]);
        System.arraycopy(input.floats(), 0, image.data, 0, image.data.length);
        int[] argb = image.toArgb();
        List<Map<String, Object>> cases = (List<Map<String, Object>>) g.get("cases");
        assertEquals(8, cases.size());
        for (Map<String, Object> c : cases) {
            int flip = Golden.integer(c.get("flip"));
            Golden.Array expected = Golden.npy((String) c.get("out"));
            RgbImage out = Orientation.apply(image, flip);
            assertEquals(expected.shape[0], out.height, "flip " + flip);
            assertEquals(expected.shape[1], out.width, "flip " + flip);
            assertArrayEquals(expected.floats(), out.data, 0f, "flip " + flip);
            // The ARGB path lays out the same pixels.
            assertArrayEquals(out.toArgb(), Orientation.applyArgb(argb, image.height,
                    image.width, flip), "ARGB flip " + flip);
        }
        assertSame(image, Orientation.apply(image, Orientation.NONE));
        assertThrows(IllegalArgumentException.class, () -> Orientation.apply(image, 8));
    }

    /** The golden DNG with its first IFD's Orientation (a SHORT) set to a value. */
    private static byte[] withOrientation(byte[] data, int value) {
        byte[] copy = data.clone();
        ByteBuffer buffer = ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN);
        int ifd = buffer.getInt(4);
        int count = buffer.getShort(ifd) & 0xFFFF;
        for (int i = 0; i < count; i++) {
            int at = ifd + 2 + 12 * i;
            if ((buffer.getShort(at) & 0xFFFF) == Orientation.TAG) {
                buffer.putShort(at + 8, (short) value);
                return copy;
            }
        }
        throw new IllegalStateException("no Orientation tag in the first IFD");
    }

    @Test
    @SuppressWarnings("unchecked")
    void dngReaderTakesTheOrientationRawpyReports() throws Exception {
        Map<String, Object> dng = ((List<Map<String, Object>>) Golden.json("dng.json")
                .get("cases")).get(0);
        byte[] file = Golden.bytes((String) dng.get("file"));
        assertEquals(Orientation.NONE, DngReader.read(ByteBuffer.wrap(file), "a.dng").orientation);
        Map<String, Object> exifToFlip = (Map<String, Object>) golden().get("exif_to_flip");
        for (Map.Entry<String, Object> e : exifToFlip.entrySet()) {
            RawFrame frame = DngReader.read(ByteBuffer.wrap(
                    withOrientation(file, Integer.parseInt(e.getKey()))), "a.dng");
            assertEquals(Golden.integer(e.getValue()), frame.orientation, "EXIF " + e.getKey());
        }
    }

    @Test
    void rawFramesRefuseCodesLibRawHasNot() {
        ByteBuffer samples = ByteBuffer.allocate(8);
        double[][] black = {{0, 0}, {0, 0}};
        LsidException error = assertThrows(LsidException.class, () -> new RawFrame(samples, 2, 2,
                4, 2, CfaPattern.RGGB, black, 100, null, 0, null, 8, "cam"));
        assertEquals("cam: orientation 8 is not a LibRaw flip code 0-7", error.getMessage());
    }
}
