package org.lsid.core;

/**
 * How a picture is laid out for display, as LibRaw lays it out: a port of
 * {@code lsid_keras.image_io.orient} (checked against it by the golden vectors, whose flip codes
 * come from rawpy reading DNGs written with each EXIF Orientation).
 *
 * <p>The network's output keeps the sensor's layout; the file says how to show it. LibRaw keeps
 * that as a flip code 0-7 ({@code sizes.flip}) whose bits apply as its {@code flip_index}
 * reads the displayed image from the sensor image: 1 mirrors left-right, 2 mirrors top-bottom,
 * 4 then transposes (rows become columns, so width and height swap). A TIFF / EXIF Orientation
 * tag reads as LibRaw's {@code parse_tiff_ifd} reads it: {@code "50132467"[orientation & 7]},
 * so Orientation 1-8 give 0, 1, 3, 2, 4, 6, 7, 5: 3 a half turn, 6 a quarter turn clockwise,
 * 8 counter-clockwise, and 2, 4, 5, 7 mirrored.
 */
public final class Orientation {
    /** TIFF / EXIF tag 274. */
    public static final int TAG = 274;
    /** The flip code of a picture shown as stored. */
    public static final int NONE = 0;
    private static final String EXIF_TO_FLIP = "50132467";

    private Orientation() {
    }

    /**
     * The LibRaw flip code of a TIFF / EXIF Orientation value, as LibRaw reads the tag (only
     * its low three bits count: 1 -> 0, 2 -> 1, 3 -> 3, 4 -> 2, 5 -> 4, 6 -> 6, 7 -> 7, 8 -> 5).
     */
    public static int flipOfExif(int orientation) {
        return EXIF_TO_FLIP.charAt(orientation & 7) - '0';
    }

    /**
     * The EXIF Orientation of a Camera2 capture, the value for {@code DngCreator.setOrientation}
     * (1, 3, 6 or 8: as stored, a half turn, a quarter turn clockwise, counter-clockwise);
     * {@link #flipOfExif} of it lays the frame out for display as the DNG says.
     *
     * <p>The rule of {@code CaptureRequest.JPEG_ORIENTATION}'s documentation (and of
     * {@code Camera.Parameters.setRotation} before it): the picture needs
     * {@code SENSOR_ORIENTATION + device} degrees clockwise to be upright, with the device's
     * clockwise rotation from its natural orientation reversed for a front-facing camera (it
     * looks the other way). A display rotation {@code Surface.ROTATION_*} turns the drawing
     * against the device's turn (ROTATION_90 when the device is turned a quarter
     * counter-clockwise), so in display degrees the rotation is
     * {@code sensor - display} for a back camera and {@code sensor + display} for a front one,
     * as android/camera-samples' {@code computeRelativeRotation} has it. Camera2's front-camera
     * output is not mirrored ("JPEG pictures of front-facing cameras are not mirrored as in
     * preview display"), so neither is this: a front camera gets a rotation, not a mirror code.
     *
     * @param sensorOrientation {@code CameraCharacteristics.SENSOR_ORIENTATION}: 0, 90, 180 or
     *     270
     * @param frontFacing {@code LENS_FACING} is {@code LENS_FACING_FRONT} (back and external
     *     cameras: false)
     * @param displayRotation the display's rotation at the shot in degrees (0, 90, 180 or 270;
     *     {@link #degreesOfSurfaceRotation} of {@code Display.getRotation()})
     * @throws IllegalArgumentException for angles other than those
     */
    public static int exifOfCapture(int sensorOrientation, boolean frontFacing,
            int displayRotation) {
        int sensor = quarterTurn(sensorOrientation, "sensor orientation");
        int display = quarterTurn(displayRotation, "display rotation");
        int clockwise = (sensor + (frontFacing ? display : -display) + 360) % 360;
        return EXIF_OF_CLOCKWISE[clockwise / 90];
    }

    /** EXIF Orientation of a picture needing 0, 90, 180, 270 degrees clockwise. */
    private static final int[] EXIF_OF_CLOCKWISE = {1, 6, 3, 8};

    private static int quarterTurn(int degrees, String what) {
        if (degrees != 0 && degrees != 90 && degrees != 180 && degrees != 270) {
            throw new IllegalArgumentException(what + " must be 0, 90, 180 or 270 degrees; got "
                    + degrees);
        }
        return degrees;
    }

    /**
     * Degrees of a {@code Surface.ROTATION_*} constant ({@code ROTATION_0} to
     * {@code ROTATION_270} are 0 to 3), as {@code Display.getRotation()} returns it.
     *
     * @throws IllegalArgumentException for other values
     */
    public static int degreesOfSurfaceRotation(int rotation) {
        if (rotation < 0 || rotation > 3) {
            throw new IllegalArgumentException("Surface.ROTATION_* is 0-3; got " + rotation);
        }
        return 90 * rotation;
    }

    /** Whether the flip code shows the picture with width and height swapped. */
    public static boolean swapsSides(int flip) {
        return (check(flip) & 4) != 0;
    }

    private static int check(int flip) {
        if (flip < 0 || flip > 7) {
            throw new IllegalArgumentException("flip code must be 0-7 (LibRaw's sizes.flip); got "
                    + flip);
        }
        return flip;
    }

    /**
     * The pixel of the stored image ({@code height x width}) shown at (row, column) of the
     * displayed one, as {@code y * width + x}.
     */
    static int sourceIndex(int row, int column, int height, int width, int flip) {
        int y = row;
        int x = column;
        if ((flip & 4) != 0) {
            y = column;
            x = row;
        }
        if ((flip & 2) != 0) {
            y = height - 1 - y;
        }
        if ((flip & 1) != 0) {
            x = width - 1 - x;
        }
        return y * width + x;
    }

    /**
     * The network's output laid out for display; the same object when the flip code is 0, else
     * a new image (width and height swapped when {@link #swapsSides}).
     */
    public static RgbImage apply(RgbImage image, int flip) {
        if (check(flip) == NONE) {
            return image;
        }
        boolean swap = swapsSides(flip);
        int height = swap ? image.width : image.height;
        int width = swap ? image.height : image.width;
        RgbImage out = new RgbImage(height, width);
        for (int row = 0; row < height; row++) {
            for (int column = 0; column < width; column++) {
                int from = 3 * sourceIndex(row, column, image.height, image.width, flip);
                int to = 3 * (row * width + column);
                out.data[to] = image.data[from];
                out.data[to + 1] = image.data[from + 1];
                out.data[to + 2] = image.data[from + 2];
            }
        }
        return out;
    }

    /**
     * ARGB pixels ({@link RgbImage#toArgb}, {@code height x width}) laid out for display: a
     * quarter of the memory of turning the float image. The same array when the flip code is 0.
     */
    public static int[] applyArgb(int[] pixels, int height, int width, int flip) {
        if ((long) height * width != pixels.length) {
            throw new IllegalArgumentException(pixels.length + " pixels for " + height + " x "
                    + width);
        }
        if (check(flip) == NONE) {
            return pixels;
        }
        boolean swap = swapsSides(flip);
        int outHeight = swap ? width : height;
        int outWidth = swap ? height : width;
        int[] out = new int[pixels.length];
        for (int row = 0; row < outHeight; row++) {
            for (int column = 0; column < outWidth; column++) {
                out[row * outWidth + column] = pixels[sourceIndex(row, column, height, width,
                        flip)];
            }
        }
        return out;
    }
}
