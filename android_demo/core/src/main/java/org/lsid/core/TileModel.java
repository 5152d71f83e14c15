package org.lsid.core;

/**
 * A fixed-shape tile model: one packed window in, its sub-pixel RGB output out, as an
 * exported {@code .tflite} runs (input {@code [1, tile, tile, C]}, output
 * {@code [1, tile * block, tile * block, 3]}, both row-major float32).
 *
 * <p>The app's LiteRT runner implements this; the core's tests use a stand-in.
 */
public interface TileModel {
    /**
     * Runs one tile.
     *
     * @param input {@code tile * tile * channels} floats, packed and amplified RAW in [0, 1]
     * @param output {@code (tile * block)^2 * 3} floats to fill, sRGB in about [0, 1]
     * @throws Exception whatever the runtime throws; the runner stops and passes it on
     */
    void run(float[] input, float[] output) throws Exception;
}
