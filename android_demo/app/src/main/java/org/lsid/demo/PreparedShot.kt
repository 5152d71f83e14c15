package org.lsid.demo

import org.lsid.core.AutoRatio
import org.lsid.core.ColourMapping
import org.lsid.core.ModelCard
import org.lsid.core.PackedImage

/**
 * A shot as the model takes it, worked out once per shot and model: the frame mapped into the
 * card's training camera ([ColourMapping], when both carry XYZ -> camera matrices, as
 * `lsid enhance` maps it) and [AutoRatio]'s estimate on that mapped frame (as `--ratio auto`).
 * Both are slow on a 12 MP frame, so they are computed lazily, once, off the UI thread, and
 * shared by the preview and the enhancement.
 */
class PreparedShot(val shot: Shot, val card: ModelCard?) {
    /** The mapped frame (the shot's own packing when there is nothing to map). */
    val input: PackedImage by lazy {
        val mapping = card?.let {
            ColourMapping.mappingFor(shot.xyzToCamera, shot.whiteBalance,
                it.trainingXyzToCamera())
        }
        if (mapping == null) shot.packed else ColourMapping.applyToPacked(shot.packed, mapping)
    }

    /** [AutoRatio.estimate] of [input]. */
    val autoRatio: Double by lazy { AutoRatio.estimate(input) }

    /** Whether this was prepared for that shot and card. */
    fun isFor(shot: Shot, card: ModelCard?): Boolean = this.shot === shot && this.card === card
}
