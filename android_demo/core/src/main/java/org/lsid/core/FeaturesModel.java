package org.lsid.core;

/**
 * The features file of a global model (GIA-Net, SE-UNet; {@link GlobalBranch}): one packed
 * window in, the bottleneck map that the model's global module averages out, as the exported
 * {@code <stem>_<quant>_features.tflite} runs (input {@code [1, tile, tile, C]}, output
 * {@code [1, tile / stride, tile / stride, K]}, both row-major float32).
 *
 * <p>The app's LiteRT runner implements this; the core's tests use a stand-in.
 */
public interface FeaturesModel {
    /**
     * Runs one tile through the encoder.
     *
     * @param input {@code tile * tile * channels} floats, packed and amplified RAW in [0, 1]
     * @param features {@code (tile / stride)^2 * K} floats to fill, the bottleneck map in the
     *     model's units (unbounded activations)
     * @throws Exception whatever the runtime throws; the runner stops and passes it on
     */
    void run(float[] input, float[] features) throws Exception;
}
