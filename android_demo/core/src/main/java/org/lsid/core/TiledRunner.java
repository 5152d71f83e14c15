package org.lsid.core;

import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * Runs a fixed-shape {@link TileModel} over a packed frame tile by tile and stitches the
 * output, as {@code lsid_keras.tiling.run_tiled} does with a batch of one: the same plan, the
 * same reflect padding (read through index arithmetic, never built), the same crop or feather
 * blend. Memory: the output, one input and one output tile.
 *
 * <p>A global model (GIA-Net, SE-UNet: a card with {@code global_branch}) runs in two passes,
 * as {@code run_tiled(..., frame_features=...)}: every tile through its {@link FeaturesModel}
 * into the frame's bottleneck average ({@link FrameMean}), then every tile through its
 * {@link GlobalTileModel} with that average. The listener counts the tiles of both passes.
 */
public final class TiledRunner {
    /** Progress and timing of a run, on the thread that runs it. */
    public interface Listener {
        /**
         * Called after each tile.
         *
         * @param done tiles finished, 1 to total
         * @param total tiles in the run: the plan's, twice for a global model's two passes
         * @param tileNanos time the model took on this tile, in nanoseconds
         */
        void onTile(int done, int total, long tileNanos);
    }

    private final TileModel model;
    private final GlobalTileModel globalModel;
    private final FeaturesModel features;
    private final int meanChannels;
    private final int stride;
    private final int tile;
    private final int halo;
    private final int block;
    private final int channels;
    private final Blend blend;

    /**
     * A local model's runner (one pass).
     *
     * @param model the tile model
     * @param tile its input side in packed pixels (the card's {@code tile})
     * @param halo context kept around each core, packed pixels (the card's {@code halo})
     * @param block output pixels per packed pixel per side (the card's {@code block_size})
     * @param channels packed channels the model takes (the card's {@code packed_channels})
     */
    public TiledRunner(TileModel model, int tile, int halo, int block, int channels,
            Blend blend) {
        this(model, null, null, 0, 0, tile, halo, block, channels, blend);
    }

    /**
     * A global model's runner (two passes).
     *
     * @param model the main file: tile and frame average in, RGB out
     * @param features the features file: tile in, bottleneck map out
     * @param meanChannels K, the bottleneck channels (the card's {@code global_branch.channels})
     * @param stride packed pixels per bottleneck cell (the card's {@code global_branch.stride},
     *     16)
     * @param tile, halo, block, channels as for a local model
     */
    public TiledRunner(GlobalTileModel model, FeaturesModel features, int meanChannels,
            int stride, int tile, int halo, int block, int channels, Blend blend) {
        this(null, model, features, meanChannels, stride, tile, halo, block, channels, blend);
        if (model == null || features == null) {
            throw new IllegalArgumentException("a global model needs its main and its "
                    + "features model");
        }
        FrameMean.checkArguments(tile, meanChannels, stride);
    }

    private TiledRunner(TileModel model, GlobalTileModel globalModel, FeaturesModel features,
            int meanChannels, int stride, int tile, int halo, int block, int channels,
            Blend blend) {
        TilePlanner.checkArguments(TilePlanner.SIZE_MULTIPLE, TilePlanner.SIZE_MULTIPLE, tile,
                halo, TilePlanner.SIZE_MULTIPLE);
        if (block < 1 || channels < 1) {
            throw new IllegalArgumentException("block and channels must be positive; got block="
                    + block + ", channels=" + channels);
        }
        this.model = model;
        this.globalModel = globalModel;
        this.features = features;
        this.meanChannels = meanChannels;
        this.stride = stride;
        this.tile = tile;
        this.halo = halo;
        this.block = block;
        this.channels = channels;
        this.blend = blend;
    }

    /**
     * A local model's runner built from its card's tile, halo, block and channels.
     *
     * @throws LsidException the card is a global model's (GIA-Net, SE-UNet: {@link
     *     GlobalBranch}): use {@link #forGlobalCard} with its features file
     */
    public static TiledRunner forCard(TileModel model, ModelCard card, Blend blend)
            throws LsidException {
        if (card.isGlobal()) {
            String file = card.globalBranch.featuresFile;
            throw new LsidException("the model card's model is global (role " + card.role
                    + (file == null ? "" : ", features file " + file)
                    + "): its tiles need the whole frame's bottleneck average from a first "
                    + "pass over its features file; run it with TiledRunner.forGlobalCard");
        }
        return new TiledRunner(model, card.tile, card.halo, card.blockSize, card.packedChannels,
                blend);
    }

    /**
     * A global model's two-pass runner built from its main file's card: tile, halo, block,
     * channels and the global branch's K and stride.
     *
     * @param features the features file the card's {@code global_branch.features_file} names
     * @throws LsidException the card is a local model's, or a features file's own card
     */
    public static TiledRunner forGlobalCard(GlobalTileModel model, FeaturesModel features,
            ModelCard card, Blend blend) throws LsidException {
        if (!card.isGlobal() || !ModelCard.ROLE_MODEL.equals(card.role)) {
            throw new LsidException("the model card is " + (card.isGlobal()
                    ? "a global features file's (role " + card.role + "); pass the main file's"
                    : "a local model's (no global_branch); use TiledRunner.forCard"));
        }
        return new TiledRunner(model, features, card.globalBranch.channels,
                card.globalBranch.stride, card.tile, card.halo, card.blockSize,
                card.packedChannels, blend);
    }

