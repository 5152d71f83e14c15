package org.lsid.core;

import java.util.List;

/**
 * The decoder file of a global model (GIA-Net, SE-UNet; {@link GlobalBranch}), its card's
 * {@code role} "model": a tile's kept encoder maps and the whole frame's bottleneck average
 * in, its sub-pixel RGB output out, as the exported {@code <stem>_<quant>.tflite} runs
 * (inputs the card's {@code global_branch.kept} decoder inputs and its {@code frame_mean}
 * {@code [1, 1, 1, K]}; output {@code [1, tile * block, tile * block, 3]}).
 *
 * <p>The app's LiteRT runner implements this; the core's tests use stand-ins.
 */
public interface DecoderModel {
    /**
     * Runs one kept tile with the frame's average.
     *
     * @param kept the tile's maps in the card's {@code global_branch.kept} order, each already
     *     in its decoder input's type and quantisation ({@link Requantiser}); the runner reuses
     *     these buffers for the next tile
     * @param frameMean the frame's bottleneck average ({@link FrameMean}) as the
     *     {@code frame_mean} input takes it; the same object for every tile of a frame, not to
     *     be changed
     * @param output {@code (tile * block)^2 * 3} floats to fill, sRGB in about [0, 1]
     *     (dequantised for an int8 output)
     * @throws Exception whatever the runtime throws; the runner stops and passes it on
     */
    void run(List<TensorData> kept, TensorData frameMean, float[] output) throws Exception;
}
