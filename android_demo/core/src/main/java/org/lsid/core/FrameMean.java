package org.lsid.core;

import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * The first pass of a global model's tiled run ({@code lsid_keras.tiling.frame_mean}): the
 * average of the bottleneck map over the whole frame, computed tile by tile with the features
 * model, so that the second pass can give every tile the frame's average instead of its own.
 *
 * <p>Each tile contributes its share of the bottleneck map: its core in bottleneck cells
 * ({@code stride} packed pixels each), the first tile's share reaching back to the padded
 * frame's top/left and the last one's out to the bottom/right of the frame as an untiled run
 * pads it ({@code padded_size(H, W, 16, halo)}). The shares partition that frame's bottleneck
 * map, so the sum over tiles divided by its cell count {@code (Hu / 16) * (Wu / 16)} is the
 * average a whole-frame pass computes, up to the tiles' seam error. Sums are in double and the
 * result is rounded to float, as the Python tiler does.
 */
public final class FrameMean {
    private FrameMean() {
    }

    /**
     * {start, stop} of a tile's share of the bottleneck map along one axis, in bottleneck
     * cells of the padded frame ({@code tiling._bottleneck_span}): its core's edges, the first
     * share from 0 and the last to the end of the frame an untiled run pads.
     *
     * @param coreStart the core's first packed pixel in the image
     * @param coreSize the core's length, packed pixels
     * @param length the image's length along this axis, packed pixels
     * @param pad the plan's halo (reflect padding before the image)
     * @param paddedUntiled the untiled padded length, a multiple of {@code stride}
     * @param stride packed pixels per bottleneck cell (16)
     */
    static int[] bottleneckSpan(int coreStart, int coreSize, int length, int pad,
            int paddedUntiled, int stride) {
        int start = coreStart == 0 ? 0 : Math.floorDiv(coreStart + pad, stride);
        int end = coreStart + coreSize;
        int stop = end == length ? paddedUntiled / stride : Math.floorDiv(end + pad, stride);
        return new int[] {start, Math.min(stop, paddedUntiled / stride)};
    }

    /**
     * The frame's bottleneck average.
     *
     * @param features the global model's features file
     * @param packed the packed, amplified frame (the second pass's input)
     * @param tile the models' input side, packed pixels (the card's {@code tile})
     * @param halo the card's {@code halo}, packed pixels
     * @param channels K, the bottleneck channels (the card's {@code global_branch.channels})
     * @param stride packed pixels per bottleneck cell (the card's {@code global_branch.stride},
     *     16)
     * @return K floats, the frame's average of the bottleneck map
     * @throws Exception what the model throws
     */
    public static float[] compute(FeaturesModel features, PackedImage packed, int tile, int halo,
            int channels, int stride) throws Exception {
        checkArguments(tile, channels, stride);
        List<Tile> plan = TilePlanner.plan(packed.height, packed.width, tile, halo);
        return compute(features, packed, tile, halo, channels, stride, plan,
                new PaddedFrame(packed, tile, halo), 0, plan.size(), null, null);
    }

    static void checkArguments(int tile, int channels, int stride) {
        if (stride != TilePlanner.SIZE_MULTIPLE || channels < 1 || tile % stride != 0) {
            throw new IllegalArgumentException("global branch stride must be "
                    + TilePlanner.SIZE_MULTIPLE + " (the tiles' grid) and divide the tile, with "
                    + "channels >= 1; got stride=" + stride + ", tile=" + tile + ", channels="
                    + channels);
        }
    }

    /** The first pass over a plan the runner already made, with its progress counts. */
    static float[] compute(FeaturesModel features, PackedImage packed, int tile, int halo,
            int channels, int stride, List<Tile> plan, PaddedFrame frame, int doneBefore,
            int total, TiledRunner.Listener listener, BooleanSupplier cancelled)
            throws Exception {
        int[] untiled = TilePlanner.paddedSize(packed.height, packed.width, stride, halo,
                stride);
        int side = tile / stride;
        float[] map = new float[side * side * channels];
        double[] sum = new double[channels];
        frame.forEachTile(plan, doneBefore, total, listener, cancelled, (t, window) -> {
            long start = System.nanoTime();
            features.run(window, map);
            long nanos = System.nanoTime() - start;
            int[] rows = bottleneckSpan(t.coreTop, t.coreHeight, packed.height, t.pad,
                    untiled[0], stride);
            int[] cols = bottleneckSpan(t.coreLeft, t.coreWidth, packed.width, t.pad,
                    untiled[1], stride);
            for (int y = rows[0] - t.top / stride; y < rows[1] - t.top / stride; y++) {
                for (int x = cols[0] - t.left / stride; x < cols[1] - t.left / stride; x++) {
                    int from = (y * side + x) * channels;
                    for (int k = 0; k < channels; k++) {
                        sum[k] += map[from + k];
                    }
                }
            }
            return nanos;
        });
        double count = (double) (untiled[0] / stride) * (untiled[1] / stride);
        float[] mean = new float[channels];
        for (int k = 0; k < channels; k++) {
            mean[k] = (float) (sum[k] / count);
        }
        return mean;
    }
}
