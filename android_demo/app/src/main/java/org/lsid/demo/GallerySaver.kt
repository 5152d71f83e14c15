package org.lsid.demo

import android.content.ContentValues
import android.content.Context
import android.graphics.Bitmap
import android.net.Uri
import android.os.Environment
import android.provider.MediaStore
import java.io.IOException
import java.io.OutputStream

/**
 * Saves into the gallery (Pictures/lsid) through MediaStore; no permission needed: the enhanced
 * JPEG and, beside it under the same name, the capture's DNG.
 */
object GallerySaver {
    private const val FOLDER = "lsid"

    /**
     * Writes the picture as a JPEG.
     *
     * @return the new picture's content URI
     * @throws IOException whenever it is not saved: MediaStore refuses the entry, the volume is
     *     missing, the write or the JPEG encoding fails (MediaStore reports some of these as
     *     runtime exceptions; they come out as IOException with the cause kept)
     */
    @Throws(IOException::class)
    fun saveJpeg(context: Context, bitmap: Bitmap, displayName: String, quality: Int = 95): Uri =
        save(context, "$displayName.jpg", "image/jpeg") { stream ->
            if (!bitmap.compress(Bitmap.CompressFormat.JPEG, quality, stream)) {
                throw IOException("JPEG encoding of $displayName failed")
            }
        }

    /** Writes a DNG's bytes (from [android.hardware.camera2.DngCreator]); as [saveJpeg]. */
    @Throws(IOException::class)
    fun saveDng(context: Context, dng: ByteArray, displayName: String): Uri =
        save(context, "$displayName.dng", "image/x-adobe-dng") { it.write(dng) }

    /**
     * Inserts the entry as pending, writes it, then publishes it, so the gallery never shows a
     * half-written file; a failed write removes the entry.
     */
    private fun save(context: Context, fileName: String, mimeType: String,
                     write: (OutputStream) -> Unit): Uri {
        val resolver = context.contentResolver
        val values = ContentValues().apply {
            put(MediaStore.Images.Media.DISPLAY_NAME, fileName)
            put(MediaStore.Images.Media.MIME_TYPE, mimeType)
            put(MediaStore.Images.Media.RELATIVE_PATH,
                Environment.DIRECTORY_PICTURES + "/" + FOLDER)
            put(MediaStore.Images.Media.IS_PENDING, 1)
        }
        val uri = try {
            val collection =
                MediaStore.Images.Media.getContentUri(MediaStore.VOLUME_EXTERNAL_PRIMARY)
            resolver.insert(collection, values)
        } catch (error: RuntimeException) {
            // IllegalArgumentException (path or type refused), IllegalStateException (no
            // volume), SecurityException, UnsupportedOperationException.
            throw IOException("MediaStore refused $fileName (${error.message})", error)
        } ?: throw IOException("MediaStore refused a new picture $fileName")
        try {
            val stream = resolver.openOutputStream(uri) ?: throw IOException("cannot write $uri")
            stream.use(write)
            values.clear()
            values.put(MediaStore.Images.Media.IS_PENDING, 0)
            resolver.update(uri, values, null, null)
            return uri
        } catch (error: Exception) {
            runCatching { resolver.delete(uri, null, null) }
            throw error as? IOException ?: IOException("$fileName: ${error.message}", error)
        }
    }
}
