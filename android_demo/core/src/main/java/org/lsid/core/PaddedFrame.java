package org.lsid.core;

import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * A packed frame as the tiles of a plan read it ({@code lsid_keras.tiling._tile_batches}):
 * reflect-padded by the halo and up to the 16-grid and the tile, through index arithmetic
 * (the padded frame is never built). Shared by both passes of a global model's run.
 */
final class PaddedFrame {
    /** What to do with one tile's window. */
    interface TileStep {
        /** @return nanoseconds the model took on this tile */
        long run(Tile tile, float[] window) throws Exception;
    }

    private final PackedImage packed;
    private final int tile;
    private final int[] sourceRows;
    private final int[] sourceCols;

    PaddedFrame(PackedImage packed, int tile, int halo) {
        this.packed = packed;
        this.tile = tile;
        int[] padded = TilePlanner.paddedSize(packed.height, packed.width, tile, halo,
                TilePlanner.SIZE_MULTIPLE);
        this.sourceRows = TilePlanner.reflectIndices(packed.height, padded[0], halo);
        this.sourceCols = TilePlanner.reflectIndices(packed.width, padded[1], halo);
    }

    /** Copies the tile's {@code tile x tile x C} window into {@code into}, row-major. */
    void window(Tile t, float[] into) {
        int channels = packed.channels;
        int i = 0;
        for (int y = 0; y < tile; y++) {
            int rowBase = sourceRows[t.top + y] * packed.width;
            for (int x = 0; x < tile; x++) {
                int from = (rowBase + sourceCols[t.left + x]) * channels;
                for (int c = 0; c < channels; c++) {
                    into[i++] = packed.data[from + c];
                }
            }
        }
    }

    /**
     * Runs {@code step} on every tile of {@code plan} in order, polling {@code cancelled}
     * before each and telling {@code listener} after each; tiles are counted from
     * {@code doneBefore} out of {@code total} (a global model's two passes count as one run).
     */
    void forEachTile(List<Tile> plan, int doneBefore, int total, TiledRunner.Listener listener,
            BooleanSupplier cancelled, TileStep step) throws Exception {
        float[] window = new float[tile * tile * packed.channels];
        int done = doneBefore;
        for (Tile t : plan) {
            if (cancelled != null && cancelled.getAsBoolean()) {
                throw new CancellationException("cancelled after " + done + " of " + total
                        + " tiles");
            }
            window(t, window);
            long nanos = step.run(t, window);
            done++;
            if (listener != null) {
                listener.onTile(done, total, nanos);
            }
        }
    }
}
