package org.lsid.core;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Reads the Bayer mosaic of an uncompressed 16-bit CFA DNG (what Android's {@code DngCreator}
 * writes, and {@code lsid_keras.raw.dng.write_dng}) into a {@link RawFrame}: strips or tiles,
 * either byte order, the raw image found in the IFD chain or its SubIFDs, cropped to the
 * ActiveArea, with CFAPattern, BlackLevel (scalar or 2x2 pattern), WhiteLevel, AsShotNeutral,
 * ExposureTime, ColorMatrix, Orientation (as LibRaw's flip code, {@link Orientation}) and
 * ImageDescription (the text; {@link ShotDescription} reads this app's planned ratio from it).
 *
 * <p>Android has no decoder that returns a DNG's mosaic, so the app reads picked files with
 * this. Compressed DNGs (lossless JPEG, most camera apps other than the platform's), linearised
 * or non-Bayer files are refused with one message naming the file and the reason.
 */
public final class DngReader {
    /** The largest frame accepted, as the Python reader's {@code MAX_PIXELS}. */
    public static final long MAX_PIXELS = 200_000_000L;

    private static final int NEW_SUBFILE_TYPE = 254;
    private static final int IMAGE_WIDTH = 256;
    private static final int IMAGE_LENGTH = 257;
    private static final int BITS_PER_SAMPLE = 258;
    private static final int COMPRESSION = 259;
    private static final int PHOTOMETRIC = 262;
    private static final int IMAGE_DESCRIPTION = 270;
    private static final int STRIP_OFFSETS = 273;
    private static final int SAMPLES_PER_PIXEL = 277;
    private static final int ROWS_PER_STRIP = 278;
    private static final int STRIP_BYTE_COUNTS = 279;
    private static final int TILE_WIDTH = 322;
    private static final int TILE_LENGTH = 323;
    private static final int TILE_OFFSETS = 324;
    private static final int SUB_IFDS = 330;
    private static final int CFA_REPEAT_PATTERN_DIM = 33421;
    private static final int CFA_PATTERN = 33422;
    private static final int EXPOSURE_TIME = 33434;
    private static final int EXIF_IFD = 34665;
    private static final int DNG_VERSION = 50706;
    private static final int LINEARIZATION_TABLE = 50712;
    private static final int BLACK_LEVEL_REPEAT_DIM = 50713;
    private static final int BLACK_LEVEL = 50714;
    private static final int WHITE_LEVEL = 50717;
    private static final int AS_SHOT_NEUTRAL = 50728;
    private static final int ACTIVE_AREA = 50829;
    private static final int COLOR_MATRIX_1 = 50721;
    private static final int COLOR_MATRIX_2 = 50722;
    private static final int CALIBRATION_ILLUMINANT_1 = 50778;
    private static final int CALIBRATION_ILLUMINANT_2 = 50779;
    private static final int CFA_PHOTOMETRIC = 32803;
    private static final int MAX_IFDS = 64;
    private static final int MAX_VALUES = 1 << 20;

    private final ByteBuffer file;
    private final String source;

    private DngReader(ByteBuffer file, String source) {
        this.file = file;
        this.source = source;
    }

    /**
     * Reads a whole DNG file.
     *
     * @param file the file's bytes (position 0 is the file's start; not modified)
     * @param source the file name, which starts every error message
     * @throws LsidException not a DNG, no CFA image, an unsupported encoding, or a truncated
     *     or inconsistent file
     */
    public static RawFrame read(ByteBuffer file, String source) throws LsidException {
        DngReader reader = new DngReader(file.duplicate(), source);
        try {
            return reader.frame();
        } catch (IndexOutOfBoundsException | IllegalArgumentException
                | java.nio.BufferUnderflowException error) {
            throw new LsidException(source + ": truncated or malformed DNG (" + error + ")");
        }
    }

    private LsidException error(String message) {
        return new LsidException(source + ": " + message);
    }

    /** One IFD entry: type, count and where its values are. */
    private static final class Entry {
        final int type;
        final long count;
        final int valueOffset;

        Entry(int type, long count, int valueOffset) {
            this.type = type;
            this.count = count;
            this.valueOffset = valueOffset;
        }
    }

    private static int typeSize(int type) {
        switch (type) {
            case 1: case 2: case 6: case 7:
                return 1;
            case 3: case 8:
                return 2;
            case 4: case 9: case 11: case 13:
                return 4;
            case 5: case 10: case 12:
                return 8;
            default:
                return 0;
        }
    }

    private Map<Integer, Entry> ifd(int offset, long[] next) throws LsidException {
        int count = file.getShort(offset) & 0xFFFF;
        Map<Integer, Entry> entries = new HashMap<>();
        for (int i = 0; i < count; i++) {
            int at = offset + 2 + 12 * i;
            int tag = file.getShort(at) & 0xFFFF;
            int type = file.getShort(at + 2) & 0xFFFF;
            long n = file.getInt(at + 4) & 0xFFFFFFFFL;
            int size = typeSize(type);
            if (size == 0 || n > MAX_VALUES) {
                continue; // unknown types and absurd counts: tags this reader does not need
            }
            int valueOffset = size * n <= 4 ? at + 8 : file.getInt(at + 8);
            if (valueOffset < 0 || valueOffset + size * n > file.capacity()) {
                throw error("truncated or malformed DNG (tag " + tag
                        + " points outside the file)");
            }
            entries.put(tag, new Entry(type, n, valueOffset));
        }
        next[0] = file.getInt(offset + 2 + 12 * count) & 0xFFFFFFFFL;
        return entries;
    }

    private double[] values(Entry entry) {
        int size = typeSize(entry.type);
        double[] out = new double[(int) entry.count];
        for (int i = 0; i < out.length; i++) {
            int at = entry.valueOffset + i * size;
            switch (entry.type) {
                case 1: case 7:
                    out[i] = file.get(at) & 0xFF;
                    break;
                case 6:
                    out[i] = file.get(at);
                    break;
                case 3:
                    out[i] = file.getShort(at) & 0xFFFF;
                    break;
                case 8:
                    out[i] = file.getShort(at);
                    break;
                case 4: case 13:
                    out[i] = file.getInt(at) & 0xFFFFFFFFL;
                    break;
                case 9:
                    out[i] = file.getInt(at);
                    break;
                case 5: {
                    long den = file.getInt(at + 4) & 0xFFFFFFFFL;
                    out[i] = den == 0 ? 0 : (file.getInt(at) & 0xFFFFFFFFL) / (double) den;
                    break;
                }
                case 10: {
                    int den = file.getInt(at + 4);
                    out[i] = den == 0 ? 0 : file.getInt(at) / (double) den;
                    break;
                }
                case 11:
                    out[i] = file.getFloat(at);
                    break;
                case 12:
                    out[i] = file.getDouble(at);
                    break;
                default:
                    out[i] = 0;
            }
        }
        return out;
    }

    private double[] values(Map<Integer, Entry> entries, int tag) {
        Entry entry = entries.get(tag);
        return entry == null ? null : values(entry);
    }

    private double scalar(Map<Integer, Entry> entries, int tag, double fallback) {
        double[] v = values(entries, tag);
        return v == null || v.length == 0 ? fallback : v[0];
    }

    private RawFrame frame() throws LsidException {
        if (file.capacity() < 8) {
            throw error("not a DNG file (" + file.capacity() + " bytes)");
        }
        byte b0 = file.get(0);
        byte b1 = file.get(1);
        if (b0 == 'I' && b1 == 'I') {
            file.order(ByteOrder.LITTLE_ENDIAN);
        } else if (b0 == 'M' && b1 == 'M') {
            file.order(ByteOrder.BIG_ENDIAN);
        } else {
            throw error("not a DNG file (no TIFF header)");
        }
        if ((file.getShort(2) & 0xFFFF) != 42) {
            throw error("not a DNG file (not a classic TIFF)");
        }
        Deque<Long> pending = new ArrayDeque<>();
        pending.add(file.getInt(4) & 0xFFFFFFFFL);
        Set<Long> seen = new HashSet<>();
        Map<Integer, Entry> first = null;
        Map<Integer, Entry> raw = null;
        long[] next = new long[1];
        while (!pending.isEmpty() && seen.size() < MAX_IFDS && raw == null) {
            long offset = pending.poll();
            if (offset + 2 > file.capacity()) {
                throw error("truncated or malformed DNG (an IFD at byte " + offset + " of a "
                        + file.capacity() + "-byte file)");
            }
            if (offset == 0 || !seen.add(offset)) {
                continue;
            }
            Map<Integer, Entry> entries = ifd((int) offset, next);
            if (first == null) {
                first = entries;
                if (!entries.containsKey(DNG_VERSION)) {
                    throw error("not a DNG file (TIFF without DNGVersion)");
                }
            }
            if (scalar(entries, NEW_SUBFILE_TYPE, 0) == 0
                    && scalar(entries, PHOTOMETRIC, -1) == CFA_PHOTOMETRIC) {
                raw = entries;
                break;
            }
            double[] subs = values(entries, SUB_IFDS);
            if (subs != null) {
                for (double sub : subs) {
                    pending.add((long) sub);
                }
            }
            pending.add(next[0]);
        }
        if (raw == null) {
            throw error("no full-resolution CFA image (a linear or demosaicked DNG?); this app "
                    + "needs a Bayer mosaic");
        }
        return frameFrom(first, raw);
    }

    private RawFrame frameFrom(Map<Integer, Entry> first, Map<Integer, Entry> raw)
            throws LsidException {
        int width = (int) scalar(raw, IMAGE_WIDTH, 0);
        int height = (int) scalar(raw, IMAGE_LENGTH, 0);
        if (width < 2 || height < 2 || (long) width * height > MAX_PIXELS) {
            throw error("image of " + width + " x " + height + " pixels; expected 2 x 2 to "
                    + MAX_PIXELS + " pixels");
        }
        int compression = (int) scalar(raw, COMPRESSION, 1);
        if (compression != 1) {
            throw error("compressed DNG (compression " + compression + (compression == 7
                    ? ", lossless JPEG" : "") + "); this app reads uncompressed DNGs such as "
                    + "Android's DngCreator writes");
        }
        int bits = (int) scalar(raw, BITS_PER_SAMPLE, 0);
        if (bits != 16 || scalar(raw, SAMPLES_PER_PIXEL, 1) != 1) {
            throw error(bits + "-bit samples; this app reads 16-bit single-channel mosaics");
        }
        if (raw.containsKey(LINEARIZATION_TABLE)) {
            throw error("DNG with a linearization table is not supported");
        }
        double[] dim = values(raw, CFA_REPEAT_PATTERN_DIM);
        double[] pattern = values(raw, CFA_PATTERN);
        if (dim == null || pattern == null || dim.length != 2 || dim[0] != 2 || dim[1] != 2
                || pattern.length != 4) {
            throw error("CFA pattern is not 2x2 (X-Trans or other mosaics are not supported "
                    + "on Android)");
        }
        short[] full = samples(raw, width, height);
        double[] area = values(raw, ACTIVE_AREA);
        int top = 0;
        int left = 0;
        int bottom = height;
        int right = width;
        if (area != null && area.length == 4) {
            top = (int) area[0];
            left = (int) area[1];
            bottom = (int) area[2];
            right = (int) area[3];
            if (top < 0 || left < 0 || bottom > height || right > width || bottom - top < 2
                    || right - left < 2) {
                throw error("ActiveArea " + top + "," + left + "," + bottom + "," + right
                        + " lies outside the " + width + " x " + height + " image");
            }
        }
        int activeWidth = right - left;
        int activeHeight = bottom - top;
        short[] mosaic = new short[activeWidth * activeHeight];
        for (int r = 0; r < activeHeight; r++) {
            System.arraycopy(full, (top + r) * width + left, mosaic, r * activeWidth,
                    activeWidth);
        }
        // The CFA and black level patterns start at the ActiveArea's top-left corner (as the
        // DNG SDK applies them to the cropped stage-2 image), which is the frame's origin.
        int[][] cell = new int[2][2];
        for (int r = 0; r < 2; r++) {
            for (int c = 0; c < 2; c++) {
                cell[r][c] = (int) pattern[r * 2 + c];
            }
        }
        CfaPattern cfa = CfaPattern.fromColours(cell, source);
        double[][] black = blackLevels(raw);
        double white = scalar(raw, WHITE_LEVEL, 65535);
        RawFrame frame = RawFrame.fromSamples(mosaic, activeWidth, activeHeight, cfa, black,
                white, source);
        double[] neutral = values(raw, AS_SHOT_NEUTRAL);
        if (neutral == null) {
            neutral = values(first, AS_SHOT_NEUTRAL);
        }
        float[] gains = null;
        if (neutral != null && neutral.length == 3 && neutral[0] > 0 && neutral[1] > 0
                && neutral[2] > 0) {
            gains = new float[] {(float) (neutral[1] / neutral[0]), 1f,
                (float) (neutral[1] / neutral[2])};
        }
        double exposure = exposureSeconds(first, raw);
        ByteBuffer bytes = ByteBuffer.allocate(mosaic.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asShortBuffer().put(mosaic);
        return new RawFrame(bytes, frame.width, frame.height, frame.width * 2, 2, cfa, black,
                white, gains, Math.round(exposure * 1e9), colourMatrix(first, raw),
                orientation(first, raw), description(first, raw), source);
    }

    /**
     * The ImageDescription (TIFF tag 270, ASCII) of the first IFD, where DngCreator and most
     * writers put it, else of the raw image's; up to its first NUL (ASCII values end with one;
     * a count may hold several strings), read as UTF-8 (DngCreator stores the Java string's
     * UTF-8 bytes); null when neither IFD has one.
     */
    private String description(Map<Integer, Entry> first, Map<Integer, Entry> raw) {
        String text = description(first);
        return text != null ? text : description(raw);
    }

    private String description(Map<Integer, Entry> tags) {
        Entry entry = tags.get(IMAGE_DESCRIPTION);
        if (entry == null || entry.type != 2) {
            return null;
        }
        byte[] bytes = new byte[(int) entry.count];
        int length = 0;
        while (length < bytes.length && file.get(entry.valueOffset + length) != 0) {
            bytes[length] = file.get(entry.valueOffset + length);
            length++;
        }
        return new String(bytes, 0, length, StandardCharsets.UTF_8);
    }

    /**
     * LibRaw's flip code: the first IFD's Orientation that is not "as stored", else the raw
     * image's (LibRaw takes the first IFD with a non-zero flip; a DNG keeps it in IFD 0); 0
     * when neither says.
     */
    private int orientation(Map<Integer, Entry> first, Map<Integer, Entry> raw) {
        int flip = orientation(first);
        return flip != Orientation.NONE ? flip : orientation(raw);
    }

    private int orientation(Map<Integer, Entry> tags) {
        Entry entry = tags.get(Orientation.TAG);
        if (entry == null || entry.count < 1 || (entry.type != 3 && entry.type != 4)) {
            return Orientation.NONE;
        }
        return Orientation.flipOfExif((int) values(entry)[0]);
    }

    /**
     * The XYZ -> camera matrix by {@link SensorColourTransform}'s rule (as
     * {@code dng_color_matrix}: the daylight one of ColorMatrix1/2, else ColorMatrix2, else
     * ColorMatrix1); null when the file has none.
     */
    private double[][] colourMatrix(Map<Integer, Entry> first, Map<Integer, Entry> raw)
            throws LsidException {
        Map<Integer, Entry> tags = raw.containsKey(COLOR_MATRIX_1) ? raw : first;
        return SensorColourTransform.xyzToCamera(
                calibration(tags, COLOR_MATRIX_1, CALIBRATION_ILLUMINANT_1),
                calibration(tags, COLOR_MATRIX_2, CALIBRATION_ILLUMINANT_2), source);
    }

    private SensorColourTransform.Calibration calibration(Map<Integer, Entry> tags,
            int matrixTag, int illuminantTag) throws LsidException {
        double[] m = values(tags, matrixTag);
        if (m == null || m.length != 9) {
            return null;
        }
        double[] illuminant = values(tags, illuminantTag);
        Integer code = illuminant == null || illuminant.length == 0 ? null
                : (int) illuminant[0];
        return new SensorColourTransform.Calibration(code, new double[][] {
            {m[0], m[1], m[2]}, {m[3], m[4], m[5]}, {m[6], m[7], m[8]}}, null);
    }

    /** Black per position of the active area's top-left 2x2 cell (the pattern's origin). */
    private double[][] blackLevels(Map<Integer, Entry> raw) throws LsidException {
        double[] level = values(raw, BLACK_LEVEL);
        double[] dim = values(raw, BLACK_LEVEL_REPEAT_DIM);
        int rows = dim != null && dim.length == 2 ? (int) dim[0] : 1;
        int cols = dim != null && dim.length == 2 ? (int) dim[1] : 1;
        double[][] black = new double[2][2];
        if (level == null) {
            return black;
        }
        if (!((rows == 1 || rows == 2) && (cols == 1 || cols == 2))
                || level.length != rows * cols) {
            throw error("black level pattern " + rows + " x " + cols + " with " + level.length
                    + " values; this app reads a scalar or a 2x2 pattern");
        }
        for (int r = 0; r < 2; r++) {
            for (int c = 0; c < 2; c++) {
                black[r][c] = level[(r % rows) * cols + (c % cols)];
            }
        }
        return black;
    }

    private double exposureSeconds(Map<Integer, Entry> first, Map<Integer, Entry> raw)
            throws LsidException {
        double seconds = scalar(raw, EXPOSURE_TIME, scalar(first, EXPOSURE_TIME, 0));
        double[] exif = values(first, EXIF_IFD);
        if (seconds == 0 && exif != null && exif.length == 1 && exif[0] + 2 <= file.capacity()) {
            seconds = scalar(ifd((int) exif[0], new long[1]), EXPOSURE_TIME, 0);
        }
        return seconds;
    }

    /** The raw image's samples, row-major, from strips or tiles. */
    private short[] samples(Map<Integer, Entry> raw, int width, int height)
            throws LsidException {
        short[] out = new short[width * height];
        double[] offsets;
        int blockWidth;
        int blockHeight;
        if (raw.containsKey(TILE_OFFSETS)) {
            offsets = values(raw, TILE_OFFSETS);
            blockWidth = (int) scalar(raw, TILE_WIDTH, 0);
            blockHeight = (int) scalar(raw, TILE_LENGTH, 0);
        } else if (raw.containsKey(STRIP_OFFSETS)) {
            offsets = values(raw, STRIP_OFFSETS);
            blockWidth = width;
            blockHeight = (int) Math.min(scalar(raw, ROWS_PER_STRIP, height), height);
        } else {
            throw error("raw image has neither strips nor tiles");
        }
        if (blockWidth < 1 || blockHeight < 1) {
            throw error("tile or strip of " + blockWidth + " x " + blockHeight + " pixels");
        }
        int across = (width + blockWidth - 1) / blockWidth;
        int down = (height + blockHeight - 1) / blockHeight;
        if (offsets.length < (long) across * down) {
            throw error(offsets.length + " strip/tile offsets for " + across * down + " blocks");
        }
        long blockBytes = 2L * blockWidth * blockHeight;
        for (int by = 0; by < down; by++) {
            for (int bx = 0; bx < across; bx++) {
                long start = (long) offsets[by * across + bx];
                int rowsHere = raw.containsKey(TILE_OFFSETS) ? blockHeight
                        : Math.min(blockHeight, height - by * blockHeight);
                long needed = raw.containsKey(TILE_OFFSETS) ? blockBytes
                        : 2L * blockWidth * rowsHere;
                if (start < 0 || start + needed > file.capacity()) {
                    throw error("truncated: image data ends at byte " + (start + needed)
                            + " of a " + file.capacity() + "-byte file");
                }
                for (int r = 0; r < rowsHere; r++) {
                    int y = by * blockHeight + r;
                    if (y >= height) {
                        break;
                    }
                    int rowStart = (int) (start + 2L * r * blockWidth);
                    int count = Math.min(blockWidth, width - bx * blockWidth);
                    for (int x = 0; x < count; x++) {
                        out[y * width + bx * blockWidth + x] = file.getShort(rowStart + 2 * x);
                    }
                }
            }
        }
        return out;
    }
}
