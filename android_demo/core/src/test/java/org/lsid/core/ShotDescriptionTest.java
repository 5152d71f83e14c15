package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The capture's description as the app writes it into the DNG, read back by {@link DngReader}
 * and parsed for the planned ratio. {@code write_dng} writes no ImageDescription, so the DNGs
 * with one are the golden DNG with the tag added here.
 */
class ShotDescriptionTest {
    private static final long MIN_NS = 10_000L;
    private static final long MAX_NS = 32_000_000_000L;

    @SuppressWarnings("unchecked")
    private static byte[] goldenDng() {
        Map<String, Object> dng = ((List<Map<String, Object>>) Golden.json("dng.json")
                .get("cases")).get(0);
        return Golden.bytes((String) dng.get("file"));
    }

    /**
     * The DNG with an ImageDescription (ASCII, {@code count} bytes from {@code value}, the
     * caller's NULs included) added to its first IFD: the IFD is rewritten at the end of the
     * file with the new entry in tag order and the header pointed at it; the old entries'
     * values stay where they are.
     */
    static byte[] withDescription(byte[] data, byte[] value) {
        ByteBuffer in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        if (in.get(0) != 'I') {
            throw new IllegalStateException("the golden DNG is little-endian");
        }
        int ifd = in.getInt(4);
        int count = in.getShort(ifd) & 0xFFFF;
        int next = in.getInt(ifd + 2 + 12 * count);
        int start = (data.length + 3) & ~3;
        int ifdSize = 2 + 12 * (count + 1) + 4;
        int valueAt = start + ifdSize;
        ByteBuffer out = ByteBuffer.allocate(valueAt + value.length)
                .order(ByteOrder.LITTLE_ENDIAN);
        out.put(data);
        out.putInt(4, start);
        out.putShort(start, (short) (count + 1));
        int at = start + 2;
        boolean added = false;
        for (int i = 0; i <= count; i++) {
            int old = ifd + 2 + 12 * i;
            if (!added && (i == count || (in.getShort(old) & 0xFFFF) > 270)) {
                out.putShort(at, (short) 270);
                out.putShort(at + 2, (short) 2);
                out.putInt(at + 4, value.length);
                if (value.length <= 4) {
                    for (int k = 0; k < value.length; k++) {
                        out.put(at + 8 + k, value[k]);
                    }
                } else {
                    out.putInt(at + 8, valueAt);
                    for (int k = 0; k < value.length; k++) {
                        out.put(valueAt + k, value[k]);
                    }
                }
                at += 12;
                added = true;
            }
            if (i < count) {
                for (int k = 0; k < 12; k++) {
                    out.put(at + k, data[old + k]);
                }
                at += 12;
            }
        }
        out.putInt(at, next);
        return out.array();
    }

    private static byte[] ascii(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        byte[] withNul = new byte[bytes.length + 1];
        System.arraycopy(bytes, 0, withNul, 0, bytes.length);
        return withNul;
    }

    private static RawFrame read(byte[] file) throws LsidException {
        return DngReader.read(ByteBuffer.wrap(file), "shot.dng");
    }

    @Test
    void theAppsTextIsWhatItWroteBefore() throws Exception {
        ExposurePlanner planner = new ExposurePlanner(MIN_NS, MAX_NS, 50, 6400,
                ExposurePlanner.HANDHELD_LIMIT_NS);
        // Metered 1/30 s at ISO 1600, x100: the time takes the ratio (1/3000 s).
        ExposurePlanner.Plan plan = planner.plan(33_333_333L, 1600, 100, 100);
        assertEquals("lsid demo night: 1/3000 s at ISO 1600, x100.0",
                ShotDescription.forDng(ShotDescription.night(plan)));
        assertEquals("auto: 1/30 s at ISO 800", ShotDescription.auto(33_333_333L, 800));
        assertEquals("auto: 1/1000000000 s at ISO ?", ShotDescription.auto(0, null));
    }

