package org.lsid.demo

import android.annotation.SuppressLint
import android.content.Context
import android.graphics.ImageFormat
import android.hardware.camera2.CameraCaptureSession
import android.hardware.camera2.CameraCharacteristics
import android.hardware.camera2.CameraDevice
import android.hardware.camera2.CameraManager
import android.hardware.camera2.CameraMetadata
import android.hardware.camera2.CaptureRequest
import android.hardware.camera2.CaptureResult
import android.hardware.camera2.TotalCaptureResult
import android.hardware.camera2.params.OutputConfiguration
import android.hardware.camera2.params.SessionConfiguration
import android.media.Image
import android.media.ImageReader
import android.os.Handler
import java.util.concurrent.Executor
import org.lsid.core.AsShotColour
import org.lsid.core.BayerPacker
import org.lsid.core.CfaPattern
import org.lsid.core.LsidException
import org.lsid.core.RawFrame

/**
 * Captures one `RAW_SENSOR` frame with Camera2 and packs it with the core.
 *
 * Only cameras that report `REQUEST_AVAILABLE_CAPABILITIES_RAW` are used. The CFA arrangement
 * and white level come from the characteristics; the black level from the capture result's
 * `SENSOR_DYNAMIC_BLACK_LEVEL` when the device publishes it, else the static
 * `SENSOR_BLACK_LEVEL_PATTERN`; the white level from `SENSOR_DYNAMIC_WHITE_LEVEL` likewise;
 * white-balance gains from `COLOR_CORRECTION_GAINS`, exposure from `SENSOR_EXPOSURE_TIME`. The
 * image plane's row and pixel strides are passed to [RawFrame] as they are.
 *
 * Auto exposure runs for up to [METERING_FRAMES] frames on the RAW stream before the still
 * capture (no preview surface is needed).
 */
class RawCamera(context: Context, private val handler: Handler, private val executor: Executor) {
    private val manager = context.getSystemService(CameraManager::class.java)

    /** Result of [capture], on the handler's thread. */
    interface Callback {
        fun onShot(shot: Shot)
        fun onError(message: String)
    }

