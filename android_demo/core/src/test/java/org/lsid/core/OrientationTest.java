package org.lsid.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
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
        return DngReaderTest.withShortTag(data, Orientation.TAG, value);
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

    /** EXIF Orientation of a capture: back or front camera, sensor, display rotation. */
    private static int exif(boolean front, int sensor, int display) {
        return Orientation.exifOfCapture(sensor, front, display);
    }

    @Test
    void backCameraAt90TurnsWithTheDisplay() {
        // The usual phone main camera: the sensor's top row lies along the screen's right
        // edge in portrait, so an upright portrait shot needs a quarter turn clockwise (6).
        assertEquals(6, exif(false, 90, 0));
        // Turned a quarter counter-clockwise (ROTATION_90, right edge up): the sensor's top
        // is up; Camera.Parameters.setRotation's example (device 270 clockwise, camera 90: 0).
        assertEquals(1, exif(false, 90, 90));
        assertEquals(8, exif(false, 90, 180)); // upside down: three quarters
        assertEquals(3, exif(false, 90, 270)); // turned clockwise: the top is at the bottom
    }

    @Test
    void frontCameraAt270TurnsTheOtherWay() {
        // The device's rotation counts reversed for a camera looking back at the user.
        assertEquals(8, exif(true, 270, 0));
        assertEquals(1, exif(true, 270, 90));
        assertEquals(6, exif(true, 270, 180));
        assertEquals(3, exif(true, 270, 270));
        // Rotations only: Camera2 does not mirror a front camera's output, nor does this.
        for (int sensor = 0; sensor < 360; sensor += 90) {
            for (int display = 0; display < 360; display += 90) {
                int code = exif(true, sensor, display);
                assertTrue(code == 1 || code == 3 || code == 6 || code == 8, "code " + code);
            }
        }
        // A front camera at 90 in portrait needs the same quarter turn as a back one.
        assertEquals(6, exif(true, 90, 0));
        assertEquals(3, exif(true, 90, 90));
    }

    @Test
    void sensorsAt0And180() {
        assertEquals(1, exif(false, 0, 0));
        assertEquals(8, exif(false, 0, 90));
        assertEquals(3, exif(false, 0, 180));
        assertEquals(6, exif(false, 0, 270));
        assertEquals(3, exif(false, 180, 0));
        assertEquals(6, exif(false, 180, 90));
        assertEquals(1, exif(false, 180, 180));
        assertEquals(8, exif(false, 180, 270));
        assertEquals(1, exif(true, 0, 0));
        assertEquals(6, exif(true, 0, 90));
        assertEquals(3, exif(true, 180, 0));
        assertEquals(8, exif(true, 180, 90));
    }

    @Test
    void everyCaptureFollowsTheDocumentedSum() {
        // JPEG_ORIENTATION's rule with the device's clockwise turn d = -display:
        // (sensor + d) for a back camera, (sensor - d) for a front one, as EXIF 1/6/3/8.
        int[] exifOfClockwise = {1, 6, 3, 8};
        for (int sensor = 0; sensor < 360; sensor += 90) {
            for (int display = 0; display < 360; display += 90) {
                int device = (360 - display) % 360;
                assertEquals(exifOfClockwise[(sensor + device) % 360 / 90],
                        exif(false, sensor, display), "back " + sensor + "/" + display);
                assertEquals(exifOfClockwise[(sensor - device + 360) % 360 / 90],
                        exif(true, sensor, display), "front " + sensor + "/" + display);
            }
        }
    }

    @Test
    void aCaptureCodeTurnsTheSensorImageUpright() {
        // A 2 x 3 sensor image; a back camera at 90 in portrait shows it turned a quarter
        // clockwise: 3 x 2, the sensor's top row down the right-hand column.
        int[] sensor = {1, 2, 3, 4, 5, 6};
        int flip = Orientation.flipOfExif(exif(false, 90, 0));
        assertTrue(Orientation.swapsSides(flip));
        assertArrayEquals(new int[] {4, 1, 5, 2, 6, 3},
                Orientation.applyArgb(sensor, 2, 3, flip));
        // Counter-clockwise (8): the top row down the left-hand column, read upwards.
        assertArrayEquals(new int[] {3, 6, 2, 5, 1, 4},
                Orientation.applyArgb(sensor, 2, 3, Orientation.flipOfExif(exif(false, 90, 180))));
        // Half a turn (3) and none (1).
        assertArrayEquals(new int[] {6, 5, 4, 3, 2, 1},
                Orientation.applyArgb(sensor, 2, 3, Orientation.flipOfExif(exif(false, 90, 270))));
        assertSame(sensor, Orientation.applyArgb(sensor, 2, 3,
                Orientation.flipOfExif(exif(false, 90, 90))));
    }

    @Test
    void captureAnglesAreQuarterTurns() {
        assertEquals(0, Orientation.degreesOfSurfaceRotation(0));
        assertEquals(90, Orientation.degreesOfSurfaceRotation(1));
        assertEquals(180, Orientation.degreesOfSurfaceRotation(2));
        assertEquals(270, Orientation.degreesOfSurfaceRotation(3));
        assertThrows(IllegalArgumentException.class,
                () -> Orientation.degreesOfSurfaceRotation(4));
        assertThrows(IllegalArgumentException.class,
                () -> Orientation.degreesOfSurfaceRotation(-1));
        IllegalArgumentException sensor = assertThrows(IllegalArgumentException.class,
                () -> exif(false, 45, 0));
        assertEquals("sensor orientation must be 0, 90, 180 or 270 degrees; got 45",
                sensor.getMessage());
        assertThrows(IllegalArgumentException.class, () -> exif(false, 90, 1));
        assertThrows(IllegalArgumentException.class, () -> exif(true, 360, 0));
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
