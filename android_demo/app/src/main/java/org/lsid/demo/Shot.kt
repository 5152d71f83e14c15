package org.lsid.demo

import org.lsid.core.Orientation
import org.lsid.core.PackedImage

/**
 * One RAW frame packed for the network, with what the UI shows about it.
 *
 * @property packed R, G, B, G packed, normalised, not amplified
 * @property whiteBalance as-shot gains (R, G, B) for the preview, or null
 * @property exposureNs exposure time, or 0 when unknown
 * @property source camera id or file name, for messages and the saved file's name
 * @property xyzToCamera the camera's XYZ -> camera matrix (daylight where known), or null; with
 *     the card's training camera matrix it maps the frame into the model's colour space
 * @property cameraMean the mosaic's mean camera colour
 *     ([org.lsid.core.AsShotColour.cameraMean], taken before the RAW image is closed), or null;
 *     with [whiteBalance] and [xyzToCamera] it gives the output its as-shot colour
 * @property plannedRatio the amplification a night shot was exposed for
 *     ([org.lsid.core.ExposurePlanner]; for an opened DNG, what its description records,
 *     [org.lsid.core.ShotDescription]), or null (normal shot, other DNGs): the default ratio
 * @property exposure how it was exposed, for the status line (e.g. "1/1500 s at ISO 1600"), or
 *     null
 * @property orientation how to show it: a LibRaw flip code 0-7 ([Orientation]; a DNG's
 *     Orientation tag, or for a capture [Orientation.exifOfCapture] of the camera and the
 *     screen's rotation, the code [RawCamera] also writes into its DNG); the bitmaps, and so
 *     the saved JPEG, are laid out by it
 * @property dng the capture as a DNG ([android.hardware.camera2.DngCreator]), saved beside the
 *     enhanced JPEG; null for an opened DNG (the file is already the user's)
 */
class Shot(
    val packed: PackedImage,
    val whiteBalance: FloatArray?,
    val exposureNs: Long,
    val source: String,
    val xyzToCamera: Array<DoubleArray>? = null,
    val cameraMean: DoubleArray? = null,
    val plannedRatio: Double? = null,
    val exposure: String? = null,
    val dng: ByteArray? = null,
    val orientation: Int = Orientation.NONE,
)