    /** The first back-facing (else any) camera that can deliver RAW, or null. */
    fun rawCameraId(): String? {
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

    /** Opens the RAW camera, meters, captures one frame, packs it and closes the camera. */
    @SuppressLint("MissingPermission") // the activity asks for CAMERA before calling
    fun capture(callback: Callback) {
        val id = rawCameraId()
        if (id == null) {
            callback.onError("No camera on this device reports the RAW capability " +
                "(REQUEST_AVAILABLE_CAPABILITIES_RAW); open a DNG instead")
            return
        }
        val characteristics = manager.getCameraCharacteristics(id)
        val sizes = characteristics.get(CameraCharacteristics.SCALER_STREAM_CONFIGURATION_MAP)
            ?.getOutputSizes(ImageFormat.RAW_SENSOR)
        val size = sizes?.maxByOrNull { it.width.toLong() * it.height }
        if (size == null) {
            callback.onError("camera $id: no RAW_SENSOR output size")
            return
        }
        val reader = ImageReader.newInstance(size.width, size.height, ImageFormat.RAW_SENSOR, 3)
        manager.openCamera(id, executor, object : CameraDevice.StateCallback() {
            override fun onOpened(device: CameraDevice) {
                Session(id, device, characteristics, reader, callback).start()
            }

            override fun onDisconnected(device: CameraDevice) {
                device.close()
                reader.close()
            }

            override fun onError(device: CameraDevice, error: Int) {
                device.close()
                reader.close()
                handler.post { callback.onError("camera $id: could not be opened (error $error)") }
            }
        })
    }

    private inner class Session(
        private val id: String,
        private val device: CameraDevice,
        private val characteristics: CameraCharacteristics,
        private val reader: ImageReader,
        private val callback: Callback,
    ) {
        // stillRequested is set on the executor, read on the handler's thread; the rest lives
        // on the handler's thread.
        private var metered = 0
        @Volatile private var stillRequested = false
        private var stillResult: TotalCaptureResult? = null
        private var stillImage: Image? = null

        fun start() {
            reader.setOnImageAvailableListener({ r ->
                val image = r.acquireNextImage() ?: return@setOnImageAvailableListener
                if (stillRequested && stillImage == null &&
                    (stillResult == null || stillResult!!.get(CaptureResult.SENSOR_TIMESTAMP) ==
                        image.timestamp)
                ) {
                    stillImage = image
                    finishIfReady()
                } else {
                    image.close() // metering frames
                }
            }, handler)
            val outputs = listOf(OutputConfiguration(reader.surface))
            val config = SessionConfiguration(SessionConfiguration.SESSION_REGULAR, outputs,
                executor, object : CameraCaptureSession.StateCallback() {
                    override fun onConfigured(session: CameraCaptureSession) = meter(session)
                    override fun onConfigureFailed(session: CameraCaptureSession) =
                        fail("camera $id: the RAW capture session could not be configured")
                })
            device.createCaptureSession(config)
        }

        private fun meter(session: CameraCaptureSession) {
            val request = device.createCaptureRequest(CameraDevice.TEMPLATE_PREVIEW).apply {
                addTarget(reader.surface)
            }.build()
            session.setSingleRepeatingRequest(request, executor,
                object : CameraCaptureSession.CaptureCallback() {
                    override fun onCaptureCompleted(
                        s: CameraCaptureSession,
                        r: CaptureRequest,
                        result: TotalCaptureResult,
                    ) {
                        metered++
                        val state = result.get(CaptureResult.CONTROL_AE_STATE)
                        val converged = state == CaptureResult.CONTROL_AE_STATE_CONVERGED ||
                            state == CaptureResult.CONTROL_AE_STATE_FLASH_REQUIRED ||
                            state == null
                        if (!stillRequested && (converged || metered >= METERING_FRAMES)) {
                            stillRequested = true
                            s.stopRepeating()
                            still(s)
                        }
                    }
                })
        }

        private fun still(session: CameraCaptureSession) {
            val request = device.createCaptureRequest(CameraDevice.TEMPLATE_STILL_CAPTURE).apply {
                addTarget(reader.surface)
                // The network does its own denoising: ask for the sensor's data untouched.
                set(CaptureRequest.NOISE_REDUCTION_MODE, CaptureRequest.NOISE_REDUCTION_MODE_OFF)
            }.build()
            session.capture(request, object : CameraCaptureSession.CaptureCallback() {
                override fun onCaptureCompleted(
                    s: CameraCaptureSession,
                    r: CaptureRequest,
                    result: TotalCaptureResult,
                ) {
                    handler.post {
                        stillResult = result
                        val image = stillImage
                        if (image != null &&
                            result.get(CaptureResult.SENSOR_TIMESTAMP) != image.timestamp
                        ) {
                            image.close() // a late metering frame; the still one follows
                            stillImage = null
                        }
                        finishIfReady()
                    }
                }
            }, handler)
        }

        private fun finishIfReady() {
            val image = stillImage ?: return
            val result = stillResult ?: return
            try {
                callback.onShot(pack(image, result))
            } catch (error: LsidException) {
                callback.onError(error.message ?: error.toString())
            } finally {
                image.close()
                close()
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
            val plane = image.planes[0]
            val frame = RawFrame(plane.buffer, image.width, image.height, plane.rowStride,
                plane.pixelStride, cfa, black, white.toDouble(), gains, exposure, source)
            // Packing and the mean copy what they need: the image can be closed right after.
            return Shot(BayerPacker.pack(frame), gains, exposure, source, xyzToCamera(),
                AsShotColour.cameraMean(frame))
        }

        /**
         * `SENSOR_COLOR_TRANSFORM2` when its reference illuminant is D65 and the first's is
         * not, else `SENSOR_COLOR_TRANSFORM1` (XYZ -> reference sensor colour space, the DNG
         * ColorMatrix `DngCreator` writes); null when the camera publishes neither.
         */
        private fun xyzToCamera(): Array<DoubleArray>? {
            val first = characteristics.get(CameraCharacteristics.SENSOR_COLOR_TRANSFORM1)
            val second = characteristics.get(CameraCharacteristics.SENSOR_COLOR_TRANSFORM2)
            val d65 = CameraMetadata.SENSOR_REFERENCE_ILLUMINANT1_D65
            val firstIsD65 =
                characteristics.get(CameraCharacteristics.SENSOR_REFERENCE_ILLUMINANT1) == d65
            val secondIsD65 = characteristics
                .get(CameraCharacteristics.SENSOR_REFERENCE_ILLUMINANT2)?.toInt() == d65
            val chosen = if (second != null && secondIsD65 && !firstIsD65) second else first
                ?: return null
            return Array(3) { row ->
                DoubleArray(3) { column -> chosen.getElement(column, row).toDouble() }
            }
        }

        private fun fail(message: String) {
            handler.post { callback.onError(message) }
            close()
        }

        private fun close() {
            device.close()
            reader.close()
        }
    }

    companion object {
        /** Frames of auto exposure before the still capture, at most. */
        const val METERING_FRAMES = 30
    }
}
