package org.lsid.core;

import java.nio.ByteBuffer;

/**
 * The part of a Camera2 {@code RAW_SENSOR} image that holds the scene: the pre-correction
 * active array when the image covers the whole pixel array, else the whole image.
 *
 * <p>Camera2 delivers {@code RAW_SENSOR} at {@code SENSOR_INFO_PIXEL_ARRAY_SIZE} (optically
 * black and dummy pixels included) or at {@code SENSOR_INFO_PRE_CORRECTION_ACTIVE_ARRAY_SIZE};
 * the active rectangle is given in pixel-array coordinates. {@code DngCreator} writes the same
 * rectangle as the DNG's ActiveArea for a full-array image and the CFA arrangement and black
 * level pattern as they are, which a DNG reader applies from the ActiveArea's top-left corner
 * (as {@link DngReader} does). This crop does the same, so a frame packs the same whether it
 * comes straight from the camera or from the DNG the app saved of it.
 */
public final class ActiveArea {
    /** Left and top column / row of the crop in the image, pixels. */
    public final int left;
    public final int top;
    /** Size of the crop, pixels. */
    public final int width;
    public final int height;

    private ActiveArea(int left, int top, int width, int height) {
        this.left = left;
        this.top = top;
        this.width = width;
        this.height = height;
    }

    /**
     * The crop for an image of this size.
     *
     * @param imageWidth, imageHeight the {@code RAW_SENSOR} image's size
     * @param pixelArrayWidth, pixelArrayHeight {@code SENSOR_INFO_PIXEL_ARRAY_SIZE}
     * @param active {@code SENSOR_INFO_PRE_CORRECTION_ACTIVE_ARRAY_SIZE} as left, top, right,
     *     bottom (an {@code android.graphics.Rect}), in pixel-array coordinates; null when the
     *     camera does not publish it
     * @throws LsidException an active rectangle outside the pixel array, or smaller than 2 x 2
     */
    public static ActiveArea forCamera2(int imageWidth, int imageHeight, int pixelArrayWidth,
            int pixelArrayHeight, int[] active, String source) throws LsidException {
        ActiveArea whole = new ActiveArea(0, 0, imageWidth, imageHeight);
        if (active == null || imageWidth != pixelArrayWidth
                || imageHeight != pixelArrayHeight) {
            return whole; // already the active array (or a size Camera2 does not describe)
        }
        if (active.length != 4) {
            throw new LsidException(source + ": active array needs left, top, right, bottom; got "
                    + active.length + " values");
        }
        int left = active[0];
        int top = active[1];
        int right = active[2];
        int bottom = active[3];
        if (left < 0 || top < 0 || right > imageWidth || bottom > imageHeight
                || right - left < 2 || bottom - top < 2) {
            throw new LsidException(source + ": active array " + left + "," + top + " - " + right
                    + "," + bottom + " does not lie in the " + imageWidth + " x " + imageHeight
                    + " pixel array");
        }
        return new ActiveArea(left, top, right - left, bottom - top);
    }

    /** Whether the crop is the whole image. */
    public boolean isWhole(int imageWidth, int imageHeight) {
        return left == 0 && top == 0 && width == imageWidth && height == imageHeight;
    }

    /**
     * A view of a camera image's plane cropped to this area, without a copy: the buffer starts
     * at the crop's first sample and keeps the plane's strides.
     *
     * @param plane the image plane's buffer (not modified; read through a slice)
     * @param rowStride, pixelStride the plane's strides, bytes
     */
    public ByteBuffer crop(ByteBuffer plane, int rowStride, int pixelStride) {
        ByteBuffer view = plane.duplicate();
        view.position((int) ((long) top * rowStride + (long) left * pixelStride));
        return view.slice();
    }
}
