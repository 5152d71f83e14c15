package org.lsid.demo

import android.content.Context
import com.google.ai.edge.litert.Accelerator
import com.google.ai.edge.litert.CompiledModel
import com.google.ai.edge.litert.LiteRtException
import com.google.ai.edge.litert.TensorBuffer
import org.lsid.core.LsidException
import org.lsid.core.ModelCard
import org.lsid.core.TileModel

/**
 * Owns the LiteRT model's life: compiles it (GPU, else CPU threads), runs one tile at a time
 * for the core's [org.lsid.core.TiledRunner], and releases it in [close].
 *
 * Create, run and close it on one thread (the GPU accelerator is bound to the thread that
 * compiled it). Int8 models take and give int8 tensors: the card's scale and zero point
 * quantise the input and dequantise the output here, so the runner always sees floats.
 *
 * @param useGpu try the GPU accelerator first (LiteRT's default GPU precision, which computes
 *     in FP16 where the GPU supports it); fall back to the CPU when it cannot compile the model
 * @param cpuThreads threads for the CPU (XNNPACK) path
 */
class LiteRtTileModel(
    context: Context,
    private val card: ModelCard,
    useGpu: Boolean,
    cpuThreads: Int,
) : TileModel, AutoCloseable {
    /** Which accelerator runs the model, for the UI. */
    val acceleratorName: String

    private val model: CompiledModel
    private val inputs: List<TensorBuffer>
    private val outputs: List<TensorBuffer>
    private val inputBytes: ByteArray?

    init {
        if (card.input.dtype == "uint8" || card.output.dtype == "uint8") {
            throw LsidException("assets/${ModelAssets.MODEL}: uint8 tensors are not supported; " +
                "export int8 or float")
        }
        var compiled: CompiledModel? = null
        var name = ""
        var gpuError: String? = null
        if (useGpu) {
            try {
                val options = CompiledModel.Options(setOf(Accelerator.GPU))
                options.gpuOptions = CompiledModel.GpuOptions(
                    precision = CompiledModel.GpuOptions.Precision.DEFAULT,
                )
                compiled = CompiledModel.create(context.assets, ModelAssets.MODEL, options, null)
                name = "GPU"
            } catch (error: LiteRtException) {
                gpuError = error.message
            }
        }
        if (compiled == null) {
            try {
                val options = CompiledModel.Options(setOf(Accelerator.CPU))
                options.cpuOptions = CompiledModel.CpuOptions(cpuThreads, null, null)
                compiled = CompiledModel.create(context.assets, ModelAssets.MODEL, options, null)
                name = "CPU, $cpuThreads threads" +
                    if (gpuError != null) " (GPU refused it)" else ""
            } catch (error: LiteRtException) {
                throw LsidException("assets/${ModelAssets.MODEL}: LiteRT cannot load it " +
                    "(${error.message}); is it an `lsid export` .tflite?", error)
            }
        }
        model = compiled!!
        acceleratorName = name
        inputs = model.createInputBuffers()
        outputs = model.createOutputBuffers()
        inputBytes = if (card.input.isQuantized) ByteArray(card.input.size()) else null
    }

    override fun run(input: FloatArray, output: FloatArray) {
        val spec = card.input
        if (inputBytes != null) {
            for (i in input.indices) {
                inputBytes[i] = spec.quantize(input[i]).toByte()
            }
            inputs[0].writeInt8(inputBytes)
        } else {
            inputs[0].writeFloat(input)
        }
        model.run(inputs, outputs)
        if (card.output.isQuantized) {
            val values = outputs[0].readInt8()
            check(values.size == output.size) { "model output has ${values.size} values" }
            for (i in values.indices) {
                output[i] = card.output.dequantize(values[i].toInt())
            }
        } else {
            val values = outputs[0].readFloat()
            check(values.size == output.size) {
                "model output has ${values.size} values; the card says ${output.size}"
            }
            values.copyInto(output)
        }
    }

    override fun close() {
        inputs.forEach { it.close() }
        outputs.forEach { it.close() }
        model.close()
    }
}
