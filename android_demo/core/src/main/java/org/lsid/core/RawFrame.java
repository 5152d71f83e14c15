package org.lsid.core;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One Bayer RAW frame as a camera or a DNG delivers it: 16-bit samples (DN) addressed through
 * row and pixel strides in bytes, with the levels and metadata packing needs.
 *
 * <p>Camera2 {@code RAW_SENSOR} images have one plane whose {@code getRowStride()} may exceed
 * {@code width * 2} (padding at the end of each row) and whose {@code getPixelStride()} is 2;
 * both are honoured here, so the plane's buffer is used as it is, without a copy.
 */
public final class RawFrame {
    private final ByteBuffer samples;
    /** Mosaic size in pixels. */
    public final int width;
    public final int height;
    /** Bytes from one row to the next, >= width * pixelStride. */
    public final int rowStride;
    /** Bytes from one pixel to the next in a row, >= 2. */
    public final int pixelStride;
    /** The Bayer order of the mosaic's top-left 2x2 cell. */
    public final CfaPattern cfa;
    /** Black level (DN) per position of the top-left 2x2 cell, [row][column]. */
    private final double[][] blackLevel;
    /** White (saturation) level in DN, above every black level. */
    public final double whiteLevel;
    /** As-shot white-balance gains (R, G, B), G normalised to 1, or null when unknown. */
    private final float[] whiteBalance;
    /** Exposure time in nanoseconds, or 0 when unknown. */
    public final long exposureTimeNs;
    /** The camera's XYZ -> camera matrix (D65 where known), or null when unknown. */
    private final double[][] xyzToCamera;
    /**
     * How the frame is to be shown: a LibRaw flip code 0-7 ({@link Orientation}); 0 as stored.
     */
    public final int orientation;
    /**
     * The file's ImageDescription (TIFF tag 270, e.g. what this app's captures record: see
     * {@link ShotDescription}), or null when it has none.
     */
    public final String description;
    /** Where the frame came from (camera id and time, or file name), for messages. */
    public final String source;

    /**
     * @param samples little-endian unsigned 16-bit samples; read from its position 0, not
     *     modified (the frame reads through a duplicate)
     * @param blackLevel 2x2 per CFA position of the top-left cell (Camera2's
     *     {@code SENSOR_DYNAMIC_BLACK_LEVEL} or {@code SENSOR_BLACK_LEVEL_PATTERN} in row-major
     *     order), DN
     * @throws LsidException for sizes, strides or levels that do not describe a frame
     */
    public RawFrame(ByteBuffer samples, int width, int height, int rowStride, int pixelStride,
            CfaPattern cfa, double[][] blackLevel, double whiteLevel, float[] whiteBalance,
            long exposureTimeNs, String source) throws LsidException {
        this(samples, width, height, rowStride, pixelStride, cfa, blackLevel, whiteLevel,
                whiteBalance, exposureTimeNs, null, source);
    }

    /**
     * As above, with the camera's XYZ -> camera matrix (DNG ColorMatrix, Camera2
     * {@code SENSOR_COLOR_TRANSFORM*}), which {@link ColourMapping} needs; null when unknown.
     */
    public RawFrame(ByteBuffer samples, int width, int height, int rowStride, int pixelStride,
            CfaPattern cfa, double[][] blackLevel, double whiteLevel, float[] whiteBalance,
            long exposureTimeNs, double[][] xyzToCamera, String source) throws LsidException {
        this(samples, width, height, rowStride, pixelStride, cfa, blackLevel, whiteLevel,
                whiteBalance, exposureTimeNs, xyzToCamera, Orientation.NONE, source);
    }

    /**
     * As above, with how the frame is to be shown: a LibRaw flip code 0-7 ({@link Orientation};
     * a DNG's Orientation tag through {@link Orientation#flipOfExif}).
     */
    public RawFrame(ByteBuffer samples, int width, int height, int rowStride, int pixelStride,
            CfaPattern cfa, double[][] blackLevel, double whiteLevel, float[] whiteBalance,
            long exposureTimeNs, double[][] xyzToCamera, int orientation, String source)
            throws LsidException {
        this(samples, width, height, rowStride, pixelStride, cfa, blackLevel, whiteLevel,
                whiteBalance, exposureTimeNs, xyzToCamera, orientation, null, source);
    }

