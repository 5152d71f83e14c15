package org.lsid.demo

import android.Manifest
import android.content.pm.PackageManager
import android.graphics.Bitmap
import android.net.Uri
import android.os.Bundle
import android.os.Handler
import android.os.HandlerThread
import android.os.Looper
import android.provider.OpenableColumns
import android.widget.Button
import android.widget.CheckBox
import android.widget.ImageView
import android.widget.ProgressBar
import android.widget.SeekBar
import android.widget.TextView
import androidx.activity.result.contract.ActivityResultContracts
import androidx.appcompat.app.AppCompatActivity
import androidx.core.content.ContextCompat
import java.io.IOException
import java.nio.ByteBuffer
import java.util.Locale
import java.util.concurrent.Executors
import org.lsid.core.AsShotColour
import org.lsid.core.AutoRatio
import org.lsid.core.BayerPacker
import org.lsid.core.DngReader
import org.lsid.core.LsidException
import org.lsid.core.RawPreview

/**
 * Capture or open a RAW frame, enhance it with the exported model, show before / after, save.
 *
 * Glue only: packing, tiling, the ratio rule and the card live in the core module; LiteRT in
 * [LiteRtTileModel]; Camera2 in [RawCamera]. All model work runs on one worker thread.
 */
class MainActivity : AppCompatActivity() {
    private val worker = Executors.newSingleThreadExecutor()
    private val main = Handler(Looper.getMainLooper())
    private lateinit var cameraThread: HandlerThread
    private lateinit var camera: RawCamera

    private var bundle: ModelAssets.Loaded? = null
    private var shot: Shot? = null
    private var task: EnhanceTask? = null
    private var result: Bitmap? = null

    private lateinit var status: TextView
    private lateinit var ratioLabel: TextView
    private lateinit var ratio: SeekBar
    private lateinit var autoRatio: CheckBox
    private lateinit var useGpu: CheckBox
    private lateinit var asShotColour: CheckBox
    private lateinit var enhance: Button
    private lateinit var cancel: Button
    private lateinit var save: Button
    private lateinit var progress: ProgressBar
    private lateinit var before: ImageView
    private lateinit var after: ImageView

    private val askCamera = registerForActivityResult(ActivityResultContracts.RequestPermission()) {
        granted -> if (granted) capture() else say(getString(R.string.camera_denied))
    }

    private val pickDng = registerForActivityResult(ActivityResultContracts.OpenDocument()) {
        uri -> if (uri != null) open(uri)
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        status = findViewById(R.id.status)
        ratioLabel = findViewById(R.id.ratio_label)
        ratio = findViewById(R.id.ratio)
        autoRatio = findViewById(R.id.auto_ratio)
        useGpu = findViewById(R.id.use_gpu)
        asShotColour = findViewById(R.id.as_shot_colour)
        enhance = findViewById(R.id.enhance)
        cancel = findViewById(R.id.cancel)
        save = findViewById(R.id.save)
        progress = findViewById(R.id.progress)
        before = findViewById(R.id.before)
        after = findViewById(R.id.after)

        cameraThread = HandlerThread("camera").apply { start() }
        camera = RawCamera(this, Handler(cameraThread.looper), worker)

        ratio.max = MAX_RATIO - 1 // progress 0..299 is x1..x300
        ratio.progress = 99
        ratio.setOnSeekBarChangeListener(object : SeekBar.OnSeekBarChangeListener {
            override fun onProgressChanged(bar: SeekBar, value: Int, fromUser: Boolean) =
                showRatio()
            override fun onStartTrackingTouch(bar: SeekBar) = Unit
            override fun onStopTrackingTouch(bar: SeekBar) = preview()
        })
        autoRatio.setOnCheckedChangeListener { _, _ -> showRatio(); preview() }
        showRatio()

        findViewById<Button>(R.id.capture).setOnClickListener {
            if (ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA) ==
                PackageManager.PERMISSION_GRANTED
            ) capture() else askCamera.launch(Manifest.permission.CAMERA)
        }
        findViewById<Button>(R.id.open_dng).setOnClickListener {
            pickDng.launch(arrayOf("image/x-adobe-dng", "image/dng", "application/octet-stream"))
        }
        enhance.setOnClickListener { runEnhance() }
        cancel.setOnClickListener { task?.cancel() }
        save.setOnClickListener { saveResult() }

