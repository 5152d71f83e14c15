package org.lsid.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Runs a fixed-shape {@link TileModel} over a packed frame tile by tile and stitches the
 * output, as {@code lsid_keras.tiling.run_tiled} does with a batch of one: the same plan, the
 * same reflect padding (read through index arithmetic, never built), the same crop or feather
 * blend. Memory: the output, one input and one output tile.
 *
 * <p>A global model (GIA-Net, SE-UNet: a card with {@code global_branch}) runs in two passes
 * with one encoder run per tile, as {@code lsid_keras.tiling.run_tiled_split}: pass 1 runs
 * every tile of the plan through its {@link EncoderModel}, adds the tile's share of the
 * bottleneck map to the frame's average ({@link FrameMean}, from the maps as the encoder gave
 * them) and keeps the maps ({@link TensorData#kept}: int8 bytes for an int8 export, float
 * ones rounded to float16 halves, as Python's {@code kept_dtype=KEPT_DTYPE}); pass 2 feeds
 * every kept tile, in plan order, to its {@link DecoderModel} with that average, each map
 * converted to the decoder input's type ({@link Requantiser}), stitches the output as a local
 * model's and releases the tile's maps. Memory: a local run's plus every tile's kept maps
 * ({@link #keptBytes}) plus, while a tile is halved, its float32 encoder outputs. The listener
 * counts the tiles of both passes.
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
    private final EncoderModel encoder;
    private final DecoderModel decoder;
    private final List<Requantiser> kept;
    private final TensorSpec frameMean;
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
        this(model, null, null, Collections.emptyList(), null, 0, tile, halo, block, channels,
                blend);
        if (model == null) {
            throw new IllegalArgumentException("a local model's runner needs its model");
        }
    }

    /**
     * A global model's runner (one encoder and one decoder run per tile).
     *
     * @param encoder the encoder file: tile in, kept maps out
     * @param decoder the decoder file: kept maps and frame average in, RGB out
     * @param kept per kept map, in the card's {@code global_branch.kept} order (the bottleneck
     *     map {@code [1, tile / stride, tile / stride, K]} last): its encoder output's and
     *     decoder input's specs
     * @param frameMean the decoder's {@code frame_mean} input {@code [1, 1, 1, K]}
     * @param stride packed pixels per bottleneck cell (the card's {@code global_branch.stride},
     *     16)
     * @param tile, halo, block, channels as for a local model
     */
    public TiledRunner(EncoderModel encoder, DecoderModel decoder, List<Requantiser> kept,
            TensorSpec frameMean, int stride, int tile, int halo, int block, int channels,
            Blend blend) {
        this(null, encoder, decoder, kept, frameMean, stride, tile, halo, block, channels,
                blend);
        if (encoder == null || decoder == null || kept.isEmpty()) {
            throw new IllegalArgumentException("a global model needs its encoder, its decoder "
                    + "and at least the bottleneck map between them");
        }
        FrameMean.checkArguments(tile, meanChannels, stride);
        int side = tile / stride;
        int[] bottleneck = {1, side, side, meanChannels};
        if (frameMean.shape.length != 4 || frameMean.size() != meanChannels
                || !frameMean.isInt8() && !frameMean.isFloat32()
                || !Arrays.equals(kept.get(kept.size() - 1).from.shape, bottleneck)) {
            throw new IllegalArgumentException("the last kept map must be the bottleneck map "
                    + Arrays.toString(bottleneck) + " and frame_mean [1, 1, 1, K], int8 "
                    + "or float32; got "
                    + kept.get(kept.size() - 1).from + " and " + frameMean);
        }
    }

    private TiledRunner(TileModel model, EncoderModel encoder, DecoderModel decoder,
            List<Requantiser> kept, TensorSpec frameMean, int stride, int tile, int halo,
            int block, int channels, Blend blend) {
        TilePlanner.checkArguments(TilePlanner.SIZE_MULTIPLE, TilePlanner.SIZE_MULTIPLE, tile,
                halo, TilePlanner.SIZE_MULTIPLE);
        if (block < 1 || channels < 1) {
            throw new IllegalArgumentException("block and channels must be positive; got block="
                    + block + ", channels=" + channels);
        }
        this.model = model;
        this.encoder = encoder;
        this.decoder = decoder;
        this.kept = Collections.unmodifiableList(new ArrayList<>(kept));
        this.frameMean = frameMean;
        this.meanChannels = frameMean == null ? 0 : frameMean.shape[frameMean.shape.length - 1];
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
     *     GlobalBranch}): use {@link #forGlobalCard} with its encoder
     */
    public static TiledRunner forCard(TileModel model, ModelCard card, Blend blend)
            throws LsidException {
        if (card.isGlobal()) {
            String file = card.globalBranch.encoderFile;
            throw new LsidException("the model card's model is global (role " + card.role
                    + (file == null ? "" : ", encoder file " + file)
                    + "): its tiles need the whole frame's bottleneck average from a first "
                    + "pass over its encoder; run it with TiledRunner.forGlobalCard");
        }
        return new TiledRunner(model, card.tile, card.halo, card.blockSize, card.packedChannels,
                blend);
    }

    /**
     * A global model's runner built from its decoder's and encoder's cards: tile, halo, block,
     * channels, the global branch's stride and, per kept map, the encoder output's and the
     * decoder input's types and quantisation.
     *
     * @param decoderCard the decoder's card ({@code role} "model", the app's main file)
     * @param encoderCard the card of the encoder file {@code global_branch.encoder_file} names
     * @throws LsidException the first card is no global decoder's, or the second is not its
     *     encoder's ({@link ModelCard#checkEncoderCard})
     */
    public static TiledRunner forGlobalCard(EncoderModel encoder, DecoderModel decoder,
            ModelCard decoderCard, ModelCard encoderCard, Blend blend) throws LsidException {
        if (!decoderCard.isGlobal() || decoderCard.isEncoder()) {
            throw new LsidException("the model card is " + (decoderCard.isGlobal()
                    ? "a global encoder's (role " + decoderCard.role + "); pass the decoder's"
                    : "a local model's (no global_branch); use TiledRunner.forCard"));
        }
        String encoderFile = decoderCard.globalBranch.encoderCardFile();
        decoderCard.checkEncoderCard(encoderCard, encoderFile);
        List<Requantiser> maps = new ArrayList<>();
        for (int i = 0; i < decoderCard.kept.size(); i++) {
            maps.add(new Requantiser(encoderCard.kept.get(i), decoderCard.kept.get(i)));
        }
        return new TiledRunner(encoder, decoder, maps, decoderCard.frameMean,
                decoderCard.globalBranch.stride, decoderCard.tile, decoderCard.halo,
                decoderCard.blockSize, decoderCard.packedChannels, blend);
    }

    /** Whether this runner makes a global model's two passes. */
    public boolean isGlobal() {
        return encoder != null;
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
     * Bytes a global model's kept maps take at most during a run of a frame of this size
     * (every tile's encoder outputs as {@link TensorData#kept} keeps them: 1 per int8 value, 2
     * per float one), beside the output; 0 for a local model.
     */
    public long keptBytes(int height, int width) {
        long perTile = 0;
        for (Requantiser map : kept) {
            perTile += TensorData.keptBytesOf(map.from);
        }
        return perTile * (isGlobal() ? plan(height, width).size() : 0);
    }

    /**
     * Enhances a packed, amplified frame.
     *
     * @param listener told after every tile (of both passes for a global model), or null
     * @param cancelled polled before every tile, or null; when it answers true the run stops
     *     with a {@link java.util.concurrent.CancellationException}
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
        RgbImage output = new RgbImage(packed.height * block, packed.width * block);
        float[] result = new float[tile * block * tile * block * 3];
        if (isGlobal()) {
            runGlobal(packed, plan, frame, output, result, listener, cancelled);
            return output;
        }
        frame.forEachTile(plan, 0, plan.size(), listener, cancelled, (t, window) -> {
            long start = System.nanoTime();
            model.run(window, result);
            long nanos = System.nanoTime() - start;
            stitch(output, t, result);
            return nanos;
        });
        return output;
    }

    /** The two passes of a global model: encoder and keep, then decoder and stitch. */
    private void runGlobal(PackedImage packed, List<Tile> plan, PaddedFrame frame,
            RgbImage output, float[] result, Listener listener, BooleanSupplier cancelled)
            throws Exception {
        int total = 2 * plan.size();
        FrameMean average = new FrameMean(packed.height, packed.width, tile, halo, meanChannels,
                stride);
        List<List<TensorData>> keptTiles = new ArrayList<>(plan.size());
        frame.forEachTile(plan, 0, total, listener, cancelled, (t, window) -> {
            long start = System.nanoTime();
            List<TensorData> maps = encoder.run(window);
            long nanos = System.nanoTime() - start;
            checkKept(maps);
            average.add(t, maps.get(maps.size() - 1));
            List<TensorData> halved = new ArrayList<>(maps.size());
            for (TensorData map : maps) {
                halved.add(map.kept());
            }
            keptTiles.add(halved);
            return nanos;
        });
        TensorData mean = frameMeanInput(average.mean());
        List<TensorData> inputs = new ArrayList<>(kept.size());
        for (Requantiser map : kept) {
            inputs.add(map.newTarget());
        }
        List<TensorData> decoderInputs = Collections.unmodifiableList(inputs);
        PaddedFrame.eachTile(plan, plan.size(), total, listener, cancelled, (index, t) -> {
            List<TensorData> maps = keptTiles.set(index, null);
            for (int i = 0; i < kept.size(); i++) {
                kept.get(i).convert(maps.get(i), inputs.get(i));
            }
            long start = System.nanoTime();
            decoder.run(decoderInputs, mean, result);
            long nanos = System.nanoTime() - start;
            for (TensorData map : maps) {
                map.release();
            }
            stitch(output, t, result);
            return nanos;
        });
    }

    /** Throws unless an encoder run gave the kept maps the runner was built with. */
    private void checkKept(List<TensorData> maps) {
        boolean ok = maps != null && maps.size() == kept.size();
        for (int i = 0; ok && i < maps.size(); i++) {
            ok = maps.get(i) != null && maps.get(i).spec.equals(kept.get(i).from)
                    && !maps.get(i).isReleased();
        }
        if (!ok) {
            List<TensorSpec> want = new ArrayList<>();
            for (Requantiser map : kept) {
                want.add(map.from);
            }
            List<Object> got = new ArrayList<>();
            if (maps != null) {
                for (TensorData map : maps) {
                    got.add(map == null ? null : map.spec);
                }
            }
            throw new IllegalStateException("the encoder returned " + got + "; expected the "
                    + "kept maps " + want);
        }
    }

    /** The frame's average as the decoder's {@code frame_mean} input takes it. */
    private TensorData frameMeanInput(float[] mean) {
        if (frameMean.isInt8()) {
            byte[] codes = new byte[mean.length];
            for (int k = 0; k < mean.length; k++) {
                codes[k] = (byte) frameMean.quantize(mean[k]);
            }
            return TensorData.ofInt8(frameMean, codes);
        }
        return TensorData.ofFloats(frameMean, mean);
    }

    /** Writes a tile's output into the image with the runner's blend. */
    private void stitch(RgbImage output, Tile t, float[] result) {
        if (blend == Blend.CROP) {
            crop(output, t, result);
        } else {
            feather(output, t, result);
        }
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