    @Test
    void plannedRatioComesFromANightShotsTextOnly() throws Exception {
        assertEquals(98.7, ShotDescription.plannedRatio(
                "lsid demo night: 1/250 s at ISO 1600, x98.7"), 0.0);
        // Clamped plans say what was asked; the ratio is still the realised one.
        assertEquals(31.2, ShotDescription.plannedRatio(
                "lsid demo night: 1/30 s at ISO 6400, x31.2 (asked x100)"), 0.0);
        assertNull(ShotDescription.plannedRatio(null));
        assertNull(ShotDescription.plannedRatio(""));
        assertNull(ShotDescription.plannedRatio("lsid demo auto: 1/30 s at ISO 800"));
        assertNull(ShotDescription.plannedRatio("night: 1/250 s at ISO 1600, x98.7"));
        assertNull(ShotDescription.plannedRatio("lsid demo night: 1/250 s at ISO 1600, x98.7 "));
        assertNull(ShotDescription.plannedRatio("Another app, x98.7"));
        assertNull(ShotDescription.plannedRatio("lsid demo night: 1/250 s at ISO 1600, x0.0"));
        // Every plan the planner makes reads back as its ratio to the text's 0.1.
        ExposurePlanner planner = new ExposurePlanner(MIN_NS, MAX_NS, 50, 6400,
                ExposurePlanner.HANDHELD_LIMIT_NS);
        long[] metered = {1_000_000L, 10_000_000L, 33_333_333L, 100_000_000L, 1_000_000_000L};
        int[] isos = {50, 400, 1600, 6400};
        for (long exposure : metered) {
            for (int iso : isos) {
                for (double target : new double[] {1, 2.5, 100, 250, 300}) {
                    ExposurePlanner.Plan plan = planner.plan(exposure, iso, 100, target);
                    String text = ShotDescription.forDng(ShotDescription.night(plan));
                    Double read = ShotDescription.plannedRatio(text);
                    assertEquals(plan.ratio, read, 0.05 + 1e-9, text);
                }
            }
        }
    }

    @Test
    void dngReaderReadsTheImageDescription() throws Exception {
        byte[] golden = goldenDng();
        assertNull(read(golden).description);
        String text = "lsid demo night: 1/250 s at ISO 1600, x98.7 (asked x100)";
        RawFrame frame = read(withDescription(golden, ascii(text)));
        assertEquals(text, frame.description);
        // The rest of the frame is the golden one's.
        RawFrame plain = read(golden);
        assertArrayEquals(BayerPacker.pack(plain).data, BayerPacker.pack(frame).data, 0f);
        assertEquals(plain.exposureTimeNs, frame.exposureTimeNs);
        assertEquals(plain.orientation, frame.orientation);
        // Short values sit in the entry itself; the text ends at the first NUL; no NUL at
        // all (a careless writer) still reads; UTF-8 as DngCreator stores a Java string.
        assertEquals("abc", read(withDescription(golden, ascii("abc"))).description);
        assertEquals("one", read(withDescription(golden,
                "one\0two\0".getBytes(StandardCharsets.US_ASCII))).description);
        assertEquals("no nul", read(withDescription(golden,
                "no nul".getBytes(StandardCharsets.US_ASCII))).description);
        assertEquals("", read(withDescription(golden, new byte[] {0})).description);
        assertEquals("Zürich", read(withDescription(golden, ascii("Zürich"))).description);
    }

    @Test
    void aReopenedNightShotStartsOnItsPlannedRatio() throws Exception {
        byte[] golden = goldenDng();
        RawFrame night = read(withDescription(golden,
                ascii("lsid demo night: 1/250 s at ISO 1600, x98.7")));
        Double planned = ShotDescription.plannedRatio(night.description);
        assertEquals(98.7, planned, 0.0);
        assertEquals(RatioChoice.Mode.PLANNED, RatioChoice.defaultFor(planned));
        assertEquals(98.7, RatioChoice.resolve(RatioChoice.defaultFor(planned), planned, 100,
                () -> { throw new AssertionError("auto asked for"); }), 0.0);
        // An auto-exposed capture, another app's DNG, no description: auto ratio.
        for (byte[] file : new byte[][] {golden,
                withDescription(golden, ascii("lsid demo auto: 1/30 s at ISO 800")),
                withDescription(golden, ascii("Pixel 8 Pro"))}) {
            Double none = ShotDescription.plannedRatio(read(file).description);
            assertNull(none);
            assertEquals(RatioChoice.Mode.AUTO, RatioChoice.defaultFor(none));
        }
    }
}
