package org.lsid.demo

import org.lsid.core.AutoRatio
import org.lsid.core.ColourMapping
import org.lsid.core.ModelCard
import org.lsid.core.PackedImage

/**
 * A shot as the model takes it, for one model: the frame mapped into the card's training
 * camera ([ColourMapping], when both carry XYZ -> camera matrices, as `lsid enhance` maps it)
 * and [AutoRatio]'s estimate on that mapped frame (as `--ratio auto`).
 *
 * The estimate is worked out once, lazily, off the UI thread, and shared by the preview and
 * the enhancement. The mapped frame is made again when asked for and not kept: at 12 MP it is
 * another 48 MB beside the shot's own packing, and the enhancement's amplified copy and float
 * output already fill most of a large heap, while mapping takes a fraction of a second.
 */
class PreparedShot(val shot: Shot, val card: ModelCard?) {
    /** The mapped frame (the shot's own packing when there is nothing to map), made anew. */
    fun input(): PackedImage {
        val mapping = card?.let {
            ColourMapping.mappingFor(shot.xyzToCamera, shot.whiteBalance,
                it.trainingXyzToCamera())
        }
        return if (mapping == null) shot.packed
            else ColourMapping.applyToPacked(shot.packed, mapping)
    }

    /** [AutoRatio.estimate] of [input], computed once. */
    val autoRatio: Double by lazy { AutoRatio.estimate(input()) }

    /** Whether this was prepared for that shot and card. */
    fun isFor(shot: Shot, card: ModelCard?): Boolean = this.shot === shot && this.card === card
}
