package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class RawFrameTest {
    private static final double[][] BLACK = {{64, 64}, {64, 64}};

    @Test
    void rowAndPixelStridesAreHonoured() throws Exception {
        int width = 6;
        int height = 4;
        short[] mosaic = new short[width * height];
        for (int i = 0; i < mosaic.length; i++) {
            mosaic[i] = (short) (100 + 37 * i);
        }
        RawFrame tight = RawFrame.fromSamples(mosaic, width, height, CfaPattern.GBRG, BLACK,
                1023, "tight");
        // The same samples as a camera plane may lay them out: 4 bytes per pixel, 8 bytes of
        // padding at the end of every row.
        int pixelStride = 4;
        int rowStride = width * pixelStride + 8;
        ByteBuffer plane = ByteBuffer.allocate(rowStride * height).order(ByteOrder.LITTLE_ENDIAN);
        for (int r = 0; r < height; r++) {
            for (int c = 0; c < width; c++) {
                plane.putShort(r * rowStride + c * pixelStride, mosaic[r * width + c]);
                plane.putShort(r * rowStride + c * pixelStride + 2, (short) 0x7FFF);
            }
        }
        RawFrame strided = new RawFrame(plane, width, height, rowStride, pixelStride,
                CfaPattern.GBRG, BLACK, 1023, null, 0, "strided");
        assertArrayEquals(BayerPacker.pack(tight).data, BayerPacker.pack(strided).data, 0f);
        assertEquals(1, BayerPacker.packedHeight(strided)); // GBRG drops the first row
        assertEquals(3, BayerPacker.packedWidth(strided));
    }

    @Test
    void samplesAreUnsigned() throws Exception {
        RawFrame frame = RawFrame.fromSamples(new short[] {(short) 65535, 0, 0, 0}, 2, 2,
                CfaPattern.RGGB, BLACK, 70000, "unsigned");
        assertEquals(65535, frame.sample(0, 0));
    }

    @Test
    void perPositionBlackLevelsFollowTheCfaPhase() throws Exception {
        // BGGR: the aligned RGGB cell starts at (1, 1), so red's black is the one listed at
        // (1, 1) of the mosaic's top-left cell, blue's at (0, 0).
        double[][] black = {{10, 20}, {30, 40}};
        short[] mosaic = new short[4 * 4];
        java.util.Arrays.fill(mosaic, (short) 140);
        RawFrame frame = RawFrame.fromSamples(mosaic, 4, 4, CfaPattern.BGGR, black, 140,
                "bggr");
        PackedImage packed = BayerPacker.pack(frame);
        float[] first = java.util.Arrays.copyOfRange(packed.data, 0, 4);
        // R at black 40, G(0,1) at (1,0)->30, B at 10, G(1,0) at (0,1)->20; all at 140 = white.
        assertArrayEquals(new float[] {1f, 1f, 1f, 1f}, first, 0f);
        RawFrame half = RawFrame.fromSamples(filled(16, 90), 4, 4, CfaPattern.BGGR, black, 140,
                "bggr");
        float[] got = java.util.Arrays.copyOfRange(BayerPacker.pack(half).data, 0, 4);
        assertArrayEquals(new float[] {50f / 100, 60f / 110, 80f / 130, 70f / 120}, got, 1e-7f);
    }

    private static short[] filled(int n, int value) {
        short[] out = new short[n];
        java.util.Arrays.fill(out, (short) value);
        return out;
    }

    @Test
    void badFramesAreOneMessageNamingTheSource() {
        LsidException levels = assertThrows(LsidException.class, () -> RawFrame.fromSamples(
                new short[4], 2, 2, CfaPattern.RGGB, BLACK, 64, "cam0"));
        assertTrue(levels.getMessage().startsWith("cam0: white level 64.0 must exceed"),
                levels.getMessage());
        LsidException stride = assertThrows(LsidException.class, () -> new RawFrame(
                ByteBuffer.allocate(64), 8, 2, 10, 2, CfaPattern.RGGB, BLACK, 1023, null, 0,
                "cam1"));
        assertTrue(stride.getMessage().startsWith("cam1: pixel stride 2 / row stride 10"),
                stride.getMessage());
        LsidException small = assertThrows(LsidException.class, () -> new RawFrame(
                ByteBuffer.allocate(10), 4, 4, 8, 2, CfaPattern.RGGB, BLACK, 1023, null, 0,
                "cam2"));
        assertTrue(small.getMessage().startsWith("cam2: 10 bytes of samples"), small.getMessage());
        LsidException tiny = assertThrows(LsidException.class, () -> BayerPacker.pack(
                RawFrame.fromSamples(new short[4], 2, 2, CfaPattern.BGGR, BLACK, 1023, "cam3")));
        assertTrue(tiny.getMessage().startsWith("cam3: 2 x 2 pixels hold no whole BGGR cell"),
                tiny.getMessage());
    }

    @Test
    void cfaFromCamera2AndFromColours() throws Exception {
        assertEquals(CfaPattern.GRBG, CfaPattern.fromCamera2(1, "cam"));
        assertEquals(CfaPattern.BGGR, CfaPattern.fromCamera2(3, "cam"));
        LsidException mono = assertThrows(LsidException.class,
                () -> CfaPattern.fromCamera2(5, "cam4"));
        assertEquals("cam4: colour filter arrangement monochrome is not a 2x2 Bayer pattern "
                + "(RGGB, GRBG, GBRG, BGGR)", mono.getMessage());
        assertEquals(CfaPattern.GBRG, CfaPattern.fromColours(new int[][] {{1, 2}, {0, 1}}, "f"));
        LsidException bad = assertThrows(LsidException.class,
                () -> CfaPattern.fromColours(new int[][] {{0, 0}, {1, 2}}, "x.dng"));
        assertTrue(bad.getMessage().startsWith("x.dng: colour filter array RR/GB"),
                bad.getMessage());
    }

    @Test
    void previewIsBrightenedAndSrgbEncoded() {
        PackedImage packed = new PackedImage(1, 2, 4, new float[] {
            0.001f, 0.002f, 0.003f, 0.004f, 0.5f, 0.5f, 0.5f, 0.5f});
        int[] argb = RawPreview.toArgb(packed, 100f, new float[] {2f, 1f, 1.5f});
        assertEquals(0xFF000000 | (RawPreview.encode(0.2f) << 16) | (RawPreview.encode(0.3f) << 8)
                | RawPreview.encode(0.45f), argb[0]);
        assertEquals(0xFFFFFFFF, argb[1]); // clipped
        assertEquals(188, RawPreview.encode(0.5f)); // sRGB of mid linear grey
    }
}
