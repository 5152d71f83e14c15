package org.lsid.demo

import android.app.Application
import android.graphics.Bitmap
import android.net.Uri
import android.os.Handler
import android.os.HandlerThread
import android.provider.OpenableColumns
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.LiveData
import androidx.lifecycle.MutableLiveData
import java.io.IOException
import java.nio.ByteBuffer
import java.util.Locale
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.RejectedExecutionException
import org.lsid.core.AsShotColour
import org.lsid.core.BayerPacker
import org.lsid.core.DngReader
import org.lsid.core.LsidException
import org.lsid.core.RatioChoice
import org.lsid.core.RawPreview
import org.lsid.core.ShotDescription

/**
 * Everything the screen shows and does, kept across rotation and other configuration changes
 * (the activity only renders [state] and forwards taps).
 *
 * Three threads, none of them the UI's: the camera's `HandlerThread` (all Camera2 callbacks,
 * [RawCamera]), the model thread (compiling and running LiteRT, [ModelSession]: the GPU
 * accelerator is bound to the thread that compiled it) and an I/O thread (reading DNGs,
 * previews and the auto ratio, saving). One capture and one enhancement at a time; Cancel
 * stops an enhancement between tiles. [onCleared] ends all of it and releases the model.
 */
class DemoViewModel(application: Application) : AndroidViewModel(application) {
    /** What the screen shows. */
    data class UiState(
        val status: String = "loading the model ...",
        val modelReady: Boolean = false,
        val shot: Shot? = null,
        val before: Bitmap? = null,
        val after: Bitmap? = null,
        val capturing: Boolean = false,
        val enhancing: Boolean = false,
        val progress: Int = 0,
        val progressMax: Int = 1,
        val ratioMode: RatioChoice.Mode = RatioChoice.Mode.MANUAL,
        val sliderRatio: Int = DEFAULT_RATIO,
        /** The current shot's auto estimate once computed, else null. */
        val autoRatio: Double? = null,
    ) {
        val ratioLabel: String
            get() = RatioChoice.describe(ratioMode, when (ratioMode) {
                RatioChoice.Mode.PLANNED -> shot?.plannedRatio ?: autoRatio
                RatioChoice.Mode.MANUAL -> sliderRatio.toDouble()
                RatioChoice.Mode.AUTO -> autoRatio
            })
    }

    private val app = application
    private val lock = Any()
    private var current = UiState()
    private val live = MutableLiveData(current)
    val state: LiveData<UiState> get() = live

    private val cameraThread = HandlerThread("camera").apply { start() }
    private val camera = RawCamera(application, Handler(cameraThread.looper))
    private val modelThread: ExecutorService = Executors.newSingleThreadExecutor { runnable ->
        Thread(runnable, "model")
    }
    private val ioThread: ExecutorService = Executors.newSingleThreadExecutor { runnable ->
        Thread(runnable, "io")
    }
    @Volatile private var cleared = false
    @Volatile private var session: ModelSession? = null
    @Volatile private var task: EnhanceTask? = null
    private var prepared: PreparedShot? = null

    init {
        onModelThread {
            try {
                val loaded = ModelAssets.load(app)
                session = ModelSession(app, loaded)
                val card = loaded.card
                update { it.copy(modelReady = true, status = "model: " +
                    "${card.cameraName ?: card.cfaKind} ${card.quantization}, tile ${card.tile}, " +
                    "halo ${card.halo}" + if (card.isGlobal) ", global: encoder + decoder " +
                    "(K ${card.globalBranch.channels})" else "") }
            } catch (error: LsidException) {
                update { it.copy(status = error.message ?: error.toString()) }
            }
        }
    }

    private fun update(change: (UiState) -> UiState) {
        synchronized(lock) {
            current = change(current)
            live.postValue(current)
        }
    }

    private fun snapshot(): UiState = synchronized(lock) { current }

    private fun onModelThread(block: () -> Unit) = submit(modelThread, block)

    private fun onIoThread(block: () -> Unit) = submit(ioThread, block)

    /**
     * Runs on a worker unless the view model is gone (then the work is dropped, not thrown).
     * An exception a block lets through becomes the status line: on a worker thread it would
     * otherwise end the app.
     */
    private fun submit(executor: ExecutorService, block: () -> Unit) {
        if (cleared) return
        try {
            executor.execute {
                try {
                    block()
                } catch (error: Exception) {
                    update { it.copy(status = "${error.javaClass.simpleName}: " +
                        (error.message ?: "no message")) }
                }
            }
        } catch (ignored: RejectedExecutionException) {
            // cleared meanwhile
        }
    }

