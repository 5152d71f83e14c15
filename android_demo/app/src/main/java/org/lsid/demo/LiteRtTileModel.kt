package org.lsid.demo

import android.content.Context
import com.google.ai.edge.litert.Accelerator
import com.google.ai.edge.litert.CompiledModel
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
 * Owns one LiteRT model's life: compiles it (GPU, else CPU threads), runs one tile at a time
 * for the core's [org.lsid.core.TiledRunner], and releases it in [close].
 *
 * One class for the three kinds of exported file, as its card says: a local model (tile in,
 * RGB out: [TileModel]), a global model's main file (tile and the frame's bottleneck average
 * in: [GlobalTileModel]) and a global model's features file (tile in, bottleneck map out:
 * [FeaturesModel]). Inputs and the output are bound by their signature names, which the file's
 * signature maps to the tensor names the card records ([TfliteSignature]): the `frame_mean`
 * input is the one the card's `global_branch.frame_mean_input` names, never the n-th.
 *
 * Create, run and close it on one thread (the GPU accelerator is bound to the thread that
 * compiled it). Int8 models take and give int8 tensors: the card's scales and zero points
 * quantise the inputs and dequantise the output here, so the runner always sees floats.
 *
 * @param asset the `.tflite` in the app's assets
 * @param card that file's own card
 * @param useGpu try the GPU accelerator first (LiteRT's default GPU precision, which computes
 *     in FP16 where the GPU supports it); fall back to the CPU when it cannot compile the model
 * @param cpuThreads threads for the CPU (XNNPACK) path
 */
class LiteRtTileModel(
    context: Context,
    private val asset: String,
    private val card: ModelCard,
    useGpu: Boolean,
    cpuThreads: Int,
) : TileModel, GlobalTileModel, FeaturesModel, AutoCloseable {
    /** Which accelerator runs the model, for the UI. */
    val acceleratorName: String

    private val model: CompiledModel
    private val signature: String
    private val packedKey: String
    private val meanKey: String?
    private val outputKey: String
    private val packedInput: TensorBuffer
    private val meanInput: TensorBuffer?
    private val outputBuffer: TensorBuffer
    private val inputBytes: ByteArray?
    private val meanBytes: ByteArray?
    private var lastMean: FloatArray? = null

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

        var compiled: CompiledModel? = null
        var name = ""
        var gpuError: String? = null
        if (useGpu) {
            try {
                val options = CompiledModel.Options(setOf(Accelerator.GPU))
                options.gpuOptions = CompiledModel.GpuOptions(
                    precision = CompiledModel.GpuOptions.Precision.DEFAULT,
                )
                compiled = CompiledModel.create(context.assets, asset, options, null)
                name = "GPU"
            } catch (error: LiteRtException) {
                gpuError = error.message
            }
        }
        if (compiled == null) {
            try {
                val options = CompiledModel.Options(setOf(Accelerator.CPU))
                options.cpuOptions = CompiledModel.CpuOptions(cpuThreads, null, null)
                compiled = CompiledModel.create(context.assets, asset, options, null)
                name = "CPU, $cpuThreads threads" +
                    if (gpuError != null) " (GPU refused it)" else ""
            } catch (error: LiteRtException) {
                throw LsidException("$source: LiteRT cannot load it " +
                    "(${error.message}); is it an `lsid export` .tflite?", error)
            }
        }
        model = compiled!!
        acceleratorName = name
        packedInput = model.createInputBuffer(packedKey, signature)
        meanInput = meanKey?.let { model.createInputBuffer(it, signature) }
        outputBuffer = model.createOutputBuffer(outputKey, signature)
        inputBytes = if (card.input.isQuantized) ByteArray(card.input.size()) else null
        meanBytes = card.frameMean?.let { if (it.isQuantized) ByteArray(it.size()) else null }
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
        write(packedInput, card.input, input, inputBytes)
        if (meanInput != null && frameMean != null && frameMean !== lastMean) {
            // The same average for every tile of a frame: written once per frame.
            write(meanInput, card.frameMean, frameMean, meanBytes)
            lastMean = frameMean
        }
        val inputs = mutableMapOf(packedKey to packedInput)
        if (meanKey != null && meanInput != null) {
            inputs[meanKey] = meanInput
        }
        model.run(inputs, mapOf(outputKey to outputBuffer), signature)
        if (card.output.isQuantized) {
            val values = outputBuffer.readInt8()
            check(values.size == output.size) {
                "model output has ${values.size} values; the card says ${output.size}"
            }
            for (i in values.indices) {
                output[i] = card.output.dequantize(values[i].toInt())
            }
        } else {
            val values = outputBuffer.readFloat()
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

    override fun close() {
        packedInput.close()
        meanInput?.close()
        outputBuffer.close()
        model.close()
    }
}
