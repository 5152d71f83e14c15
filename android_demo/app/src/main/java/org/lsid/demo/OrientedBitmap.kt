package org.lsid.demo

import android.graphics.Bitmap
import org.lsid.core.Orientation

/** Bitmaps laid out for display by the core's [Orientation] (a LibRaw flip code 0-7). */
object OrientedBitmap {
    /**
     * @param argb `height x width` ARGB pixels in the sensor's layout
     * @param flip the shot's flip code ([Shot.orientation]); width and height swap for 4-7
     */
    fun of(argb: IntArray, height: Int, width: Int, flip: Int): Bitmap {
        val pixels = Orientation.applyArgb(argb, height, width, flip)
        val swap = Orientation.swapsSides(flip)
        return Bitmap.createBitmap(pixels, if (swap) height else width,
            if (swap) width else height, Bitmap.Config.ARGB_8888)
    }
}
