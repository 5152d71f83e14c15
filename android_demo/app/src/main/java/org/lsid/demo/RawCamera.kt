package org.lsid.demo

import android.annotation.SuppressLint
import android.content.Context
import android.graphics.ImageFormat
import android.hardware.camera2.CameraCaptureSession
import android.hardware.camera2.CameraCharacteristics
import android.hardware.camera2.CameraDevice
import android.hardware.camera2.CameraManager
import android.hardware.camera2.CameraMetadata
import android.hardware.camera2.CaptureFailure
import android.hardware.camera2.CaptureRequest
import android.hardware.camera2.CaptureResult
import android.hardware.camera2.DngCreator
import android.hardware.camera2.TotalCaptureResult
import android.hardware.camera2.params.ColorSpaceTransform
import android.hardware.camera2.params.OutputConfiguration
import android.hardware.camera2.params.SessionConfiguration
import android.media.Image
import android.media.ImageReader
import android.os.Handler
import android.os.SystemClock
import android.util.Size
import android.view.Surface
import java.io.ByteArrayOutputStream
import java.util.Locale
import java.util.concurrent.Executor
import org.lsid.core.ActiveArea
import org.lsid.core.AsShotColour
import org.lsid.core.BayerPacker
import org.lsid.core.CfaPattern
import org.lsid.core.ExposurePlanner
import org.lsid.core.LsidException
import org.lsid.core.Orientation
import org.lsid.core.RawFrame
import org.lsid.core.SensorColourTransform
import org.lsid.core.ShotDescription
import org.lsid.core.StillMatcher

/**
 * Captures one `RAW_SENSOR` frame with Camera2, packs it with the core and keeps it as a DNG.
 *
 * Every callback (camera state, session state, capture results, images) runs on [handler]'s
 * thread, the camera's own `HandlerThread`, never the UI's or the model's; so does every field
 * of a capture in flight. One capture at a time: a second request while one runs is answered
 * with a message.
 *
 * A capture meters with auto-exposure on a small YUV stream (no viewfinder; preview-sized YUV
 * beside RAW at its largest is a combination every RAW-capable camera guarantees, and the
 * RAW reader then sees no metering frames), at most [METERING_FRAMES] frames, then takes the
 * still on the RAW stream:
 * - [Mode.NIGHT]: the papers' setting. [ExposurePlanner] turns the metered exposure time,
 *   sensitivity and post-RAW boost and the target ratio into a manual exposure (AE off,
 *   handheld-safe time, sensitivity within `SENSOR_INFO_SENSITIVITY_RANGE`), and the shot
 *   records the ratio it realises, which the enhancement then uses by default. Needs the
 *   `MANUAL_SENSOR` capability.
 * - [Mode.NORMAL]: the still as auto-exposure sets it (the ratio is then automatic).
 *
 * The still's image and result are paired by sensor timestamp ([StillMatcher]: the image
 * can come before or after `onCaptureStarted` / `onCaptureCompleted`, metering frames still in
 * flight are closed). Every way a capture can end closes the camera and the reader and says
 * why: the pair, `onCaptureFailed`, `onCaptureBufferLost`, an aborted sequence, a
 * disconnected or failing camera, a session that cannot be configured, a Camera2 exception,
 * or no still within [TIMEOUT_MS].
 *
 * The frame is cropped to the active array when the image covers the whole pixel array
 * ([ActiveArea]); the black level comes from the result's `SENSOR_DYNAMIC_BLACK_LEVEL` when
 * published, else `SENSOR_BLACK_LEVEL_PATTERN`; the white level likewise
 * (`SENSOR_DYNAMIC_WHITE_LEVEL`, `SENSOR_INFO_WHITE_LEVEL`); white balance from
 * `COLOR_CORRECTION_GAINS`; the XYZ -> camera matrix from `SENSOR_COLOR_TRANSFORM1/2` and
 * `SENSOR_CALIBRATION_TRANSFORM1/2` by [SensorColourTransform]'s rule.
 */
class RawCamera(context: Context, private val handler: Handler) {
    private val manager = context.getSystemService(Context.CAMERA_SERVICE) as CameraManager
    private val executor = Executor { command -> handler.post(command) }
    private var attempt: Attempt? = null

    /** How the still is exposed. */
    enum class Mode { NIGHT, NORMAL }

