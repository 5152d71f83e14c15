package org.lsid.core;

/**
 * The main file of a global model (GIA-Net, SE-UNet; {@link GlobalBranch}): one packed window
 * and the whole frame's bottleneck average in, its sub-pixel RGB output out, as the exported
 * {@code <stem>_<quant>.tflite} runs (inputs {@code [1, tile, tile, C]} and the card's
 * {@code frame_mean} input {@code [1, 1, 1, K]}, output {@code [1, tile * block, tile * block,
 * 3]}, all row-major float32).
 *
 * <p>The app's LiteRT runner implements this; the core's tests use a stand-in.
 */
public interface GlobalTileModel {
    /**
     * Runs one tile with the frame's average in place of the tile's own.
     *
     * @param input {@code tile * tile * channels} floats, packed and amplified RAW in [0, 1]
     * @param frameMean {@code K} floats, the frame's bottleneck average ({@link FrameMean});
     *     the same array for every tile of a frame, not to be changed
     * @param output {@code (tile * block)^2 * 3} floats to fill, sRGB in about [0, 1]
     * @throws Exception whatever the runtime throws; the runner stops and passes it on
     */
    void run(float[] input, float[] frameMean, float[] output) throws Exception;
}
