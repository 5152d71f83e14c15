package org.lsid.demo

import android.Manifest
import android.content.pm.PackageManager
import android.os.Build
import android.os.Bundle
import android.view.Surface
import android.view.View
import android.widget.Button
import android.widget.CheckBox
import android.widget.ImageView
import android.widget.ProgressBar
import android.widget.SeekBar
import android.widget.TextView
import androidx.activity.enableEdgeToEdge
import androidx.activity.result.contract.ActivityResultContracts
import androidx.activity.viewModels
import androidx.appcompat.app.AppCompatActivity
import androidx.core.content.ContextCompat
import androidx.core.view.ViewCompat
import androidx.core.view.WindowInsetsCompat
import org.lsid.core.Orientation
import org.lsid.core.RatioChoice

/**
 * Capture or open a RAW frame, enhance it with the exported model, show before / after, save.
 *
 * Renders [DemoViewModel.state] and forwards taps to [DemoViewModel]; holds nothing that must
 * outlive a rotation. Packing, tiling, exposure planning, the ratio rule and the card live in
 * the core module; Camera2 in [RawCamera]; LiteRT in [LiteRtTileModel] / [ModelSession].
 */
class MainActivity : AppCompatActivity() {
    private val model: DemoViewModel by viewModels()

    private lateinit var status: TextView
    private lateinit var ratioLabel: TextView
    private lateinit var ratio: SeekBar
    private lateinit var autoRatio: CheckBox
    private lateinit var nightShot: CheckBox
    private lateinit var useGpu: CheckBox
    private lateinit var asShotColour: CheckBox
    private lateinit var autoBright: CheckBox
    private lateinit var capture: Button
    private lateinit var enhance: Button
    private lateinit var cancel: Button
    private lateinit var save: Button
    private lateinit var progress: ProgressBar
    private lateinit var before: ImageView
    private lateinit var after: ImageView

    /** Set while [render] writes the views, so their listeners do not echo it back. */
    private var rendering = false

    private val askCamera = registerForActivityResult(ActivityResultContracts.RequestPermission()) {
        granted -> if (granted) model.capture(nightShot.isChecked, displayRotation())
            else status.text = getString(R.string.camera_denied)
    }

    private val pickDng = registerForActivityResult(ActivityResultContracts.OpenDocument()) {
        uri -> if (uri != null) model.open(uri)
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        // targetSdk 35+ draws behind the system bars: the root view takes their insets.
        enableEdgeToEdge()
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        val root = findViewById<View>(R.id.root)
        ViewCompat.setOnApplyWindowInsetsListener(root) { view, insets ->
            val bars = insets.getInsets(
                WindowInsetsCompat.Type.systemBars() or WindowInsetsCompat.Type.displayCutout())
            view.setPadding(bars.left, bars.top, bars.right, bars.bottom)
            WindowInsetsCompat.CONSUMED
        }
        status = findViewById(R.id.status)
        ratioLabel = findViewById(R.id.ratio_label)
        ratio = findViewById(R.id.ratio)
        autoRatio = findViewById(R.id.auto_ratio)
        nightShot = findViewById(R.id.night_shot)
        useGpu = findViewById(R.id.use_gpu)
        asShotColour = findViewById(R.id.as_shot_colour)
        autoBright = findViewById(R.id.auto_bright)
        capture = findViewById(R.id.capture)
        enhance = findViewById(R.id.enhance)
        cancel = findViewById(R.id.cancel)
        save = findViewById(R.id.save)
        progress = findViewById(R.id.progress)
        before = findViewById(R.id.before)
        after = findViewById(R.id.after)

        ratio.max = DemoViewModel.MAX_RATIO - 1 // progress 0..299 is x1..x300
        ratio.setOnSeekBarChangeListener(object : SeekBar.OnSeekBarChangeListener {
            override fun onProgressChanged(bar: SeekBar, value: Int, fromUser: Boolean) {
                if (fromUser && !rendering) model.setSliderRatio(value + 1)
            }
            override fun onStartTrackingTouch(bar: SeekBar) = Unit
            override fun onStopTrackingTouch(bar: SeekBar) = model.preview()
        })
        autoRatio.setOnCheckedChangeListener { _, checked ->
            if (!rendering) model.setAutoRatio(checked)
        }
        capture.setOnClickListener {
            if (ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA) ==
                PackageManager.PERMISSION_GRANTED
            ) model.capture(nightShot.isChecked, displayRotation())
            else askCamera.launch(Manifest.permission.CAMERA)
        }
        findViewById<Button>(R.id.open_dng).setOnClickListener {
            pickDng.launch(arrayOf("image/x-adobe-dng", "image/dng", "application/octet-stream"))
        }
        enhance.setOnClickListener {
            model.enhance(useGpu.isChecked, asShotColour.isChecked, autoBright.isChecked)
        }
        cancel.setOnClickListener { model.cancel() }
        save.setOnClickListener { model.save() }

        model.state.observe(this) { render(it) }
    }

    /**
     * The screen's rotation from its natural orientation now, in degrees: the shot is laid out
     * upright for the way the phone is held ([Orientation.exifOfCapture]).
     */
    private fun displayRotation(): Int {
        val screen = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) display
            else @Suppress("DEPRECATION") windowManager.defaultDisplay
        return Orientation.degreesOfSurfaceRotation(screen?.rotation ?: Surface.ROTATION_0)
    }

    private fun render(state: DemoViewModel.UiState) {
        rendering = true
        try {
            status.text = state.status
            ratioLabel.text = state.ratioLabel
            val auto = state.ratioMode == RatioChoice.Mode.AUTO
            if (autoRatio.isChecked != auto) autoRatio.isChecked = auto
            ratio.isEnabled = !auto
            if (ratio.progress != state.sliderRatio - 1) ratio.progress = state.sliderRatio - 1
            capture.isEnabled = !state.capturing
            enhance.isEnabled = state.shot != null && state.modelReady && !state.enhancing &&
                !state.capturing
            cancel.isEnabled = state.enhancing
            save.isEnabled = state.after != null && !state.enhancing
            progress.max = state.progressMax
            progress.progress = if (state.enhancing || state.after != null) state.progress else 0
            before.setImageBitmap(state.before)
            after.setImageBitmap(state.after)
        } finally {
            rendering = false
        }
    }
}