    /**
     * Captures a RAW frame: a night shot planned for the slider's ratio, or a normal one.
     *
     * @param displayRotation the screen's rotation at the tap in degrees (0, 90, 180, 270):
     *     the shot is shown and saved upright for it
     */
    fun capture(night: Boolean, displayRotation: Int) {
        val before = snapshot()
        if (before.capturing) return
        val target = before.sliderRatio.toDouble()
        update { it.copy(capturing = true, status = if (night)
            "night shot for x${before.sliderRatio} ..." else "capturing RAW ...") }
        camera.capture(if (night) RawCamera.Mode.NIGHT else RawCamera.Mode.NORMAL, target,
            displayRotation, object : RawCamera.Callback {
                override fun onProgress(message: String) = update { it.copy(status = message) }

                override fun onShot(shot: Shot) = loaded(shot)

                override fun onError(message: String) =
                    update { it.copy(capturing = false, status = message) }
            })
    }

    /** Reads a DNG from the file picker. */
    fun open(uri: Uri) {
        update { it.copy(status = "reading DNG ...") }
        onIoThread {
            val name = displayName(uri)
            try {
                val bytes = app.contentResolver.openInputStream(uri)?.use { it.readBytes() }
                    ?: throw LsidException("$name: cannot be opened")
                val frame = DngReader.read(ByteBuffer.wrap(bytes), name)
                // A night shot this app saved starts on its planned ratio, as when captured.
                loaded(Shot(BayerPacker.pack(frame), frame.whiteBalance(),
                    frame.exposureTimeNs, name, frame.xyzToCamera(),
                    AsShotColour.cameraMean(frame),
                    plannedRatio = ShotDescription.plannedRatio(frame.description),
                    orientation = frame.orientation))
            } catch (error: LsidException) {
                update { it.copy(status = error.message ?: error.toString()) }
            } catch (error: IOException) {
                update { it.copy(status = "$name: cannot be read (${error.message})") }
            } catch (error: SecurityException) {
                update { it.copy(status = "$name: no permission to read it (${error.message})") }
            } catch (error: OutOfMemoryError) {
                update { it.copy(status = "$name: too large for this device's memory") }
            }
        }
    }

    private fun displayName(uri: Uri): String = try {
        app.contentResolver.query(uri, arrayOf(OpenableColumns.DISPLAY_NAME), null, null, null)
            ?.use { if (it.moveToFirst()) it.getString(0) else null } ?: uri.toString()
    } catch (error: RuntimeException) {
        uri.toString()
    }

    private fun loaded(shot: Shot) {
        // An enhancement still running is for the previous frame: stop it.
        task?.cancel()
        val planned = shot.plannedRatio
        update {
            it.copy(
                shot = shot, after = null, before = null, capturing = false, autoRatio = null,
                ratioMode = RatioChoice.defaultFor(planned),
                sliderRatio = planned?.let { p -> Math.round(p).toInt().coerceIn(1, MAX_RATIO) }
                    ?: it.sliderRatio,
                status = "${shot.source}: packed ${shot.packed.width} x ${shot.packed.height}" +
                    (shot.exposure?.let { e -> ", $e" } ?: if (shot.exposureNs > 0)
                        String.format(Locale.US, ", %.4f s", shot.exposureNs / 1e9) else ""),
            )
        }
        preview()
    }

    /** The Auto box. */
    fun setAutoRatio(auto: Boolean) {
        update { it.copy(ratioMode = RatioChoice.afterAutoBox(auto, it.shot?.plannedRatio)) }
        preview()
    }

    /** The slider moved (by the user): the ratio is the slider's from now on. */
    fun setSliderRatio(ratio: Int) {
        update { it.copy(sliderRatio = ratio.coerceIn(1, MAX_RATIO),
            ratioMode = RatioChoice.Mode.MANUAL) }
    }

    /** The frame as the model takes it and its auto ratio, prepared once per shot and card. */
    private fun prepared(shot: Shot): PreparedShot = synchronized(lock) {
        val card = session?.bundle?.card
        prepared?.takeIf { it.isFor(shot, card) } ?: PreparedShot(shot, card).also {
            prepared = it
        }
    }

    /** The ratio the current choice gives; may compute the auto estimate (not on the UI). */
    private fun ratioFor(state: UiState, shot: Shot): Double {
        val ready = prepared(shot)
        return RatioChoice.resolve(state.ratioMode, shot.plannedRatio,
            state.sliderRatio.toDouble()) { ready.autoRatio }
    }

    /** Redraws "before" at the chosen ratio (off the UI thread). */
    fun preview() {
        val shot = snapshot().shot ?: return
        onIoThread {
            try {
                val state = snapshot()
                if (state.shot !== shot) return@onIoThread
                val gain = ratioFor(state, shot)
                val auto = if (state.ratioMode == RatioChoice.Mode.MANUAL) null else
                    prepared(shot).autoRatio
                val packed = shot.packed
                val bitmap = OrientedBitmap.of(
                    RawPreview.toArgb(packed, gain.toFloat(), shot.whiteBalance),
                    packed.height, packed.width, shot.orientation)
                update { if (it.shot === shot) it.copy(before = bitmap, autoRatio = auto) else it }
            } catch (error: LsidException) {
                update { it.copy(status = error.message ?: error.toString()) }
            } catch (error: OutOfMemoryError) {
                update { it.copy(status = "${shot.source}: no memory for the preview") }
            }
        }
    }

