package org.lsid.core;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

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

    /**
     * The features file's own card beside it, {@code <stem>_<quant>_features.card.json}
     * ({@code lsid_keras.export.card.card_path}); null on the features file's own card.
     */
    public String featuresCardFile() {
        if (featuresFile == null) {
            return null;
        }
        String stem = featuresFile.endsWith(".tflite")
                ? featuresFile.substring(0, featuresFile.length() - ".tflite".length())
                : featuresFile;
        return stem + ".card.json";
    }

    /**
     * Checks that a features file is the one its main file was exported with: the hex sha256
     * of its bytes is {@link #featuresSha256} ({@code card.global_features_file} checks the
     * same). Reads the stream to its end; does not close it.
     *
     * @param source the features file, which starts the error message
     * @throws LsidException the digest differs (a features file of another export)
     * @throws IOException the stream cannot be read
     */
    public void verifyFeatures(InputStream features, String source)
            throws LsidException, IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException error) {
            throw new IllegalStateException("this JVM has no SHA-256", error);
        }
        byte[] chunk = new byte[1 << 16];
        for (int n; (n = features.read(chunk)) > 0; ) {
            digest.update(chunk, 0, n);
        }
        StringBuilder hex = new StringBuilder();
        for (byte value : digest.digest()) {
            hex.append(String.format("%02x", value & 0xFF));
        }
        if (!hex.toString().equalsIgnoreCase(featuresSha256)) {
            throw new LsidException(source + ": not the features file this model was exported "
                    + "with (sha256 " + hex + ", the card says " + featuresSha256 + "); copy both "
                    + "files of one export");
        }
    }
}
