package org.lsid.core;

/**
 * The whole frame's average of a global model's bottleneck map ({@code
 * lsid_keras.tiling._FrameAverage}), summed tile by tile as the encoder pass of a tiled run
 * goes ({@link TiledRunner}), so that the decoder pass can give every tile the frame's
 * average instead of its own.
 *
 * <p>Each tile contributes its share of the bottleneck map: its core in bottleneck cells
 * ({@code stride} packed pixels each), the first tile's share reaching back to the padded
 * frame's top/left and the last one's out to the bottom/right of the frame as an untiled run
 * pads it ({@code padded_size(H, W, 16, halo)}). The shares partition that frame's bottleneck
 * map, so the sum over tiles divided by its cell count {@code (Hu / 16) * (Wu / 16)} is the
 * average a whole-frame pass computes, up to the tiles' seam error. An int8 map is averaged
 * from its dequantised values; sums are in double and the result is rounded to float, as the
 * Python tiler does.
 */
public final class FrameMean {
    private final int height;
    private final int width;
    private final int side;
    private final int channels;
    private final int stride;
    private final int[] untiled;
    private final double[] sum;

    /**
     * An empty sum for a frame.
     *
     * @param height the packed frame's height, packed pixels
     * @param width the packed frame's width, packed pixels
     * @param tile the models' input side, packed pixels (the card's {@code tile})
     * @param halo the card's {@code halo}, packed pixels
     * @param channels K, the bottleneck channels (the card's {@code global_branch.channels})
     * @param stride packed pixels per bottleneck cell (the card's {@code global_branch.stride},
     *     16)
     */
    public FrameMean(int height, int width, int tile, int halo, int channels, int stride) {
        checkArguments(tile, channels, stride);
        this.height = height;
        this.width = width;
        this.side = tile / stride;
        this.channels = channels;
        this.stride = stride;
        this.untiled = TilePlanner.paddedSize(height, width, stride, halo, stride);
        this.sum = new double[channels];
    }

    /**
     * Adds a tile's share of its bottleneck map.
     *
     * @param t the tile, of the plan for this frame's size, tile and halo
     * @param bottleneck its map {@code [1, tile / stride, tile / stride, K]}, int8 or float32
     * @throws IllegalArgumentException the map's size is not {@code (tile / stride)^2 * K}
     */
    public void add(Tile t, TensorData bottleneck) {
        if (bottleneck.spec.size() != side * side * channels) {
            throw new IllegalArgumentException("bottleneck map " + bottleneck.spec + " for a "
                    + side + " x " + side + " x " + channels + " map");
        }
        int[] rows = bottleneckSpan(t.coreTop, t.coreHeight, height, t.pad, untiled[0], stride);
        int[] cols = bottleneckSpan(t.coreLeft, t.coreWidth, width, t.pad, untiled[1], stride);
        for (int y = rows[0] - t.top / stride; y < rows[1] - t.top / stride; y++) {
            for (int x = cols[0] - t.left / stride; x < cols[1] - t.left / stride; x++) {
                int from = (y * side + x) * channels;
                for (int k = 0; k < channels; k++) {
                    sum[k] += bottleneck.real(from + k);
                }
            }
        }
    }

    /** K floats: the frame's average of the bottleneck map, once every tile was added. */
    public float[] mean() {
        double count = (double) (untiled[0] / stride) * (untiled[1] / stride);
        float[] mean = new float[channels];
        for (int k = 0; k < channels; k++) {
            mean[k] = (float) (sum[k] / count);
        }
        return mean;
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

    static void checkArguments(int tile, int channels, int stride) {
        if (stride != TilePlanner.SIZE_MULTIPLE || channels < 1 || tile % stride != 0) {
            throw new IllegalArgumentException("global branch stride must be "
                    + TilePlanner.SIZE_MULTIPLE + " (the tiles' grid) and divide the tile, with "
                    + "channels >= 1; got stride=" + stride + ", tile=" + tile + ", channels="
                    + channels);
        }
    }
}
