package org.lsid.core;

/**
 * A model card's {@code global_branch} ({@code lsid_keras/export/card.py}): a global model
 * (GIA-Net, SE-UNet) averages its bottleneck map over the whole frame, so {@code lsid export}
 * writes it as two files that a tiled run needs together.
 *
 * <p>On the main file's card ({@code role} "model"): {@link #featuresFile} maps a tile to its
 * bottleneck map {@code [1, tile / stride, tile / stride, channels]}; a runtime averages every
 * tile's share of that map over the frame ({@code lsid_keras.tiling.frame_mean}), then feeds
 * the average to the main file's second input {@link #frameMeanInput}
 * {@code [1, 1, 1, channels]} with every tile. On the features file's card ({@code role}
 * "global_features"), {@link #modelFile} names the main file it serves.
 */
public final class GlobalBranch {
    /** The features file beside the main file; null on the features file's own card. */
    public final String featuresFile;
    /** Hex sha256 of the features file's bytes; null on the features file's own card. */
    public final String featuresSha256;
    /** Name of the main file's frame-average input tensor; null on the features card. */
    public final String frameMeanInput;
    /** The main file this features file serves; null on the main file's card. */
    public final String modelFile;
    /** Bottleneck channels K. */
    public final int channels;
    /** Packed pixels per bottleneck pixel along each side (16). */
    public final int stride;

    GlobalBranch(String featuresFile, String featuresSha256, String frameMeanInput,
            String modelFile, int channels, int stride) {
        this.featuresFile = featuresFile;
        this.featuresSha256 = featuresSha256;
        this.frameMeanInput = frameMeanInput;
        this.modelFile = modelFile;
        this.channels = channels;
        this.stride = stride;
    }
}
