package org.lsid.core;

import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * A packed frame as the tiles of a plan read it ({@code lsid_keras.tiling._tile_batches}):
 * reflect-padded by the halo and up to the 16-grid and the tile, through index arithmetic
 * (the padded frame is never built); and the loop over a plan's tiles that every pass of a
 * tiled run makes (cancellation, progress).
 */
final class PaddedFrame {
    /** What to do with one tile's window. */
    interface TileStep {
        /** @return nanoseconds the model took on this tile */
        long run(Tile tile, float[] window) throws Exception;
    }

    /** What to do with one tile of a plan, by its index in the plan. */
    interface IndexedStep {
        /** @return nanoseconds the model took on this tile */
        long run(int index, Tile tile) throws Exception;
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
     * Runs {@code step} on every tile's window of {@code plan} in order ({@link #eachTile}).
     */
    void forEachTile(List<Tile> plan, int doneBefore, int total, TiledRunner.Listener listener,
            BooleanSupplier cancelled, TileStep step) throws Exception {
        float[] window = new float[tile * tile * packed.channels];
        eachTile(plan, doneBefore, total, listener, cancelled, (index, t) -> {
            window(t, window);
            return step.run(t, window);
        });
    }

    /**
     * Runs {@code step} on every tile of {@code plan} in order, polling {@code cancelled}
     * before each and telling {@code listener} after each; tiles are counted from
     * {@code doneBefore} out of {@code total} (a global model's two passes count as one run).
     */
    static void eachTile(List<Tile> plan, int doneBefore, int total,
            TiledRunner.Listener listener, BooleanSupplier cancelled, IndexedStep step)
            throws Exception {
        int done = doneBefore;
        for (int index = 0; index < plan.size(); index++) {
            if (cancelled != null && cancelled.getAsBoolean()) {
                throw new CancellationException("cancelled after " + done + " of " + total
                        + " tiles");
            }
            long nanos = step.run(index, plan.get(index));
            done++;
            if (listener != null) {
                listener.onTile(done, total, nanos);
            }
        }
    }
}
