package org.lsid.demo

import android.content.Context
import java.io.FileInputStream
import java.io.IOException
import java.nio.ByteBuffer
import java.nio.channels.FileChannel
import org.lsid.core.LsidException
import org.lsid.core.ModelCard

/**
 * The exported model in the app's assets: `model.tflite` and the model card `lsid export`
 * wrote beside it (`model.card.json`); for a global model (GIA-Net, SE-UNet: the card has a
 * `global_branch`) `model.tflite` is its decoder, and its encoder file and that file's card
 * are there too, under the names the card gives (`<stem>_<quant>_encoder.tflite`,
 * `<stem>_<quant>_encoder.card.json`). Every model constant the app uses (tile, halo, block,
 * channels, quantisation, K, the kept maps and tensor names) comes from the cards.
 */
object ModelAssets {
    const val MODEL = "model.tflite"
    const val CARD = "model.card.json"

    /** The checked cards of the bundled model; [encoderCard] is null for a local model. */
    class Loaded(val card: ModelCard, val encoderCard: ModelCard?) {
        /** The encoder file's asset name, or null for a local model. */
        val encoderFile: String? get() = card.globalBranch?.encoderFile
    }

    /**
     * Reads and checks the card, that the model file is there and, for a global model, that
     * its encoder file is the one it was exported with (sha256 from the card) and that its
     * card agrees (role, tile, halo, quantisation, K, the kept maps).
     *
     * @throws LsidException a missing or mismatching file, or a card that is not an lsid card
     *     for a Bayer model (a version-2 global export among them: re-export it)
     */
    @Throws(LsidException::class)
    fun load(context: Context): Loaded {
        val names = context.assets.list("")?.toSet().orEmpty()
        requireAssets(names, MODEL, CARD)
        val card = ModelCard.parse(readText(context, CARD), "assets/$CARD")
        card.requireBayer("assets/$MODEL")
        if (card.role != ModelCard.ROLE_MODEL) {
            throw LsidException("assets/$CARD: the card of a global model's encoder file " +
                "(role ${card.role}); bundle the main file as $MODEL and its card as $CARD")
        }
        val branch = card.globalBranch ?: return Loaded(card, null)
        val encoderFile = branch.encoderFile
        val encoderCardFile = branch.encoderCardFile()
        requireAssets(names, encoderFile, encoderCardFile)
        try {
            context.assets.open(encoderFile).use {
                branch.verifyEncoder(it, "assets/$encoderFile")
            }
        } catch (error: IOException) {
            throw LsidException("assets/$encoderFile: cannot be read (${error.message})")
        }
        val encoderCard = ModelCard.parse(readText(context, encoderCardFile),
            "assets/$encoderCardFile")
        card.checkEncoderCard(encoderCard, "assets/$encoderCardFile")
        return Loaded(card, encoderCard)
    }

    /**
     * A model asset mapped into memory (the build keeps `.tflite` assets uncompressed), for
     * reading its signature without copying it.
     */
    @Throws(LsidException::class)
    fun map(context: Context, name: String): ByteBuffer = try {
        context.assets.openFd(name).use { fd ->
            FileInputStream(fd.fileDescriptor).use { stream ->
                stream.channel.map(FileChannel.MapMode.READ_ONLY, fd.startOffset,
                    fd.declaredLength)
            }
        }
    } catch (error: IOException) {
        throw LsidException("assets/$name: cannot be mapped (${error.message}); is it stored " +
            "uncompressed (noCompress \"tflite\")?")
    }

    private fun requireAssets(names: Set<String>, vararg wanted: String) {
        for (name in wanted) {
            if (name !in names) {
                throw LsidException(
                    "assets/$name: missing; copy an `lsid export` output into " +
                        "app/src/main/assets (see android_demo/README.md)"
                )
            }
        }
    }

    private fun readText(context: Context, name: String): String = try {
        context.assets.open(name).use { it.readBytes().toString(Charsets.UTF_8) }
    } catch (error: IOException) {
        throw LsidException("assets/$name: cannot be read (${error.message})")
    }
}