    /** Outcome and progress of [capture], on the camera thread (post to the UI yourself). */
    interface Callback {
        fun onProgress(message: String)
        fun onShot(shot: Shot)
        fun onError(message: String)
    }

    /**
     * Opens the RAW camera, meters, captures one frame, packs it and closes the camera.
     *
     * @param targetRatio for [Mode.NIGHT], how much less light than the metered exposure the
     *     still gets (1 to 300; SID's short exposures are 1/100 to 1/300)
     * @param displayRotation the screen's rotation at the shot in degrees (0, 90, 180, 270);
     *     with the camera's `SENSOR_ORIENTATION` and facing it gives the shot's orientation
     *     ([Orientation.exifOfCapture]): the DNG's Orientation tag and [Shot.orientation]
     */
    @SuppressLint("MissingPermission") // the activity asks for CAMERA before calling
    fun capture(mode: Mode, targetRatio: Double, displayRotation: Int, callback: Callback) {
        handler.post {
            if (attempt != null) {
                callback.onError("a capture is already running")
                return@post
            }
            try {
                start(mode, targetRatio, displayRotation, callback)
            } catch (error: Exception) {
                callback.onError("camera: ${describe(error)}")
            }
        }
    }

    /** Ends a capture in flight (closing the camera), e.g. when the app goes away. */
    fun abort() {
        handler.post { attempt?.fail("the capture was abandoned") }
    }

    /** The first back-facing (else any) camera that can deliver RAW, or null. */
    private fun rawCameraId(): String? {
        val raw = manager.cameraIdList.filter { id ->
            val capabilities = manager.getCameraCharacteristics(id)
                .get(CameraCharacteristics.REQUEST_AVAILABLE_CAPABILITIES) ?: IntArray(0)
            CameraMetadata.REQUEST_AVAILABLE_CAPABILITIES_RAW in capabilities
        }
        return raw.firstOrNull { id ->
            manager.getCameraCharacteristics(id).get(CameraCharacteristics.LENS_FACING) ==
                CameraMetadata.LENS_FACING_BACK
        } ?: raw.firstOrNull()
    }

    @SuppressLint("MissingPermission")
    private fun start(mode: Mode, targetRatio: Double, displayRotation: Int,
                      callback: Callback) {
        val id = rawCameraId()
        if (id == null) {
            callback.onError("No camera on this device reports the RAW capability " +
                "(REQUEST_AVAILABLE_CAPABILITIES_RAW); open a DNG instead")
            return
        }
        val characteristics = manager.getCameraCharacteristics(id)
        val map = characteristics.get(CameraCharacteristics.SCALER_STREAM_CONFIGURATION_MAP)
        val size = map?.getOutputSizes(ImageFormat.RAW_SENSOR)
            ?.maxByOrNull { it.width.toLong() * it.height }
        if (size == null) {
            callback.onError("camera $id: no RAW_SENSOR output size")
            return
        }
        val planner = if (mode == Mode.NIGHT) nightPlanner(id, characteristics, callback)
            ?: return else null
        // Metering stream: the largest YUV size up to 1080p (the RAW stream when there is none).
        val yuv = map?.getOutputSizes(ImageFormat.YUV_420_888).orEmpty()
        val meterSize = yuv.filter { it.width.toLong() * it.height <= METER_PIXELS }
            .maxByOrNull { it.width.toLong() * it.height }
            ?: yuv.minByOrNull { it.width.toLong() * it.height }
        val current = Attempt(id, mode, targetRatio, planner, characteristics, size, meterSize,
            displayRotation, callback)
        attempt = current
        current.open()
    }

    /** The night planner from the sensor's ranges, or null (and a message) without them. */
    private fun nightPlanner(id: String, characteristics: CameraCharacteristics,
                             callback: Callback): ExposurePlanner? {
        val capabilities = characteristics.get(
            CameraCharacteristics.REQUEST_AVAILABLE_CAPABILITIES) ?: IntArray(0)
        val times = characteristics.get(CameraCharacteristics.SENSOR_INFO_EXPOSURE_TIME_RANGE)
        val gains = characteristics.get(CameraCharacteristics.SENSOR_INFO_SENSITIVITY_RANGE)
        if (CameraMetadata.REQUEST_AVAILABLE_CAPABILITIES_MANUAL_SENSOR !in capabilities ||
            times == null || gains == null
        ) {
            callback.onError("camera $id cannot set its exposure by hand (no MANUAL_SENSOR " +
                "capability): untick \"Night shot\" for an auto-exposed RAW")
            return null
        }
        return ExposurePlanner(times.lower, times.upper, gains.lower, gains.upper,
            ExposurePlanner.HANDHELD_LIMIT_NS)
    }