    /** As above, with the file's ImageDescription (null when none). */
    public RawFrame(ByteBuffer samples, int width, int height, int rowStride, int pixelStride,
            CfaPattern cfa, double[][] blackLevel, double whiteLevel, float[] whiteBalance,
            long exposureTimeNs, double[][] xyzToCamera, int orientation, String description,
            String source) throws LsidException {
        if (orientation < 0 || orientation > 7) {
            throw new LsidException(source + ": orientation " + orientation
                    + " is not a LibRaw flip code 0-7");
        }
        if (xyzToCamera != null && (xyzToCamera.length != 3 || xyzToCamera[0].length != 3
                || xyzToCamera[1].length != 3 || xyzToCamera[2].length != 3)) {
            throw new LsidException(source + ": XYZ -> camera matrix must be 3 x 3");
        }
        if (width < 2 || height < 2) {
            throw new LsidException(source + ": frame of " + width + " x " + height
                    + " pixels; expected at least 2 x 2");
        }
        if (pixelStride < 2 || rowStride < (long) (width - 1) * pixelStride + 2) {
            throw new LsidException(source + ": pixel stride " + pixelStride + " / row stride "
                    + rowStride + " bytes cannot hold " + width + " 16-bit pixels per row");
        }
        long needed = (long) (height - 1) * rowStride + (long) (width - 1) * pixelStride + 2;
        if (samples.capacity() < needed) {
            throw new LsidException(source + ": " + samples.capacity() + " bytes of samples for "
                    + width + " x " + height + " pixels at row stride " + rowStride
                    + "; expected at least " + needed);
        }
        if (blackLevel == null || blackLevel.length != 2 || blackLevel[0].length != 2
                || blackLevel[1].length != 2) {
            throw new LsidException(source + ": black level must be 2 x 2, one per CFA position");
        }
        double maxBlack = Double.NEGATIVE_INFINITY;
        for (double[] row : blackLevel) {
            for (double v : row) {
                if (!Double.isFinite(v)) {
                    throw new LsidException(source + ": black level " + v + " is not finite");
                }
                maxBlack = Math.max(maxBlack, v);
            }
        }
        if (!Double.isFinite(whiteLevel) || whiteLevel <= maxBlack) {
            throw new LsidException(source + ": white level " + whiteLevel
                    + " must exceed every black level (max " + maxBlack + ")");
        }
        if (whiteBalance != null && whiteBalance.length != 3) {
            throw new LsidException(source + ": white balance needs 3 gains (R, G, B), got "
                    + whiteBalance.length);
        }
        this.samples = samples.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        this.width = width;
        this.height = height;
        this.rowStride = rowStride;
        this.pixelStride = pixelStride;
        this.cfa = cfa;
        this.blackLevel = new double[][] {blackLevel[0].clone(), blackLevel[1].clone()};
        this.whiteLevel = whiteLevel;
        this.whiteBalance = whiteBalance == null ? null : whiteBalance.clone();
        this.exposureTimeNs = exposureTimeNs;
        this.xyzToCamera = xyzToCamera == null ? null : new double[][] {
            xyzToCamera[0].clone(), xyzToCamera[1].clone(), xyzToCamera[2].clone()};
        this.orientation = orientation;
        this.description = description;
        this.source = source;
    }

    /**
     * A frame over a row-major array of samples (no padding), e.g. for tests and DNGs.
     *
     * @param mosaic {@code height * width} samples, read as unsigned 16-bit
     */
    public static RawFrame fromSamples(short[] mosaic, int width, int height, CfaPattern cfa,
            double[][] blackLevel, double whiteLevel, String source) throws LsidException {
        if (mosaic.length != (long) width * height) {
            throw new LsidException(source + ": " + mosaic.length + " samples for " + width
                    + " x " + height + " pixels");
        }
        ByteBuffer buffer = ByteBuffer.allocate(mosaic.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asShortBuffer().put(mosaic);
        return new RawFrame(buffer, width, height, width * 2, 2, cfa, blackLevel, whiteLevel,
                null, 0, source);
    }

    /** The sample at (row, column) in DN, 0 to 65535. */
    public int sample(int row, int column) {
        return samples.getShort(row * rowStride + column * pixelStride) & 0xFFFF;
    }

    /** Black level (DN) at a position of the top-left 2x2 cell. */
    public double blackLevel(int row, int column) {
        return blackLevel[row][column];
    }

    /** The XYZ -> camera matrix, or null when unknown. */
    public double[][] xyzToCamera() {
        return xyzToCamera == null ? null : new double[][] {
            xyzToCamera[0].clone(), xyzToCamera[1].clone(), xyzToCamera[2].clone()};
    }

    /** As-shot white-balance gains (R, G, B), or null when unknown. */
    public float[] whiteBalance() {
        return whiteBalance == null ? null : whiteBalance.clone();
    }
}
