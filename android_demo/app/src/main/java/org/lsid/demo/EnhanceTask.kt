package org.lsid.demo

import android.content.Context
import android.graphics.Bitmap
import java.util.concurrent.CancellationException
import java.util.concurrent.atomic.AtomicBoolean
import org.lsid.core.AsShotColour
import org.lsid.core.AutoRatio
import org.lsid.core.Blend
import org.lsid.core.ColourMapping
import org.lsid.core.LsidException
import org.lsid.core.ModelCard
import org.lsid.core.PackedImage
import org.lsid.core.RawPreview
import org.lsid.core.TiledRunner

/**
 * Enhances one [Shot] as `lsid enhance` does: map another camera's frame into the model's
 * training camera ([ColourMapping], when the frame and the card carry XYZ -> camera matrices),
 * amplify (the slider's ratio, or [AutoRatio] as `--ratio auto`, on the mapped frame), run the
 * model tile by tile with the card's tile and halo, give the stitched output the as-shot
 * colour ([AsShotColour], as `--colour as-shot`; [colour] NETWORK keeps the network's) and
 * build the before/after bitmaps. A
 * global model (GIA-Net, SE-UNet) runs in two passes as `lsid enhance` runs it: every tile
 * through its features file for the frame's bottleneck average, then every tile through the
 * main file with that average (the core's [TiledRunner.forGlobalCard]). Runs on the caller's
 * (worker) thread; reports through [Listener].
 */
class EnhanceTask(
    private val context: Context,
    private val bundle: ModelAssets.Loaded,
    private val useGpu: Boolean,
    private val cpuThreads: Int,
    private val colour: AsShotColour.Mode,
    private val listener: Listener,
) {
    private val card: ModelCard = bundle.card

    /** Progress and results; called on the worker thread (post to the UI yourself). */
    interface Listener {
        /** @param tiles tile runs: the plan's tiles, twice for a global model's two passes */
        fun onStarted(accelerator: String, tiles: Int, ratio: Double)
        fun onTile(done: Int, total: Int, tileMillis: Double)
        fun onFinished(before: Bitmap, after: Bitmap, timing: Timing)
        fun onCancelled()
        fun onError(message: String)
    }

    /** Timing of a run, milliseconds. */
    class Timing(
        val accelerator: String,
        val ratio: Double,
        val tiles: Int,
        val meanTileMillis: Double,
        val totalMillis: Double,
    )

    private val cancelled = AtomicBoolean(false)

    fun cancel() = cancelled.set(true)

    /** @param ratio the amplification, or null for automatic */
    fun run(shot: Shot, ratio: Double?) {
        val start = System.nanoTime()
        try {
            val mapping = ColourMapping.mappingFor(shot.xyzToCamera, shot.whiteBalance,
                card.trainingXyzToCamera())
            val input = if (mapping == null) shot.packed
                else ColourMapping.applyToPacked(shot.packed, mapping)
            val gain = ratio ?: AutoRatio.estimate(input)
            val amplified = input.amplified(gain.toFloat())
            LiteRtTileModel(context, ModelAssets.MODEL, card, useGpu, cpuThreads).use { model ->
                val features = bundle.featuresFile?.let {
                    LiteRtTileModel(context, it, bundle.featuresCard!!, useGpu, cpuThreads)
                }
                features.use { runTiles(shot, gain, amplified, model, it, start) }
            }
        } catch (error: CancellationException) {
            listener.onCancelled()
        } catch (error: LsidException) {
            listener.onError(error.message ?: error.toString())
        } catch (error: OutOfMemoryError) {
            listener.onError("${shot.source}: not enough memory for a " +
                "${shot.packed.width * card.blockSize} x ${shot.packed.height * card.blockSize} " +
                "output; try a smaller frame")
        } catch (error: Exception) {
            // LiteRT errors (a model that does not match its card, a lost GPU context, ...).
            listener.onError("assets/${ModelAssets.MODEL}: ${error.javaClass.simpleName}: " +
                (error.message ?: "no message"))
        }
    }

    /** Runs the tiles (both passes for a global model) and reports the bitmaps. */
    private fun runTiles(shot: Shot, gain: Double, amplified: PackedImage,
                         model: LiteRtTileModel, features: LiteRtTileModel?, start: Long) {
        val runner = if (features == null) TiledRunner.forCard(model, card, Blend.CROP)
            else TiledRunner.forGlobalCard(model, features, card, Blend.CROP)
        val tiles = runner.tileRuns(shot.packed.height, shot.packed.width)
        val accelerator = model.acceleratorName +
            if (features == null) "" else " (features: ${features.acceleratorName})"
        listener.onStarted(accelerator, tiles, gain)
        var modelNanos = 0L
        val rgb = runner.run(amplified, { done, total, nanos ->
            modelNanos += nanos
            listener.onTile(done, total, nanos / 1e6)
        }, cancelled::get)
        // Once per frame on the stitched output, before anything else (in place).
        AsShotColour.finish(rgb, colour, shot.cameraMean, shot.whiteBalance, shot.xyzToCamera)
        val after = Bitmap.createBitmap(rgb.toArgb(), rgb.width, rgb.height,
            Bitmap.Config.ARGB_8888)
        val packed = shot.packed
        val before = Bitmap.createBitmap(
            RawPreview.toArgb(packed, gain.toFloat(), shot.whiteBalance),
            packed.width, packed.height, Bitmap.Config.ARGB_8888)
        listener.onFinished(before, after, Timing(accelerator, gain, tiles,
            modelNanos / 1e6 / tiles, (System.nanoTime() - start) / 1e6))
    }
}
