package org.lsid.core;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the golden vectors that {@code scripts/make_golden_vectors.py} writes with the Python
 * package (test resources under {@code golden/}): JSON files and NumPy {@code .npy} arrays.
 */
final class Golden {
    private Golden() {
    }

    /** A NumPy array: its dtype descriptor, shape and little-endian data. */
    static final class Array {
        final String descr;
        final int[] shape;
        final ByteBuffer data;

        Array(String descr, int[] shape, ByteBuffer data) {
            this.descr = descr;
            this.shape = shape;
            this.data = data;
        }

        int size() {
            int size = 1;
            for (int v : shape) {
                size *= v;
            }
            return size;
        }

        float[] floats() {
            if (!"<f4".equals(descr)) {
                throw new IllegalStateException("expected float32, found " + descr);
            }
            float[] out = new float[size()];
            data.asFloatBuffer().get(out);
            return out;
        }

        /** 8-bit codes as ints 0..255. */
        int[] uint8() {
            if (!"|u1".equals(descr) && !"<u1".equals(descr)) {
                throw new IllegalStateException("expected uint8, found " + descr);
            }
            int[] out = new int[size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = data.get(i) & 0xFF;
            }
            return out;
        }

        short[] uint16() {
            if (!"<u2".equals(descr)) {
                throw new IllegalStateException("expected uint16, found " + descr);
            }
            short[] out = new short[size()];
            data.asShortBuffer().get(out);
            return out;
        }

        /** 32-bit unsigned values as the ints with their bits (e.g. float32 bit patterns). */
        int[] uint32() {
            if (!"<u4".equals(descr)) {
                throw new IllegalStateException("expected uint32, found " + descr);
            }
            int[] out = new int[size()];
            data.asIntBuffer().get(out);
            return out;
        }
    }

    static byte[] bytes(String name) {
        try (InputStream in = Golden.class.getResourceAsStream("/golden/" + name)) {
            if (in == null) {
                throw new IllegalStateException("golden/" + name + " is not on the class path; "
                        + "run scripts/make_golden_vectors.py");
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] chunk = new byte[8192];
            for (int n; (n = in.read(chunk)) > 0; ) {
                out.write(chunk, 0, n);
            }
            return out.toByteArray();
        } catch (IOException error) {
            throw new IllegalStateException("golden/" + name + ": " + error, error);
        }
    }

    static String text(String name) {
        return new String(bytes(name), StandardCharsets.UTF_8);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> json(String name) {
        return (Map<String, Object>) Json.parse(text(name));
    }

    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([^']+)'");
    private static final Pattern ORDER = Pattern.compile("'fortran_order':\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

    /** A version 1.0 / 2.0 {@code .npy} file in C order. */
    static Array npy(String name) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes(name)).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[6];
        buffer.get(magic);
        if (!"\u0093NUMPY".equals(new String(magic, StandardCharsets.ISO_8859_1))) {
            throw new IllegalStateException(name + ": not a .npy file");
        }
        int major = buffer.get();
        buffer.get();
        int headerLength = major == 1 ? buffer.getShort() & 0xFFFF : buffer.getInt();
        byte[] header = new byte[headerLength];
        buffer.get(header);
        String dict = new String(header, StandardCharsets.ISO_8859_1);
        Matcher descr = DESCR.matcher(dict);
        Matcher order = ORDER.matcher(dict);
        Matcher shape = SHAPE.matcher(dict);
        if (!descr.find() || !order.find() || !shape.find() || order.group(1).equals("True")) {
            throw new IllegalStateException(name + ": unexpected .npy header " + dict);
        }
        String[] dims = shape.group(1).split(",");
        int count = 0;
        int[] sizes = new int[dims.length];
        for (String dim : dims) {
            if (!dim.trim().isEmpty()) {
                sizes[count++] = Integer.parseInt(dim.trim());
            }
        }
        int[] exact = java.util.Arrays.copyOf(sizes, count);
        ByteBuffer data = buffer.slice().order(ByteOrder.LITTLE_ENDIAN);
        return new Array(descr.group(1), exact, data);
    }

    /** A parsed golden JSON file as a mutable tree (maps and lists), for tests to alter. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> mutableJson(String name) {
        return (Map<String, Object>) Json.parse(text(name));
    }

    /** JSON text of a tree of maps, lists, strings, numbers, booleans and nulls. */
    static String toJson(Object value) {
        StringBuilder out = new StringBuilder();
        write(value, out);
        return out.toString();
    }

    private static void write(Object value, StringBuilder out) {
        if (value instanceof Map) {
            out.append('{');
            String comma = "";
            for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
                out.append(comma);
                write(String.valueOf(entry.getKey()), out);
                out.append(':');
                write(entry.getValue(), out);
                comma = ",";
            }
            out.append('}');
        } else if (value instanceof List) {
            out.append('[');
            String comma = "";
            for (Object item : (List<?>) value) {
                out.append(comma);
                write(item, out);
                comma = ",";
            }
            out.append(']');
        } else if (value instanceof String) {
            out.append('"');
            for (char c : ((String) value).toCharArray()) {
                if (c == '"' || c == '\\') {
                    out.append('\\').append(c);
                } else if (c < 0x20) {
                    out.append(String.format("\\u%04x", (int) c));
                } else {
                    out.append(c);
                }
            }
            out.append('"');
        } else {
            out.append(value); // Double, Boolean, null
        }
    }

    static int integer(Object number) {
        return (int) (double) (Double) number;
    }

    static int[] integers(Object list) {
        List<?> values = (List<?>) list;
        int[] out = new int[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = integer(values.get(i));
        }
        return out;
    }

    /** {@code got} equals {@code expected} within {@code rtol} of its largest magnitude
     * (both null passes; one null fails). */
    static void assertClose(double[] expected, double[] got, double rtol, String what) {
        if (expected == null) {
            org.junit.jupiter.api.Assertions.assertNull(got, what);
            return;
        }
        org.junit.jupiter.api.Assertions.assertNotNull(got, what);
        double scale = 0;
        for (double v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, got, rtol * scale, what);
    }
}
