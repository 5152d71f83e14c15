package org.lsid.demo

import android.graphics.Bitmap
import java.util.concurrent.CancellationException
import java.util.concurrent.atomic.AtomicBoolean
import org.lsid.core.AsShotColour
import org.lsid.core.Blend
import org.lsid.core.LsidException
import org.lsid.core.ModelCard
import org.lsid.core.PackedImage
import org.lsid.core.RawPreview
import org.lsid.core.TiledRunner

/**
 * Enhances one [Shot] as `lsid enhance` does: the frame comes mapped into the model's training
 * camera ([PreparedShot]: [org.lsid.core.ColourMapping] when the frame and the card carry
 * XYZ -> camera matrices) with its ratio chosen (planned, slider or
 * [org.lsid.core.AutoRatio]); this amplifies it, runs the model tile by tile with the card's
 * tile and halo, gives the stitched output the as-shot colour ([AsShotColour], as
 * `--colour as-shot`; [colour] NETWORK keeps the network's) and, when [autoBright], LibRaw's
 * auto-bright measured after it ([org.lsid.core.AutoBright], as `lsid enhance` does by default;
 * off as `--no-auto-bright`), both in one pass, and builds the before/after bitmaps. A global
 * model (GIA-Net, SE-UNet) runs as `lsid enhance` runs it, one encoder run per tile: every
 * tile through its encoder file, whose outputs are kept while the frame's
 * bottleneck average is summed, then every kept tile through the main (decoder) file with
 * that average (the core's [TiledRunner.forGlobalCard]).
 *
 * The models come compiled from [session] (compiled on the first run, reused after). Runs on
 * the session's model thread; reports through [Listener]; [cancel] stops it between tiles.
 */
class EnhanceTask(
    private val session: ModelSession,
    private val useGpu: Boolean,
    private val cpuThreads: Int,
    private val colour: AsShotColour.Mode,
    private val autoBright: Boolean,
    private val listener: Listener,
) {
    private val card: ModelCard = session.bundle.card

    /** Progress and results; called on the model thread (post to the UI yourself). */
    interface Listener {
        /** @param tiles tile runs: the plan's, twice for a global model (encoder, decoder) */
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

    /** Stops the run before its next tile (any thread). */
    fun cancel() = cancelled.set(true)

    /**
     * @param input the frame as the model takes it (mapped, not amplified)
     * @param gain the amplification ratio
     */
    fun run(shot: Shot, input: PackedImage, gain: Double) {
        val start = System.nanoTime()
        var models: ModelSession.Models? = null
        var runner: TiledRunner? = null
        try {
            if (cancelled.get()) throw CancellationException()
            val amplified = input.amplified(gain.toFloat())
            models = session.models(useGpu, cpuThreads)
            runner = runner(models)
            runTiles(shot, gain, amplified, runner, models.acceleratorName, start)
        } catch (error: CancellationException) {
            listener.onCancelled()
        } catch (error: LsidException) {
            listener.onError(error.message ?: error.toString())
        } catch (error: OutOfMemoryError) {
            val kept = runner?.keptBytes(shot.packed.height, shot.packed.width) ?: 0L
            listener.onError("${shot.source}: not enough memory for a " +
                "${shot.packed.width * card.blockSize} x ${shot.packed.height * card.blockSize} " +
                "output" + (if (kept > 0) " and the encoder's kept maps " +
                    "(${(kept + 500_000) / 1_000_000} MB)" else "") + "; try a smaller frame")
        } catch (error: LinkageError) {
            // UnsatisfiedLinkError / ExceptionInInitializerError: LiteRT's native library is
            // not in the APK for this device's ABI (the build packs arm64-v8a and x86_64).
            listener.onError("LiteRT cannot start on this device (${error.javaClass.simpleName}: " +
                "${error.message}); is its ABI in app/build.gradle.kts abiFilters?")
        } catch (error: Exception) {
            // LiteRT errors (a model that does not match its card, a lost GPU context, a GPU
            // buffer that cannot be mapped, ...). A GPU failure releases the compiled models:
            // the next Enhance compiles again, for the CPU.
            val gpu = models?.onGpu == true
            if (gpu) session.gpuRunFailed()
            listener.onError("assets/${ModelAssets.MODEL}: ${error.javaClass.simpleName}: " +
                (error.message ?: "no message") +
                if (gpu) " (on the GPU: released it; Enhance again runs on the CPU)" else "")
        }
    }

    /** The tiled runner for the bundled model: one pass, or encoder and decoder. */
    private fun runner(models: ModelSession.Models): TiledRunner {
        val encoder = models.encoder
        val encoderCard = session.bundle.encoderCard
        return if (encoder == null || encoderCard == null) {
            TiledRunner.forCard(models.main, card, Blend.CROP)
        } else {
            TiledRunner.forGlobalCard(encoder, models.main, card, encoderCard, Blend.CROP)
        }
    }

    /** Runs the tiles (both passes for a global model) and reports the bitmaps. */
    private fun runTiles(shot: Shot, gain: Double, amplified: PackedImage, runner: TiledRunner,
                         accelerator: String, start: Long) {
        val tiles = runner.tileRuns(shot.packed.height, shot.packed.width)
        listener.onStarted(accelerator, tiles, gain)
        var modelNanos = 0L
        val rgb = runner.run(amplified, { done, total, nanos ->
            modelNanos += nanos
            listener.onTile(done, total, nanos / 1e6)
        }, cancelled::get)
        // Once per frame on the stitched output, before anything else (in place): one pass
        // counts the codes, one applies the colour and auto-bright gains.
        AsShotColour.finish(rgb, colour, autoBright, shot.cameraMean, shot.whiteBalance,
            shot.xyzToCamera)
        // Laid out for display (the shot's orientation) as the ARGB pixels, a quarter of the
        // float image's memory.
        val after = OrientedBitmap.of(rgb.toArgb(), rgb.height, rgb.width, shot.orientation)
        val packed = shot.packed
        val before = OrientedBitmap.of(
            RawPreview.toArgb(packed, gain.toFloat(), shot.whiteBalance),
            packed.height, packed.width, shot.orientation)
        listener.onFinished(before, after, Timing(accelerator, gain, tiles,
            modelNanos / 1e6 / tiles, (System.nanoTime() - start) / 1e6))
    }
}
