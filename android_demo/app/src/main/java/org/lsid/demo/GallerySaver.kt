package org.lsid.demo

import android.content.ContentValues
import android.content.Context
import android.graphics.Bitmap
import android.net.Uri
import android.os.Environment
import android.provider.MediaStore
import java.io.IOException

/** Saves a JPEG into the gallery (Pictures/lsid) through MediaStore; no permission needed. */
object GallerySaver {
    /**
     * Writes the picture as pending, then publishes it, so the gallery never shows a half-written
     * file; a failed write removes the entry.
     *
     * @return the new picture's content URI
     * @throws IOException when MediaStore refuses the entry or the write fails
     */
    @Throws(IOException::class)
    fun saveJpeg(context: Context, bitmap: Bitmap, displayName: String, quality: Int = 95): Uri {
        val resolver = context.contentResolver
        val values = ContentValues().apply {
            put(MediaStore.Images.Media.DISPLAY_NAME, "$displayName.jpg")
            put(MediaStore.Images.Media.MIME_TYPE, "image/jpeg")
            put(MediaStore.Images.Media.RELATIVE_PATH, Environment.DIRECTORY_PICTURES + "/lsid")
            put(MediaStore.Images.Media.IS_PENDING, 1)
        }
        val collection = MediaStore.Images.Media.getContentUri(MediaStore.VOLUME_EXTERNAL_PRIMARY)
        val uri = resolver.insert(collection, values)
            ?: throw IOException("MediaStore refused a new picture $displayName.jpg")
        try {
            resolver.openOutputStream(uri)?.use { stream ->
                if (!bitmap.compress(Bitmap.CompressFormat.JPEG, quality, stream)) {
                    throw IOException("JPEG encoding of $displayName failed")
                }
            } ?: throw IOException("cannot write $uri")
            values.clear()
            values.put(MediaStore.Images.Media.IS_PENDING, 0)
            resolver.update(uri, values, null, null)
            return uri
        } catch (error: IOException) {
            resolver.delete(uri, null, null)
            throw error
        }
    }
}