    /** One capture, from opening the camera to closing it; lives on the camera thread. */
    private inner class Attempt(
        private val id: String,
        private val mode: Mode,
        private val targetRatio: Double,
        private val planner: ExposurePlanner?,
        private val characteristics: CameraCharacteristics,
        private val size: Size,
        meterSize: Size?,
        private val displayRotation: Int,
        private val callback: Callback,
    ) {
        private val reader =
            ImageReader.newInstance(size.width, size.height, ImageFormat.RAW_SENSOR, MAX_IMAGES)
        private val meterReader = meterSize?.let {
            ImageReader.newInstance(it.width, it.height, ImageFormat.YUV_420_888, 2)
        }
        // One buffer stays free for the still while metering frames are held.
        private val matcher = StillMatcher<Image, TotalCaptureResult>(MAX_IMAGES - 1) {
            it.close()
        }
        private val startedAt = SystemClock.elapsedRealtime()
        private val timeout = Runnable { onTimeout() }
        private var device: CameraDevice? = null
        private var finished = false
        private var stillRequested = false
        private var metered = 0
        private var plan: ExposurePlanner.Plan? = null

        @SuppressLint("MissingPermission")
        fun open() {
            handler.postDelayed(timeout, TIMEOUT_MS)
            reader.setOnImageAvailableListener({ onImage(it) }, handler)
            // Metering frames are only for auto-exposure: each is closed as it comes.
            meterReader?.setOnImageAvailableListener({ from ->
                if (!finished) {
                    try {
                        from.acquireLatestImage()?.close()
                    } catch (error: IllegalStateException) {
                        // every buffer held: the next frame frees one
                    }
                }
            }, handler)
            guard {
                manager.openCamera(id, object : CameraDevice.StateCallback() {
                    override fun onOpened(opened: CameraDevice) {
                        device = opened
                        if (finished) opened.close() else guard { configure(opened) }
                    }

                    override fun onDisconnected(lost: CameraDevice) {
                        device = lost
                        fail("the camera was disconnected (another app took it?)")
                    }

                    override fun onError(failed: CameraDevice, error: Int) {
                        device = failed
                        fail("the camera reported error $error (${deviceError(error)})")
                    }
                }, handler)
            }
        }

        private fun configure(opened: CameraDevice) {
            val outputs = listOfNotNull(OutputConfiguration(reader.surface),
                meterReader?.let { OutputConfiguration(it.surface) })
            val config = SessionConfiguration(SessionConfiguration.SESSION_REGULAR, outputs,
                executor, object : CameraCaptureSession.StateCallback() {
                    override fun onConfigured(session: CameraCaptureSession) {
                        if (!finished) guard { meter(opened, session) }
                    }

                    override fun onConfigureFailed(session: CameraCaptureSession) =
                        fail("the RAW capture session could not be configured")
                })
            opened.createCaptureSession(config)
        }

        private fun meter(opened: CameraDevice, session: CameraCaptureSession) {
            callback.onProgress("camera $id: metering ...")
            val request = opened.createCaptureRequest(CameraDevice.TEMPLATE_PREVIEW).apply {
                addTarget(meterReader?.surface ?: reader.surface)
            }.build()
            session.setRepeatingRequest(request, object : CameraCaptureSession.CaptureCallback() {
                override fun onCaptureCompleted(
                    s: CameraCaptureSession,
                    r: CaptureRequest,
                    result: TotalCaptureResult,
                ) {
                    if (finished || stillRequested) return
                    metered++
                    val state = result.get(CaptureResult.CONTROL_AE_STATE)
                    val settled = state == null ||
                        state == CaptureResult.CONTROL_AE_STATE_CONVERGED ||
                        state == CaptureResult.CONTROL_AE_STATE_FLASH_REQUIRED ||
                        state == CaptureResult.CONTROL_AE_STATE_LOCKED
                    if (settled || metered >= METERING_FRAMES) {
                        stillRequested = true
                        guard {
                            s.stopRepeating()
                            still(opened, s, result)
                        }
                    }
                }
            }, handler)
        }

        private fun still(opened: CameraDevice, session: CameraCaptureSession,
                          metering: TotalCaptureResult) {
            val builder = opened.createCaptureRequest(CameraDevice.TEMPLATE_STILL_CAPTURE)
            builder.addTarget(reader.surface)
            val noiseModes = characteristics.get(
                CameraCharacteristics.NOISE_REDUCTION_AVAILABLE_NOISE_REDUCTION_MODES)
            if (noiseModes != null && CaptureRequest.NOISE_REDUCTION_MODE_OFF in noiseModes) {
                // The network does its own denoising: ask for the sensor's data untouched.
                builder.set(CaptureRequest.NOISE_REDUCTION_MODE,
                    CaptureRequest.NOISE_REDUCTION_MODE_OFF)
            }
            if (planner != null) {
                val exposure = metering.get(CaptureResult.SENSOR_EXPOSURE_TIME)
                val sensitivity = metering.get(CaptureResult.SENSOR_SENSITIVITY)
                if (exposure == null || sensitivity == null) {
                    fail("auto-exposure reported no exposure time or sensitivity to plan from")
                    return
                }
                val boost = metering.get(CaptureResult.CONTROL_POST_RAW_SENSITIVITY_BOOST) ?: 100
                val planned = planner.plan(exposure, sensitivity, boost, targetRatio)
                val minFrame = characteristics
                    .get(CameraCharacteristics.SCALER_STREAM_CONFIGURATION_MAP)
                    ?.getOutputMinFrameDuration(ImageFormat.RAW_SENSOR, size) ?: 0L
                builder.set(CaptureRequest.CONTROL_AE_MODE, CaptureRequest.CONTROL_AE_MODE_OFF)
                builder.set(CaptureRequest.SENSOR_EXPOSURE_TIME, planned.exposureNs)
                builder.set(CaptureRequest.SENSOR_SENSITIVITY, planned.sensitivity)
                builder.set(CaptureRequest.SENSOR_FRAME_DURATION,
                    maxOf(planned.exposureNs, minFrame))
                // White balance as metered on the normally exposed frames, not re-estimated
                // on the dark one.
                builder.set(CaptureRequest.CONTROL_AWB_LOCK, true)
                plan = planned
                callback.onProgress(String.format(Locale.US,
                    "camera %s: night shot %s; metered 1/%.0f s at ISO %d", id, planned,
                    1e9 / exposure, sensitivity))
            }
            session.capture(builder.build(), object : CameraCaptureSession.CaptureCallback() {
                override fun onCaptureStarted(
                    s: CameraCaptureSession,
                    r: CaptureRequest,
                    timestamp: Long,
                    frameNumber: Long,
                ) = settle(matcher.stillStarted(timestamp))

                override fun onCaptureCompleted(
                    s: CameraCaptureSession,
                    r: CaptureRequest,
                    result: TotalCaptureResult,
                ) {
                    val timestamp = result.get(CaptureResult.SENSOR_TIMESTAMP)
                    if (timestamp == null) {
                        fail("the still's result has no SENSOR_TIMESTAMP")
                    } else {
                        settle(matcher.resultArrived(result, timestamp))
                    }
                }

                override fun onCaptureFailed(
                    s: CameraCaptureSession,
                    r: CaptureRequest,
                    failure: CaptureFailure,
                ) = settle(matcher.captureFailed(
                    if (failure.reason == CaptureFailure.REASON_FLUSHED) "flushed"
                    else "error in the camera pipeline"))

                override fun onCaptureBufferLost(
                    s: CameraCaptureSession,
                    r: CaptureRequest,
                    target: Surface,
                    frameNumber: Long,
                ) = settle(matcher.bufferLost())

                override fun onCaptureSequenceAborted(s: CameraCaptureSession, sequenceId: Int) =
                    settle(matcher.aborted("the still's capture sequence was aborted"))
            }, handler)
        }

        private fun onImage(from: ImageReader) {
            if (finished) return
            val image = try {
                from.acquireNextImage()
            } catch (error: IllegalStateException) {
                fail("no free image buffer (${error.message})")
                return
            } ?: return
            settle(matcher.imageArrived(image, image.timestamp))
        }

        private fun onTimeout() {
            if (finished) return
            val waited = SystemClock.elapsedRealtime() - startedAt
            if (!stillRequested) {
                fail("auto-exposure gave no frame to meter within $waited ms")
            } else {
                matcher.timedOut(waited)
                fail(matcher.failure() ?: "timed out after $waited ms")
            }
        }

        private fun settle(state: StillMatcher.State) {
            if (finished) return
            when (state) {
                StillMatcher.State.DONE -> deliver()
                StillMatcher.State.FAILED -> fail(matcher.failure() ?: "the capture failed")
                StillMatcher.State.WAITING -> Unit
            }
        }

        private fun deliver() {
            val image = matcher.takeImage() ?: return fail("the still's image was taken twice")
            val result = matcher.result() ?: return fail("the still has no result")
            val shot = try {
                pack(image, result)
            } catch (error: LsidException) {
                return fail(error.message ?: error.toString())
            } catch (error: OutOfMemoryError) {
                return fail("the frame is too large for this device's memory")
            } catch (error: Exception) {
                return fail(describe(error))
            } finally {
                image.close()
            }
            finish()
            callback.onShot(shot)
        }

        /** Ends the capture with a message (once; later calls do nothing). */
        fun fail(message: String) {
            if (finished) return
            finish()
            callback.onError("camera $id: $message")
        }

        /** Closes everything this capture opened, in every outcome. */
        private fun finish() {
            finished = true
            handler.removeCallbacks(timeout)
            matcher.aborted("closed")
            matcher.close()
            runCatching { device?.close() } // closes the session too
            runCatching { reader.close() }
            runCatching { meterReader?.close() }
            if (attempt === this) attempt = null
        }

        /** Runs Camera2 calls; any exception they throw ends the capture with a message. */
        private inline fun guard(block: () -> Unit) {
            try {
                block()
            } catch (error: Exception) {
                fail(describe(error))
            }
        }

        private fun pack(image: Image, result: TotalCaptureResult): Shot {
            val source = "camera $id"
            val cfa = CfaPattern.fromCamera2(
                characteristics.get(CameraCharacteristics.SENSOR_INFO_COLOR_FILTER_ARRANGEMENT),
                source,
            )
            val black = Array(2) { DoubleArray(2) }
            val dynamic = result.get(CaptureResult.SENSOR_DYNAMIC_BLACK_LEVEL)
            val pattern = characteristics.get(CameraCharacteristics.SENSOR_BLACK_LEVEL_PATTERN)
            for (row in 0..1) {
                for (column in 0..1) {
                    black[row][column] = when {
                        dynamic != null && dynamic.size == 4 -> dynamic[row * 2 + column].toDouble()
                        pattern != null -> pattern.getOffsetForIndex(column, row).toDouble()
                        else -> throw LsidException("$source: publishes no black level")
                    }
                }
            }
            val white = result.get(CaptureResult.SENSOR_DYNAMIC_WHITE_LEVEL)
                ?: characteristics.get(CameraCharacteristics.SENSOR_INFO_WHITE_LEVEL)
                ?: throw LsidException("$source: publishes no white level")
            val gains = result.get(CaptureResult.COLOR_CORRECTION_GAINS)?.let {
                val green = (it.greenEven + it.greenOdd) / 2f
                floatArrayOf(it.red / green, 1f, it.blue / green)
            }
            val exposure = result.get(CaptureResult.SENSOR_EXPOSURE_TIME) ?: 0L
            val sensitivity = result.get(CaptureResult.SENSOR_SENSITIVITY)
            val pixelArray = characteristics.get(CameraCharacteristics.SENSOR_INFO_PIXEL_ARRAY_SIZE)
            val active = characteristics.get(
                CameraCharacteristics.SENSOR_INFO_PRE_CORRECTION_ACTIVE_ARRAY_SIZE)
            val area = ActiveArea.forCamera2(image.width, image.height,
                pixelArray?.width ?: image.width, pixelArray?.height ?: image.height,
                active?.let { intArrayOf(it.left, it.top, it.right, it.bottom) }, source)
            val plane = image.planes[0]
            val matrix = xyzToCamera(source)
            val frame = RawFrame(area.crop(plane.buffer, plane.rowStride, plane.pixelStride),
                area.width, area.height, plane.rowStride, plane.pixelStride, cfa, black,
                white.toDouble(), gains, exposure, matrix, source)
            val planned = plan
            val exposed = planned?.let { ShotDescription.night(it) }
                ?: ShotDescription.auto(exposure, sensitivity)
            // Upright for the way the phone was held: JPEG (through the bitmaps) and DNG alike.
            val exif = Orientation.exifOfCapture(
                characteristics.get(CameraCharacteristics.SENSOR_ORIENTATION) ?: 0,
                characteristics.get(CameraCharacteristics.LENS_FACING) ==
                    CameraMetadata.LENS_FACING_FRONT,
                displayRotation)
            // Packing, the mean and the DNG copy what they need: the image closes right after.
            return Shot(BayerPacker.pack(frame), gains, exposure, source, matrix,
                AsShotColour.cameraMean(frame),
                plannedRatio = planned?.ratio, exposure = exposed,
                dng = dng(image, result, exposed, exif),
                orientation = Orientation.flipOfExif(exif))
        }

        /**
         * The capture as a DNG (DngCreator writes the whole image with its ActiveArea, CFA,
         * levels, colour matrices and calibration), or null when it cannot be written; the
         * enhancement does not need it.
         */
        private fun dng(image: Image, result: TotalCaptureResult, exposed: String,
                        exif: Int): ByteArray? =
            try {
                DngCreator(characteristics, result).use { creator ->
                    // Read back by DngReader + ShotDescription when the DNG is opened again.
                    creator.setDescription(ShotDescription.forDng(exposed))
                    // The EXIF Orientation whose flip code lays out the bitmaps (Shot).
                    creator.setOrientation(exif)
                    val out = ByteArrayOutputStream(image.width * image.height * 2 + 65536)
                    creator.writeImage(out, image)
                    out.toByteArray()
                }
            } catch (error: Exception) {
                callback.onProgress("camera $id: the DNG could not be written " +
                    "(${describe(error)}); the enhancement goes on without it")
                null
            } catch (error: OutOfMemoryError) {
                callback.onProgress("camera $id: no memory for the DNG; the enhancement goes " +
                    "on without it")
                null
            }

        /** XYZ -> this unit's camera matrix by [SensorColourTransform]'s rule, or null. */
        private fun xyzToCamera(source: String): Array<DoubleArray>? {
            val first = SensorColourTransform.Calibration(
                characteristics.get(CameraCharacteristics.SENSOR_REFERENCE_ILLUMINANT1),
                matrix(characteristics.get(CameraCharacteristics.SENSOR_COLOR_TRANSFORM1)),
                matrix(characteristics.get(CameraCharacteristics.SENSOR_CALIBRATION_TRANSFORM1)))
            val second = SensorColourTransform.Calibration(
                characteristics.get(CameraCharacteristics.SENSOR_REFERENCE_ILLUMINANT2)?.toInt(),
                matrix(characteristics.get(CameraCharacteristics.SENSOR_COLOR_TRANSFORM2)),
                matrix(characteristics.get(CameraCharacteristics.SENSOR_CALIBRATION_TRANSFORM2)))
            return SensorColourTransform.xyzToCamera(first, second, source)
        }
    }

