package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Kept maps from an encoder output's type to a decoder input's. */
class RequantiserTest {
    private static final int[] SHAPE = {1, 2, 2, 1};

    @Test
    void int8TablesMatchPython() {
        Map<String, Object> document = Golden.json("requantise.json");
        List<Map<String, Object>> cases = ModelCardTest.list(document.get("cases"));
        assertTrue(cases.size() >= 4);
        for (Map<String, Object> c : cases) {
            Map<String, Object> from = ModelCardTest.list(List.of(c.get("encoder"))).get(0);
            Map<String, Object> to = ModelCardTest.list(List.of(c.get("decoder"))).get(0);
            byte[] table = Requantiser.table((Double) from.get("scale"),
                    Golden.integer(from.get("zero_point")), (Double) to.get("scale"),
                    Golden.integer(to.get("zero_point")));
            int[] want = Golden.integers(c.get("table"));
            for (int i = 0; i < 256; i++) {
                assertEquals(want[i], table[i], c.get("name") + " code " + (i - 128));
            }
        }
    }

    @Test
    void int8MapsGoThroughTheTable() {
        TensorSpec from = new TensorSpec("enc", "int8", SHAPE, 0.25, -3);
        TensorSpec to = new TensorSpec("dec", "int8", SHAPE, 0.5, 5);
        Requantiser map = new Requantiser(from, to);
        TensorData into = map.newTarget();
        map.convert(TensorData.ofInt8(from, new byte[] {-128, -126, -3, 127}), into);
        // (q + 3) * 0.5: -62.5 -> -62 (half to even), -61.5 -> -62, 0, 65 -> +5.
        assertArrayEquals(new byte[] {-57, -57, 5, 70}, into.int8());
    }

    @Test
    void int8ToFloatDequantisesAndFloatToInt8Quantises() {
        TensorSpec int8 = new TensorSpec("q", "int8", SHAPE, 0.5, 2);
        TensorSpec floats = new TensorSpec("f", "float32", SHAPE, 0, 0);
        Requantiser down = new Requantiser(int8, floats);
        float[] real = down.convert(TensorData.ofInt8(int8, new byte[] {-128, 2, 3, 127}),
                down.newTarget()).floats();
        assertArrayEquals(new float[] {-65f, 0f, 0.5f, 62.5f}, real, 0f);
        Requantiser up = new Requantiser(floats, int8);
        byte[] codes = up.convert(TensorData.ofFloats(floats, new float[] {-100f, 0f, 0.25f,
            1f}), up.newTarget()).int8();
        // TensorSpec.quantize: 0.25 / 0.5 = 0.5 rounds away from zero.
        assertArrayEquals(new byte[] {-128, 2, 3, 4}, codes);
        Requantiser same = new Requantiser(floats, new TensorSpec("g", "float32", SHAPE, 0, 0));
        float[] values = {1.5f, -2f, 3f, 0.25f};
        assertArrayEquals(values, same.convert(TensorData.ofFloats(floats, values),
                same.newTarget()).floats(), 0f);
    }

    @Test
    void floatMapsAreKeptAsHalvesAndWidenedOrQuantisedForTheDecoder() {
        TensorSpec floats = new TensorSpec("f", "float32", SHAPE, 0, 0);
        TensorData encoded = TensorData.ofFloats(floats, new float[] {0.1f, -2.5f, 70000f,
            1f + 0x1p-11f});
        assertEquals(16, encoded.bytes());
        TensorData kept = encoded.kept();
        assertTrue(encoded.isReleased(), "the encoder's floats are dropped once halved");
        assertTrue(kept.isHalves() && !kept.isInt8());
        assertEquals(8, kept.bytes());
        // 0.1 -> 0x2e66, -2.5 exact, 70000 overflows, 1 + 2^-11 ties to even 1.
        assertArrayEquals(new short[] {0x2e66, (short) 0xc100, 0x7c00, 0x3c00}, kept.halves());
        assertEquals(0.0999755859375f, kept.real(0), 0f);
        assertTrue(kept.kept() == kept);
        Requantiser same = new Requantiser(floats, new TensorSpec("g", "float32", SHAPE, 0, 0));
        assertArrayEquals(new float[] {0.0999755859375f, -2.5f, Float.POSITIVE_INFINITY, 1f},
                same.convert(kept, same.newTarget()).floats(), 0f);
        // To int8 from the widened value: 0.0999755859375 / 0.5 = 0.19995... -> 0, + 2.
        TensorSpec int8 = new TensorSpec("q", "int8", SHAPE, 0.5, 2);
        Requantiser up = new Requantiser(floats, int8);
        assertArrayEquals(new byte[] {2, -3, 127, 4}, up.convert(kept, up.newTarget()).int8());
        TensorData codes = TensorData.ofInt8(int8, new byte[4]);
        assertTrue(codes.kept() == codes, "int8 maps are kept as their bytes");
        assertEquals(4, codes.bytes());
        assertThrows(IllegalArgumentException.class, () -> TensorData.ofHalves(int8,
                new short[4]));
        IllegalStateException notHalves = assertThrows(IllegalStateException.class,
                TensorData.ofFloats(floats, new float[4])::halves);
        assertTrue(notHalves.getMessage().contains("holds no float16 values"),
                notHalves.getMessage());
        kept.release();
        assertThrows(IllegalStateException.class, kept::halves);
        assertThrows(IllegalStateException.class, kept::kept);
    }

    @Test
    void mismatchesAreRefused() {
        TensorSpec int8 = new TensorSpec("q", "int8", SHAPE, 0.5, 2);
        assertThrows(IllegalArgumentException.class, () -> new Requantiser(int8,
                new TensorSpec("q", "int8", new int[] {1, 2, 1, 2}, 0.5, 2)));
        assertThrows(IllegalArgumentException.class, () -> new Requantiser(int8,
                new TensorSpec("u", "uint8", SHAPE, 0.5, 2)));
        Requantiser map = new Requantiser(int8, int8);
        TensorSpec other = new TensorSpec("r", "int8", SHAPE, 0.25, 2);
        assertThrows(IllegalArgumentException.class,
                () -> map.convert(TensorData.ofInt8(other, new byte[4]), map.newTarget()));
        assertThrows(IllegalArgumentException.class, () -> TensorData.ofInt8(int8, new byte[3]));
        assertThrows(IllegalArgumentException.class, () -> TensorData.ofFloats(int8,
                new float[4]));
        TensorData released = TensorData.ofInt8(int8, new byte[4]);
        released.release();
        IllegalStateException gone = assertThrows(IllegalStateException.class,
                released::int8);
        assertTrue(gone.getMessage().contains("was released"), gone.getMessage());
    }
}
