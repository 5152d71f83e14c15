package org.lsid.core;

import java.util.List;

/**
 * The encoder file of a global model (GIA-Net, SE-UNet; {@link GlobalBranch}): one packed
 * window in, the maps its decoder needs out, as the exported {@code <stem>_<quant>_encoder
 * .tflite} runs (input {@code [1, tile, tile, C]}; outputs the U-Net's four skips and the
 * bottleneck map {@code [1, tile / 16, tile / 16, K]}, the card's {@code global_branch.kept}).
 *
 * <p>The app's LiteRT runner implements this; the core's tests use stand-ins.
 */
public interface EncoderModel {
    /**
     * Runs one tile through the encoder.
     *
     * @param input {@code tile * tile * channels} floats, packed and amplified RAW in [0, 1];
     *     the runner reuses the array for the next tile
     * @return the kept maps in the card's {@code global_branch.kept} order (the bottleneck
     *     map last), each in its encoder output's own type and with that output's spec
     *     ({@link TensorData#ofInt8} for an int8 output, {@link TensorData#ofFloats} for a
     *     float32 one), in arrays of their own: the runner keeps int8 ones until the tile's
     *     decoder has run, then releases them, and rounds float ones to halves at once
     *     ({@link TensorData#kept}), releasing the floats
     * @throws Exception whatever the runtime throws; the runner stops and passes it on
     */
    List<TensorData> run(float[] input) throws Exception;
}