    /** A row-major 3x3 copy of a Camera2 transform, or null. */
    private fun matrix(transform: ColorSpaceTransform?): Array<DoubleArray>? =
        transform?.let { t ->
            Array(3) { row -> DoubleArray(3) { column -> t.getElement(column, row).toDouble() } }
        }

    private fun deviceError(error: Int): String = when (error) {
        CameraDevice.StateCallback.ERROR_CAMERA_IN_USE -> "in use by another client"
        CameraDevice.StateCallback.ERROR_MAX_CAMERAS_IN_USE -> "too many cameras open"
        CameraDevice.StateCallback.ERROR_CAMERA_DISABLED -> "disabled by policy"
        CameraDevice.StateCallback.ERROR_CAMERA_DEVICE -> "fatal device error"
        CameraDevice.StateCallback.ERROR_CAMERA_SERVICE -> "camera service error"
        else -> "unknown"
    }

    private fun describe(error: Throwable): String =
        "${error.javaClass.simpleName}: ${error.message ?: "no message"}"

    companion object {
        /** Frames of auto exposure before the still capture, at most. */
        const val METERING_FRAMES = 30

        /** Metering stream size at most (1080p): auto-exposure needs no more. */
        const val METER_PIXELS = 1920L * 1080L

        /** RAW buffers in the reader: the still plus, without a YUV stream, metering frames. */
        const val MAX_IMAGES = 3

        /** A capture that has not ended after this long is ended with a message. */
        const val TIMEOUT_MS = 15_000L
    }
}
