package org.lsid.demo

import android.content.Context

/**
 * The bundled model compiled once for a session of use: the first Enhance compiles it (and,
 * for a global model, its encoder file), later ones reuse it; a change of the GPU box
 * compiles it again for the new choice. [release] frees it (the view model's end, a GPU
 * failure while running).
 *
 * Everything here runs on the view model's single model thread: LiteRT's GPU accelerator is
 * bound to the thread that compiled the model, so compiling, running and closing stay on it.
 */
class ModelSession(private val context: Context, val bundle: ModelAssets.Loaded) {
    /** The compiled main file (a global model's decoder) and, for a global model, its encoder. */
    class Models(val main: LiteRtTileModel, val encoder: LiteRtTileModel?) : AutoCloseable {
        val onGpu: Boolean get() = main.onGpu || encoder?.onGpu == true
        val acceleratorName: String get() = main.acceleratorName +
            if (encoder == null) "" else " (encoder: ${encoder.acceleratorName})"

        override fun close() {
            try {
                encoder?.close()
            } finally {
                main.close()
            }
        }
    }

    private var models: Models? = null
    private var compiledFor: Pair<Boolean, Int>? = null

    /** After a GPU failure while running, the session stays on the CPU. */
    var gpuFailed = false
        private set

    /** The compiled models for this choice, compiling them when the choice changed. */
    fun models(useGpu: Boolean, cpuThreads: Int): Models {
        val wanted = Pair(useGpu && !gpuFailed, cpuThreads)
        models?.let { if (compiledFor == wanted) return it }
        release()
        val main = LiteRtTileModel(context, ModelAssets.MODEL, bundle.card, wanted.first,
            cpuThreads)
        val encoder = try {
            bundle.encoderFile?.let {
                LiteRtTileModel(context, it, bundle.encoderCard!!, wanted.first, cpuThreads)
            }
        } catch (error: Throwable) {
            main.close()
            throw error
        }
        return Models(main, encoder).also {
            models = it
            compiledFor = wanted
        }
    }

    /** A run on the GPU failed: release the models; the next [models] compiles for the CPU. */
    fun gpuRunFailed() {
        gpuFailed = true
        release()
    }

    /** Frees the compiled models (idempotent). */
    fun release() {
        val current = models
        models = null
        compiledFor = null
        current?.close()
    }
}
