package org.lsid.demo

import android.content.Context
import com.google.ai.edge.litert.Accelerator
import com.google.ai.edge.litert.CompiledModel
import com.google.ai.edge.litert.Environment
import com.google.ai.edge.litert.LiteRtException
import com.google.ai.edge.litert.TensorBuffer
import org.lsid.core.FeaturesModel
import org.lsid.core.GlobalTileModel
import org.lsid.core.LsidException
import org.lsid.core.ModelCard
import org.lsid.core.TensorSpec
import org.lsid.core.TfliteSignature
import org.lsid.core.TileModel

/**
 * Owns one LiteRT model's life: compiles it once (GPU with CPU fallback, or CPU), runs one
 * tile at a time for the core's [org.lsid.core.TiledRunner] with the same input and output
 * buffers for every tile, and releases it in [close].
 *
 * One class for the three kinds of exported file, as its card says: a local model (tile in,
 * RGB out: [TileModel]), a global model's main file (tile and the frame's bottleneck average
 * in: [GlobalTileModel]) and a global model's features file (tile in, bottleneck map out:
 * [FeaturesModel]). Inputs and the output are bound by their signature names, which the file's
 * signature maps to the tensor names the card records ([TfliteSignature]): the `frame_mean`
 * input is the one the card's `global_branch.frame_mean_input` names, never the n-th.
 *
 * Create, run and close it on one thread (the GPU accelerator is bound to the thread that
 * compiled it; [ModelSession] keeps it on its model thread). Int8 models take and give int8
 * tensors: the card's scales and zero points quantise the inputs and dequantise the output
 * here, so the runner always sees floats.
 *
 * @param asset the `.tflite` in the app's assets
 * @param card that file's own card
 * @param useGpu compile with `setOf(Accelerator.GPU, Accelerator.CPU)`: LiteRT puts every op
 *     the GPU delegate takes on the GPU (its default precision computes in FP16 where the GPU
 *     supports it) and the rest on the CPU, instead of refusing the whole model for one op;
 *     when that cannot compile or its buffers cannot be made, the GPU attempt is released and
 *     the model compiled for the CPU alone
 * @param cpuThreads threads for the CPU (XNNPACK) path
 */
