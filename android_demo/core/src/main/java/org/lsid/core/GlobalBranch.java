package org.lsid.core;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * A model card's {@code global_branch} ({@code lsid_keras/export/card.py}, card version 3): a
 * global model (GIA-Net, SE-UNet) averages its bottleneck map over the whole frame, so
 * {@code lsid export} writes it as an encoder and a decoder file that a tiled run needs
 * together ({@link TiledRunner}).
 *
 * <p>The encoder ({@code role} "global_encoder", {@link #modelFile} naming the decoder) maps a
 * tile to the {@link #kept} maps: the U-Net's four skips and, last, the bottleneck map
 * {@code [1, tile / stride, tile / stride, channels]}. A runtime runs every tile through it
 * once, keeps those maps and averages every tile's share of the bottleneck map over the frame
 * ({@link FrameMean}); then it runs every kept tile through the decoder ({@code role} "model",
 * {@link #encoderFile} naming the encoder) with the average as its input
 * {@link #frameMeanInput} {@code [1, 1, 1, channels]}.
 */
public final class GlobalBranch {
    /** The only {@code split} this reader knows. */
    public static final String SPLIT = "encoder_decoder";
    /** Name of the last kept map, the one averaged over the frame. */
    public static final String BOTTLENECK = "bottleneck";

    /** One map the encoder outputs and the decoder takes, as the card lists it. */
    public static final class KeptMap {
        /** "skip1" ... "skip4", "bottleneck". */
        public final String name;
        /** The encoder output's tensor name, e.g. "StatefulPartitionedCall:1". */
        public final String encoderOutput;
        /** The decoder input's tensor name, e.g. "serve_skip1:0". */
        public final String decoderInput;
        private final int[] shape;

        KeptMap(String name, String encoderOutput, String decoderInput, int[] shape) {
            this.name = name;
            this.encoderOutput = encoderOutput;
            this.decoderInput = decoderInput;
            this.shape = shape.clone();
        }

        /** {@code [1, height, width, channels]}. */
        public int[] shape() {
            return shape.clone();
        }

        @Override
        public boolean equals(Object other) {
            if (!(other instanceof KeptMap)) {
                return false;
            }
            KeptMap that = (KeptMap) other;
            return name.equals(that.name) && encoderOutput.equals(that.encoderOutput)
                    && decoderInput.equals(that.decoderInput) && Arrays.equals(shape, that.shape);
        }

        @Override
        public int hashCode() {
            return name.hashCode();
        }

        @Override
        public String toString() {
            return name + Arrays.toString(shape) + " (" + encoderOutput + " -> " + decoderInput
                    + ")";
        }
    }

    /** The encoder file beside the decoder; null on the encoder's own card. */
    public final String encoderFile;
    /** Hex sha256 of the encoder file's bytes; null on the encoder's own card. */
    public final String encoderSha256;
    /** The decoder's frame-average input tensor; null on the encoder's card. */
    public final String frameMeanInput;
    /** The decoder file the encoder serves; null on the decoder's card. */
    public final String modelFile;
    /** Bottleneck channels K. */
    public final int channels;
    /** Packed pixels per bottleneck pixel along each side (16). */
    public final int stride;
    /** The maps kept between the passes, in the card's order, the bottleneck map last. */
    public final List<KeptMap> kept;

    GlobalBranch(String encoderFile, String encoderSha256, String frameMeanInput,
            String modelFile, int channels, int stride, List<KeptMap> kept) {
        this.encoderFile = encoderFile;
        this.encoderSha256 = encoderSha256;
        this.frameMeanInput = frameMeanInput;
        this.modelFile = modelFile;
        this.channels = channels;
        this.stride = stride;
        this.kept = Collections.unmodifiableList(kept);
    }

    /**
     * The encoder file's own card beside it, {@code <stem>_<quant>_encoder.card.json}
     * ({@code lsid_keras.export.card.card_path}); null on the encoder's own card.
     */
    public String encoderCardFile() {
        if (encoderFile == null) {
            return null;
        }
        String stem = encoderFile.endsWith(".tflite")
                ? encoderFile.substring(0, encoderFile.length() - ".tflite".length())
                : encoderFile;
        return stem + ".card.json";
    }

    /**
     * Checks that an encoder file is the one its decoder was exported with: the hex sha256 of
     * its bytes is {@link #encoderSha256}. Reads the stream to its end; does not close it.
     *
     * @param source the encoder file, which starts the error message
     * @throws LsidException the digest differs (an encoder of another export)
     * @throws IOException the stream cannot be read
     */
    public void verifyEncoder(InputStream encoder, String source)
            throws LsidException, IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException error) {
            throw new IllegalStateException("this JVM has no SHA-256", error);
        }
        byte[] chunk = new byte[1 << 16];
        for (int n; (n = encoder.read(chunk)) > 0; ) {
            digest.update(chunk, 0, n);
        }
        StringBuilder hex = new StringBuilder();
        for (byte value : digest.digest()) {
            hex.append(String.format("%02x", value & 0xFF));
        }
        if (!hex.toString().equalsIgnoreCase(encoderSha256)) {
            throw new LsidException(source + ": not the encoder file this model was exported "
                    + "with (sha256 " + hex + ", the card says " + encoderSha256 + "); copy both "
                    + "files of one export");
        }
    }
}