    /** Whether this runner makes a global model's two passes. */
    public boolean isGlobal() {
        return globalModel != null;
    }

    /** The plan this runner follows for a packed frame of this size. */
    public List<Tile> plan(int height, int width) {
        return TilePlanner.plan(height, width, tile, halo);
    }

    /** Tiles a run of a frame of this size makes: the plan's, twice for a global model. */
    public int tileRuns(int height, int width) {
        return plan(height, width).size() * (isGlobal() ? 2 : 1);
    }

    /**
     * Enhances a packed, amplified frame.
     *
     * @param listener told after every tile (of both passes for a global model), or null
     * @param cancelled polled before every tile, or null; when it answers true the run stops
     *     with a {@link CancellationException}
     * @return {@code (H * block) x (W * block) x 3}, the model's value range
     * @throws LsidException the frame's channels differ from the model's
     * @throws Exception what the model throws
     */
    public RgbImage run(PackedImage packed, Listener listener, BooleanSupplier cancelled)
            throws Exception {
        if (packed.channels != channels) {
            throw new LsidException("packed frame has " + packed.channels
                    + " channels; the model takes " + channels);
        }
        List<Tile> plan = plan(packed.height, packed.width);
        PaddedFrame frame = new PaddedFrame(packed, tile, halo);
        int total = plan.size() * (isGlobal() ? 2 : 1);
        int done = 0;
        TileModel pass = model;
        if (isGlobal()) {
            float[] mean = FrameMean.compute(features, packed, tile, halo, meanChannels, stride,
                    plan, frame, 0, total, listener, cancelled);
            pass = (input, output) -> globalModel.run(input, mean, output);
            done = plan.size();
        }
        TileModel tileModel = pass;
        RgbImage output = new RgbImage(packed.height * block, packed.width * block);
        float[] result = new float[tile * block * tile * block * 3];
        frame.forEachTile(plan, done, total, listener, cancelled, (t, window) -> {
            long start = System.nanoTime();
            tileModel.run(window, result);
            long nanos = System.nanoTime() - start;
            if (blend == Blend.CROP) {
                crop(output, t, result);
            } else {
                feather(output, t, result);
            }
            return nanos;
        });
        return output;
    }

    /** Writes the tile's core into the image. */
    private void crop(RgbImage output, Tile t, float[] result) {
        int side = tile * block;
        int top = (t.top - t.pad) * block;
        int left = (t.left - t.pad) * block;
        for (int y = t.coreTop * block; y < (t.coreTop + t.coreHeight) * block; y++) {
            int from = ((y - top) * side + t.coreLeft * block - left) * 3;
            int to = (y * output.width + t.coreLeft * block) * 3;
            System.arraycopy(result, from, output.data, to, t.coreWidth * block * 3);
        }
    }

    /** Adds the tile's output weighted by its feather ramps over its core widened by them. */
    private void feather(RgbImage output, Tile t, float[] result) {
        int side = tile * block;
        int top = (t.top - t.pad) * block;
        int left = (t.left - t.pad) * block;
        double[] rows = axisWeights(t.top, t.height, t.coreTop + t.pad,
                t.coreTop + t.pad + t.coreHeight, t.rampTop, t.rampBottom);
        double[] cols = axisWeights(t.left, t.width, t.coreLeft + t.pad,
                t.coreLeft + t.pad + t.coreWidth, t.rampLeft, t.rampRight);
        int y0 = (t.coreTop - t.rampTop) * block;
        int y1 = (t.coreTop + t.coreHeight + t.rampBottom) * block;
        int x0 = (t.coreLeft - t.rampLeft) * block;
        int x1 = (t.coreLeft + t.coreWidth + t.rampRight) * block;
        for (int y = y0; y < y1; y++) {
            for (int x = x0; x < x1; x++) {
                float weight = (float) (rows[y - top] * cols[x - left]);
                int from = ((y - top) * side + x - left) * 3;
                int to = (y * output.width + x) * 3;
                for (int c = 0; c < 3; c++) {
                    output.data[to + c] += weight * result[from + c];
                }
            }
        }
    }

    /**
     * Feather weights over a window along one axis, in output pixels: a linear rise centred
     * on {@code start} and a fall centred on {@code stop} (padded packed pixels), each
     * {@code 2 * ramp} wide, a step when the ramp is 0 ({@code tiling._axis_weights}).
     */
    private double[] axisWeights(int origin, int size, int start, int stop, int rampBefore,
            int rampAfter) {
        double[] weights = new double[size * block];
        for (int i = 0; i < weights.length; i++) {
            double centre = origin * block + i + 0.5;
            weights[i] = rise(centre, start, rampBefore) * (1.0 - rise(centre, stop, rampAfter));
        }
        return weights;
    }

    private double rise(double centre, int edge, int ramp) {
        if (ramp == 0) {
            return centre >= edge * block ? 1.0 : 0.0;
        }
        double value = (centre - (double) (edge - ramp) * block) / (2.0 * ramp * block);
        return Math.min(Math.max(value, 0.0), 1.0);
    }
}