        worker.execute {
            try {
                val loaded = ModelAssets.load(this)
                val card = loaded.card
                main.post {
                    bundle = loaded
                    say("model: ${card.cameraName ?: card.cfaKind} ${card.quantization}, " +
                        "tile ${card.tile}, halo ${card.halo}" +
                        if (card.isGlobal) ", global: two passes (K ${card.globalBranch.channels})"
                        else "")
                }
            } catch (error: LsidException) {
                main.post { say(error.message ?: error.toString()) }
            }
        }
    }

    override fun onDestroy() {
        task?.cancel()
        worker.shutdown()
        cameraThread.quitSafely()
        super.onDestroy()
    }

    private fun say(text: String) {
        status.text = text
    }

    /** The slider's ratio, or null when automatic. */
    private fun chosenRatio(): Double? =
        if (autoRatio.isChecked) null else (ratio.progress + 1).toDouble()

    private fun showRatio() {
        val current = shot
        ratioLabel.text = when {
            !autoRatio.isChecked -> "ratio x${ratio.progress + 1}"
            current == null -> "ratio: automatic"
            else -> String.format(Locale.US, "ratio: automatic, x%.1f",
                AutoRatio.estimate(current.packed))
        }
        ratio.isEnabled = !autoRatio.isChecked
    }

    private fun preview() {
        val current = shot ?: return
        val gain = chosenRatio() ?: AutoRatio.estimate(current.packed)
        worker.execute {
            val packed = current.packed
            val bitmap = Bitmap.createBitmap(
                RawPreview.toArgb(packed, gain.toFloat(), current.whiteBalance),
                packed.width, packed.height, Bitmap.Config.ARGB_8888)
            main.post { before.setImageBitmap(bitmap) }
        }
    }

    private fun loaded(newShot: Shot) {
        shot = newShot
        result = null
        after.setImageDrawable(null)
        save.isEnabled = false
        enhance.isEnabled = bundle != null
        val exposure = if (newShot.exposureNs > 0) {
            String.format(Locale.US, ", %.4f s", newShot.exposureNs / 1e9)
        } else ""
        say("${newShot.source}: packed ${newShot.packed.width} x ${newShot.packed.height}$exposure")
        showRatio()
        preview()
    }

    private fun capture() {
        say("capturing RAW ...")
        camera.capture(object : RawCamera.Callback {
            override fun onShot(shot: Shot) {
                main.post { loaded(shot) }
            }

            override fun onError(message: String) {
                main.post { say(message) }
            }
        })
    }

    private fun displayName(uri: Uri): String =
        contentResolver.query(uri, arrayOf(OpenableColumns.DISPLAY_NAME), null, null, null)
            ?.use { if (it.moveToFirst()) it.getString(0) else null } ?: uri.toString()

    private fun open(uri: Uri) {
        say("reading DNG ...")
        worker.execute {
            val name = displayName(uri)
            try {
                val bytes = contentResolver.openInputStream(uri)?.use { it.readBytes() }
                    ?: throw LsidException("$name: cannot be opened")
                val frame = DngReader.read(ByteBuffer.wrap(bytes), name)
                val opened = Shot(BayerPacker.pack(frame), frame.whiteBalance(),
                    frame.exposureTimeNs, name, frame.xyzToCamera(),
                    AsShotColour.cameraMean(frame))
                main.post { loaded(opened) }
            } catch (error: LsidException) {
                main.post { say(error.message ?: error.toString()) }
            } catch (error: IOException) {
                main.post { say("$name: cannot be read (${error.message})") }
            } catch (error: OutOfMemoryError) {
                main.post { say("$name: too large for this device's memory") }
            }
        }
    }

    private fun runEnhance() {
        val current = shot ?: return
        val model = bundle ?: return
        val threads = Runtime.getRuntime().availableProcessors().coerceIn(1, 4)
        val colour = if (asShotColour.isChecked) AsShotColour.Mode.AS_SHOT
            else AsShotColour.Mode.NETWORK
        val newTask = EnhanceTask(this, model, useGpu.isChecked, threads, colour,
            object : EnhanceTask.Listener {
                override fun onStarted(accelerator: String, tiles: Int, ratio: Double) {
                    main.post {
                        progress.max = tiles
                        progress.progress = 0
                        say(String.format(Locale.US, "%s: %d tiles at x%.1f", accelerator, tiles,
                            ratio))
                    }
                }

                override fun onTile(done: Int, total: Int, tileMillis: Double) {
                    main.post {
                        progress.progress = done
                        say(String.format(Locale.US, "tile %d / %d: %.0f ms", done, total,
                            tileMillis))
                    }
                }

                override fun onFinished(before: Bitmap, after: Bitmap, timing: EnhanceTask.Timing) {
                    main.post {
                        this@MainActivity.before.setImageBitmap(before)
                        this@MainActivity.after.setImageBitmap(after)
                        result = after
                        save.isEnabled = true
                        done()
                        say(String.format(Locale.US,
                            "%s, x%.1f: %d tiles, %.0f ms per tile, %.2f s in total",
                            timing.accelerator, timing.ratio, timing.tiles, timing.meanTileMillis,
                            timing.totalMillis / 1000))
                    }
                }

                override fun onCancelled() {
                    main.post { done(); say("cancelled") }
                }

                override fun onError(message: String) {
                    main.post { done(); say(message) }
                }
            })
        task = newTask
        enhance.isEnabled = false
        cancel.isEnabled = true
        val gain = chosenRatio()
        worker.execute { newTask.run(current, gain) }
    }

    private fun done() {
        task = null
        enhance.isEnabled = shot != null && bundle != null
        cancel.isEnabled = false
    }

    private fun saveResult() {
        val bitmap = result ?: return
        val name = "lsid_" + (shot?.source ?: "frame").replace(Regex("[^A-Za-z0-9_.-]"), "_")
            .substringBeforeLast(".dng") + "_" + System.currentTimeMillis()
        worker.execute {
            val message = try {
                "saved to the gallery: " + GallerySaver.saveJpeg(this, bitmap, name)
            } catch (error: IOException) {
                "$name: not saved (${error.message})"
            }
            main.post { say(message) }
        }
    }

    companion object {
        const val MAX_RATIO = 300
    }
}
