package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class ActiveAreaTest {
    private static final double[][] BLACK = {{64, 60}, {62, 66}};

    @Test
    void fullPixelArrayIsCroppedToTheActiveArray() throws Exception {
        // A 10 x 8 pixel array whose active array is columns 3..9, rows 1..7 (odd offsets, as
        // some sensors have); the masked border holds 4000, which must not reach the packing.
        int width = 10;
        int height = 8;
        int[] active = {3, 1, 9, 7};
        int pixelStride = 2;
        int rowStride = width * pixelStride + 6; // padded rows, as camera planes have
        ByteBuffer plane = ByteBuffer.allocate(rowStride * height).order(ByteOrder.LITTLE_ENDIAN);
        int activeWidth = active[2] - active[0];
        int activeHeight = active[3] - active[1];
        short[] inner = new short[activeWidth * activeHeight];
        for (int r = 0; r < height; r++) {
            for (int c = 0; c < width; c++) {
                boolean inside = c >= active[0] && c < active[2] && r >= active[1]
                        && r < active[3];
                short value = inside ? (short) (100 + 13 * r + 7 * c) : (short) 4000;
                plane.putShort(r * rowStride + c * pixelStride, value);
                if (inside) {
                    inner[(r - active[1]) * activeWidth + c - active[0]] = value;
                }
            }
        }
        ActiveArea area = ActiveArea.forCamera2(width, height, width, height, active, "cam");
        assertEquals(3, area.left);
        assertEquals(1, area.top);
        assertEquals(6, area.width);
        assertEquals(6, area.height);
        RawFrame cropped = new RawFrame(area.crop(plane, rowStride, pixelStride), area.width,
                area.height, rowStride, pixelStride, CfaPattern.GRBG, BLACK, 1023, null, 0,
                "cam");
        // The CFA and black pattern start at the active array's corner, as in the DNG
        // DngCreator writes (ActiveArea) and DngReader reads.
        RawFrame expected = RawFrame.fromSamples(inner, activeWidth, activeHeight,
                CfaPattern.GRBG, BLACK, 1023, "inner");
        assertEquals(100 + 13 + 21, cropped.sample(0, 0));
        assertArrayEquals(BayerPacker.pack(expected).data, BayerPacker.pack(cropped).data, 0f);
    }

    @Test
    void anImageAtTheActiveArraySizeIsKeptWhole() throws Exception {
        ActiveArea area = ActiveArea.forCamera2(4000, 3000, 4032, 3024,
                new int[] {16, 12, 4016, 3012}, "cam");
        assertTrue(area.isWhole(4000, 3000));
        ActiveArea unknown = ActiveArea.forCamera2(4032, 3024, 4032, 3024, null, "cam");
        assertTrue(unknown.isWhole(4032, 3024));
    }

    @Test
    void activeArrayOutsideThePixelArrayIsRefused() {
        LsidException error = assertThrows(LsidException.class, () ->
                ActiveArea.forCamera2(100, 80, 100, 80, new int[] {0, 0, 101, 80}, "camera 0"));
        assertTrue(error.getMessage().startsWith("camera 0:"), error.getMessage());
        assertThrows(LsidException.class, () ->
                ActiveArea.forCamera2(100, 80, 100, 80, new int[] {5, 5, 6, 80}, "camera 0"));
        assertThrows(LsidException.class, () ->
                ActiveArea.forCamera2(100, 80, 100, 80, new int[] {0, 0, 100}, "camera 0"));
    }
}