class LiteRtTileModel(
    context: Context,
    private val asset: String,
    private val card: ModelCard,
    useGpu: Boolean,
    cpuThreads: Int,
) : TileModel, GlobalTileModel, FeaturesModel, AutoCloseable {
    /** Which accelerators run the model, for the UI. */
    val acceleratorName: String

    /** Whether the GPU takes part (a GPU failure while running should release this model). */
    val onGpu: Boolean

    private val signature: String
    private val packedKey: String
    private val meanKey: String?
    private val outputKey: String
    private val compiled: Compiled
    private val inputBytes: ByteArray?
    private val meanBytes: ByteArray?
    private var lastMean: FloatArray? = null

    /** A compiled model with its buffers, released together. */
    private class Compiled(
        val model: CompiledModel,
        val packedInput: TensorBuffer,
        val meanInput: TensorBuffer?,
        val output: TensorBuffer,
    ) : AutoCloseable {
        override fun close() {
            packedInput.close()
            meanInput?.close()
            output.close()
            model.close()
        }
    }

    init {
        val source = "assets/$asset"
        for (spec in listOfNotNull(card.input, card.output, card.frameMean)) {
            if (spec.dtype == "uint8") {
                throw LsidException("$source: uint8 tensors are not supported; export int8 or " +
                    "float")
            }
        }
        val file = TfliteSignature.only(ModelAssets.map(context, asset), source)
        val mean = card.frameMean?.let {
            file.inputForTensor(card.globalBranch.frameMeanInput, source)
        }
        if (file.inputs.size != (if (mean == null) 1 else 2) || file.outputs.size != 1) {
            throw LsidException("$source: signature \"${file.key}\" has inputs ${file.inputs} " +
                "and outputs ${file.outputs}; its card expects " +
                (if (mean == null) "one input" else "a packed input and ${mean.key}") +
                " and one output; are the model and its card from one export?")
        }
        signature = file.key
        packedKey = file.inputs.first { it !== mean }.key
        meanKey = mean?.key
        outputKey = file.outputs[0].key

        val cpuOptions = CompiledModel.CpuOptions(cpuThreads, null, null)
        var gpuError: String? = if (useGpu) gpuMissing() else null
        val onGpuAttempt: Compiled? = if (!useGpu || gpuError != null) null else try {
            val options = CompiledModel.Options(setOf(Accelerator.GPU, Accelerator.CPU))
            options.gpuOptions = CompiledModel.GpuOptions(
                precision = CompiledModel.GpuOptions.Precision.DEFAULT,
            )
            options.cpuOptions = cpuOptions
            compile(context, options)
        } catch (error: LiteRtException) {
            gpuError = error.message ?: "no message"
            null
        }
        compiled = onGpuAttempt ?: try {
            val options = CompiledModel.Options(setOf(Accelerator.CPU))
            options.cpuOptions = cpuOptions
            compile(context, options)
        } catch (error: LiteRtException) {
            throw LsidException("$source: LiteRT cannot load it " +
                "(${error.message}); is it an `lsid export` .tflite?", error)
        }
        onGpu = onGpuAttempt != null
        acceleratorName = when {
            onGpu -> "GPU (CPU for ops it lacks, $cpuThreads threads)"
            gpuError != null -> "CPU, $cpuThreads threads (not on the GPU: $gpuError)"
            else -> "CPU, $cpuThreads threads"
        }
        inputBytes = if (card.input.isQuantized) ByteArray(card.input.size()) else null
        meanBytes = card.frameMean?.let { if (it.isQuantized) ByteArray(it.size()) else null }
    }

    /**
     * Why the GPU cannot be asked for (LiteRT's environment lists no GPU accelerator: the
     * emulator, a phone without its GPU library), or null. Without this, a GPU + CPU request
     * on such a device would run on the CPU under the GPU's name.
     */
    private fun gpuMissing(): String? = try {
        Environment.create().use { env ->
            if (Accelerator.GPU in env.getAvailableAccelerators()) null
            else "no GPU accelerator on this device"
        }
    } catch (error: LiteRtException) {
        "LiteRT lists no accelerators (${error.message})"
    }

    /**
     * Compiles the asset and makes its buffers; releases whatever was made when a step fails
     * (a GPU that compiles the model but cannot allocate its buffers must not leak it).
     */
    private fun compile(context: Context, options: CompiledModel.Options): Compiled {
        val model = CompiledModel.create(context.assets, asset, options, null)
        var packed: TensorBuffer? = null
        var meanBuffer: TensorBuffer? = null
        try {
            packed = model.createInputBuffer(packedKey, signature)
            meanBuffer = meanKey?.let { model.createInputBuffer(it, signature) }
            val output = model.createOutputBuffer(outputKey, signature)
            return Compiled(model, packed, meanBuffer, output)
        } catch (error: Throwable) {
            packed?.close()
            meanBuffer?.close()
            model.close()
            throw error
        }
    }

    /** A local model's tile, or a features file's bottleneck map ([FeaturesModel]). */
    override fun run(input: FloatArray, output: FloatArray) {
        check(meanKey == null) { "assets/$asset is a global model's main file: it needs the " +
            "frame mean" }
        runTile(input, null, output)
    }

    /** A global model's main file: the tile with the frame's bottleneck average. */
    override fun run(input: FloatArray, frameMean: FloatArray, output: FloatArray) {
        check(meanKey != null) { "assets/$asset takes no frame mean" }
        runTile(input, frameMean, output)
    }

    private fun runTile(input: FloatArray, frameMean: FloatArray?, output: FloatArray) {
        write(compiled.packedInput, card.input, input, inputBytes)
        val meanInput = compiled.meanInput
        if (meanInput != null && frameMean != null && frameMean !== lastMean) {
            // The same average for every tile of a frame: written once per frame.
            write(meanInput, card.frameMean, frameMean, meanBytes)
            lastMean = frameMean
        }
        compiled.model.run(inputs, outputs, signature)
        // LiteRT 2.1's Kotlin TensorBuffer reads into a new array (no read-into form): one
        // output-sized array per tile is the API's, every other buffer is reused.
        if (card.output.isQuantized) {
            val values = compiled.output.readInt8()
            check(values.size == output.size) {
                "model output has ${values.size} values; the card says ${output.size}"
            }
            for (i in values.indices) {
                output[i] = card.output.dequantize(values[i].toInt())
            }
        } else {
            val values = compiled.output.readFloat()
            check(values.size == output.size) {
                "model output has ${values.size} values; the card says ${output.size}"
            }
            values.copyInto(output)
        }
    }

    private fun write(buffer: TensorBuffer, spec: TensorSpec, values: FloatArray,
                      bytes: ByteArray?) {
        if (bytes != null) {
            for (i in values.indices) {
                bytes[i] = spec.quantize(values[i]).toByte()
            }
            buffer.writeInt8(bytes)
        } else {
            buffer.writeFloat(values)
        }
    }

    /** The input and output maps [CompiledModel.run] takes, built once. */
    private val inputs: Map<String, TensorBuffer> by lazy {
        val map = mutableMapOf(packedKey to compiled.packedInput)
        val meanInput = compiled.meanInput
        if (meanKey != null && meanInput != null) {
            map[meanKey] = meanInput
        }
        map
    }
    private val outputs: Map<String, TensorBuffer> by lazy { mapOf(outputKey to compiled.output) }

    override fun close() = compiled.close()
}