    /**
     * Enhances the current shot; ignored while one runs.
     *
     * @param asShotColour the camera's white balance ([AsShotColour.Mode.AS_SHOT]), else the
     *     network's colour
     * @param autoBright LibRaw's auto-bright after the colour (`lsid enhance`'s default), else
     *     the network's exposure
     */
    fun enhance(useGpu: Boolean, asShotColour: Boolean, autoBright: Boolean) {
        val state = snapshot()
        val shot = state.shot ?: return
        val modelSession = session ?: return
        if (state.enhancing || task != null) return
        val threads = Runtime.getRuntime().availableProcessors().coerceIn(1, 4)
        val colour = if (asShotColour) AsShotColour.Mode.AS_SHOT else AsShotColour.Mode.NETWORK
        val newTask = EnhanceTask(modelSession, useGpu, threads, colour, autoBright,
            object : EnhanceTask.Listener {
                override fun onStarted(accelerator: String, tiles: Int, ratio: Double) =
                    update { it.copy(progress = 0, progressMax = tiles, status = String.format(
                        Locale.US, "%s: %d tiles at x%.1f", accelerator, tiles, ratio)) }

                override fun onTile(done: Int, total: Int, tileMillis: Double) =
                    update { it.copy(progress = done, status = String.format(Locale.US,
                        "tile %d / %d: %.0f ms", done, total, tileMillis)) }

                override fun onFinished(before: Bitmap, after: Bitmap,
                                        timing: EnhanceTask.Timing) =
                    finished { if (it.shot !== shot) it else it.copy(before = before,
                        after = after, status = String.format(Locale.US,
                            "%s, x%.1f: %d tiles, %.0f ms per tile, %.2f s in total",
                            timing.accelerator, timing.ratio, timing.tiles,
                            timing.meanTileMillis, timing.totalMillis / 1000)) }

                // A newer frame's status is not overwritten by this (cancelled) run's end.
                override fun onCancelled() =
                    finished { if (it.shot !== shot) it else it.copy(status = "cancelled") }

                override fun onError(message: String) =
                    finished { if (it.shot !== shot) it else it.copy(status = message) }
            })
        task = newTask
        update { it.copy(enhancing = true, after = null, status = "compiling the model ...") }
        onModelThread {
            try {
                // The ratio first: an auto estimate maps the frame for itself and drops it.
                val gain = ratioFor(snapshot(), shot)
                newTask.run(shot, prepared(shot).input(), gain)
            } catch (error: LsidException) {
                finished { it.copy(status = error.message ?: error.toString()) }
            } catch (error: OutOfMemoryError) {
                finished { it.copy(status = "${shot.source}: no memory to prepare the frame") }
            } catch (error: Exception) {
                finished { it.copy(status = "${error.javaClass.simpleName}: " +
                    (error.message ?: "no message")) }
            }
        }
    }

    private fun finished(change: (UiState) -> UiState) {
        task = null
        update { change(it).copy(enhancing = false) }
    }

    /** Stops the running enhancement before its next tile. */
    fun cancel() {
        val running = task ?: return
        running.cancel()
        update { it.copy(status = "cancelling after this tile ...") }
    }

    /** Saves the enhanced JPEG and, for a capture, its DNG beside it. */
    fun save() {
        val state = snapshot()
        val bitmap = state.after ?: return
        val shot = state.shot
        val name = "lsid_" + (shot?.source ?: "frame").replace(Regex("[^A-Za-z0-9_.-]"), "_")
            .removeSuffix(".dng").removeSuffix(".DNG") + "_" + System.currentTimeMillis()
        onIoThread {
            val message = try {
                val jpeg = GallerySaver.saveJpeg(app, bitmap, name)
                val raw = try {
                    shot?.dng?.let { ", RAW: " + GallerySaver.saveDng(app, it, name) } ?: ""
                } catch (error: IOException) {
                    "; the RAW was not saved (${error.message})"
                }
                "saved to the gallery: $jpeg$raw"
            } catch (error: IOException) {
                "$name: not saved (${error.message})"
            }
            update { it.copy(status = message) }
        }
    }

    override fun onCleared() {
        cleared = true
        task?.cancel()
        camera.abort()
        cameraThread.quitSafely() // after the abort just posted: the camera closes first
        val ending = session
        session = null
        // The compiled model is released on the thread that compiled it, after a running
        // enhancement stops at its next tile.
        try {
            modelThread.execute { ending?.release() }
        } catch (ignored: RejectedExecutionException) {
        }
        modelThread.shutdown()
        ioThread.shutdown()
        super.onCleared()
    }

    companion object {
        const val MAX_RATIO = 300
        const val DEFAULT_RATIO = 100
    }
}
