package org.lsid.demo

import android.content.Context
import java.io.FileNotFoundException
import org.lsid.core.LsidException
import org.lsid.core.ModelCard

/**
 * The exported model in the app's assets: `model.tflite` and the model card `lsid export`
 * wrote beside it (`model.card.json`). Every model constant the app uses (tile, halo, block,
 * channels, quantisation) comes from the card.
 */
object ModelAssets {
    const val MODEL = "model.tflite"
    const val CARD = "model.card.json"

    /**
     * Reads and checks the card, and that the model file is there.
     *
     * @throws LsidException a missing file, or a card that is not an lsid card for a Bayer model
     */
    @Throws(LsidException::class)
    fun loadCard(context: Context): ModelCard {
        val names = context.assets.list("")?.toSet().orEmpty()
        for (name in listOf(MODEL, CARD)) {
            if (name !in names) {
                throw LsidException(
                    "assets/$name: missing; copy an `lsid export` output into " +
                        "app/src/main/assets (see android_demo/README.md)"
                )
            }
        }
        val text = try {
            context.assets.open(CARD).use { it.readBytes().toString(Charsets.UTF_8) }
        } catch (error: FileNotFoundException) {
            throw LsidException("assets/$CARD: cannot be read (${error.message})")
        }
        val card = ModelCard.parse(text, "assets/$CARD")
        card.requireBayer("assets/$MODEL")
        return card
    }
}
