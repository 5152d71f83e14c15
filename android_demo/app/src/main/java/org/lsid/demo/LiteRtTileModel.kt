package org.lsid.demo

import android.content.Context
import com.google.ai.edge.litert.Accelerator
import com.google.ai.edge.litert.CompiledModel
import com.google.ai.edge.litert.Environment
import com.google.ai.edge.litert.LiteRtException
import com.google.ai.edge.litert.TensorBuffer
import org.lsid.core.DecoderModel
import org.lsid.core.EncoderModel
import org.lsid.core.LsidException
import org.lsid.core.ModelCard
import org.lsid.core.TensorData
import org.lsid.core.TensorSpec
import org.lsid.core.TfliteSignature
import org.lsid.core.TileModel

/**
 * Owns one LiteRT model's life: compiles it once (GPU with CPU fallback, or CPU), runs one
 * tile at a time for the core's [org.lsid.core.TiledRunner] with the same input and output
 * buffers for every tile, and releases it in [close].
 *
 * One class for the three kinds of exported file, as its card says: a local model (tile in,
 * RGB out: [TileModel]), a global model's encoder (tile in, the kept maps out: [EncoderModel])
 * and its decoder, the main file (kept maps and the frame's bottleneck average in, RGB out:
 * [DecoderModel]). Every input and output is bound by its signature name, which the file's
 * signature maps to the tensor name the card records ([TfliteSignature]): a kept map is the
 * tensor its card's `global_branch.kept` entry names and `frame_mean` the one
 * `global_branch.frame_mean_input` names, never the n-th (LiteRT orders them its own way).
 *
 * Create, run and close it on one thread (the GPU accelerator is bound to the thread that
 * compiled it; [ModelSession] keeps it on its model thread). Int8 models take and give int8
 * tensors: the packed tile is quantised and the RGB output dequantised here with the card's
 * scales and zero points, so the runner sees floats there; the kept maps travel in their own
 * type ([TensorData]: an int8 encoder output as its bytes, a float one as floats, which the
 * core keeps as float16 halves), converted to each decoder input's by the core.
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
) : TileModel, EncoderModel, DecoderModel, AutoCloseable {
    /** Which accelerators run the model, for the UI. */
    val acceleratorName: String

    /** Whether the GPU takes part (a GPU failure while running should release this model). */
    val onGpu: Boolean

    private val source = "assets/$asset"
    private val signature: String
    /** Signature keys of the card's inputs and outputs, in the card's order. */
    private val inputKeys: List<String>
    private val outputKeys: List<String>
    private val compiled: Compiled
    private val inputBytes: ByteArray?
    private var lastMean: TensorData? = null

    /** A compiled model with its buffers (the card's inputs and outputs, in order). */
    private class Compiled(
        val model: CompiledModel,
        val inputs: List<TensorBuffer>,
        val outputs: List<TensorBuffer>,
    ) : AutoCloseable {
        override fun close() {
            inputs.forEach { it.close() }
            outputs.forEach { it.close() }
            model.close()
        }
    }

    init {
        for (spec in card.inputs + card.outputs) {
            if (spec.dtype == "uint8") {
                throw LsidException("$source: uint8 tensors are not supported; export int8 or " +
                    "float")
            }
        }
        val file = TfliteSignature.only(ModelAssets.map(context, asset), source)
        if (file.inputs.size != card.inputs.size || file.outputs.size != card.outputs.size) {
            throw LsidException("$source: signature \"${file.key}\" has inputs ${file.inputs} " +
                "and outputs ${file.outputs}; its card lists ${card.inputs} and " +
                "${card.outputs}; are the model and its card from one export?")
        }
        signature = file.key
        // A single input or output is bound whatever its name (as card.check_card does);
        // several by the card's tensor names.
        inputKeys = if (card.inputs.size == 1) listOf(file.inputs[0].key)
            else card.inputs.map { file.inputForTensor(it.name, source).key }
        outputKeys = if (card.outputs.size == 1) listOf(file.outputs[0].key)
            else card.outputs.map { file.outputForTensor(it.name, source).key }

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
        inputBytes = card.input?.let { if (it.isQuantized) ByteArray(it.size()) else null }
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
        val made = mutableListOf<TensorBuffer>()
        try {
            val inputs = inputKeys.map { key ->
                model.createInputBuffer(key, signature).also { made.add(it) }
            }
            val outputs = outputKeys.map { key ->
                model.createOutputBuffer(key, signature).also { made.add(it) }
            }
            return Compiled(model, inputs, outputs)
        } catch (error: Throwable) {
            made.forEach { it.close() }
            model.close()
            throw error
        }
    }

    /** A local model's tile ([TileModel]). */
    override fun run(input: FloatArray, output: FloatArray) {
        check(!card.isGlobal) { "$source is a global model's file: run it as encoder/decoder" }
        writePacked(input)
        compiled.model.run(inputs, outputs, signature)
        readRgb(output)
    }

    /** A global model's encoder: the tile's kept maps in their own types ([EncoderModel]). */
    override fun run(input: FloatArray): List<TensorData> {
        check(card.isEncoder) { "$source is not a global model's encoder" }
        writePacked(input)
        compiled.model.run(inputs, outputs, signature)
        // LiteRT 2.1's Kotlin TensorBuffer reads into a new array: an int8 map's bytes are
        // the array the runner keeps until the tile's decoder has run; a float map's floats
        // it rounds to float16 halves at once and drops (TensorData.kept).
        return card.kept.map { spec ->
            val buffer = compiled.outputs[card.outputs.indexOf(spec)]
            if (spec.isInt8) TensorData.ofInt8(spec, buffer.readInt8())
            else TensorData.ofFloats(spec, buffer.readFloat())
        }
    }

    /** A global model's decoder: kept maps and the frame's average in ([DecoderModel]). */
    override fun run(kept: List<TensorData>, frameMean: TensorData, output: FloatArray) {
        check(card.isGlobal && !card.isEncoder) { "$source is not a global model's decoder" }
        for ((i, spec) in card.kept.withIndex()) {
            write(compiled.inputs[card.inputs.indexOf(spec)], kept[i])
        }
        if (frameMean !== lastMean) {
            // The same average for every tile of a frame: written once per frame.
            write(compiled.inputs[card.inputs.indexOf(card.frameMean)], frameMean)
            lastMean = frameMean
        }
        compiled.model.run(inputs, outputs, signature)
        readRgb(output)
    }

    private fun write(buffer: TensorBuffer, values: TensorData) {
        if (values.isInt8) buffer.writeInt8(values.int8()) else buffer.writeFloat(values.floats())
    }

    private fun writePacked(input: FloatArray) {
        val spec = card.input
        val buffer = compiled.inputs[card.inputs.indexOf(spec)]
        val bytes = inputBytes
        if (bytes != null) {
            for (i in input.indices) {
                bytes[i] = spec.quantize(input[i]).toByte()
            }
            buffer.writeInt8(bytes)
        } else {
            buffer.writeFloat(input)
        }
    }

    /** The RGB output into [output], dequantised for an int8 model. */
    private fun readRgb(output: FloatArray) {
        val spec = card.output
        val buffer = compiled.outputs[card.outputs.indexOf(spec)]
        // LiteRT 2.1's Kotlin TensorBuffer reads into a new array (no read-into form): one
        // output-sized array per tile is the API's, every other buffer is reused.
        if (spec.isQuantized) {
            val values = buffer.readInt8()
            check(values.size == output.size) {
                "model output has ${values.size} values; the card says ${output.size}"
            }
            for (i in values.indices) {
                output[i] = spec.dequantize(values[i].toInt())
            }
        } else {
            val values = buffer.readFloat()
            check(values.size == output.size) {
                "model output has ${values.size} values; the card says ${output.size}"
            }
            values.copyInto(output)
        }
    }

    /** The input and output maps [CompiledModel.run] takes, built once. */
    private val inputs: Map<String, TensorBuffer> by lazy { inputKeys.zip(compiled.inputs).toMap() }
    private val outputs: Map<String, TensorBuffer> by lazy {
        outputKeys.zip(compiled.outputs).toMap()
    }

    override fun close() = compiled.close()
}
