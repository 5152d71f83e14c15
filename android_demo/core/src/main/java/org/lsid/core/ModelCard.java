package org.lsid.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The model card that {@code lsid export} embeds in every {@code .tflite} and writes beside it
 * as {@code <name>.card.json} ({@code lsid_keras/export/card.py}): everything the app needs
 * to feed the model, so it holds no model constants of its own.
 *
 * <p>Checked as {@code card.check_card} checks it: the format and version, the CFA's channels
 * and block size, a tile the tiler can use, and tensors that agree with the tile.
 *
 * <p>Version 3 writes a global model (GIA-Net, SE-UNet) as an encoder ({@code role}
 * "global_encoder") and a decoder ({@code role} "model"), both with a {@code global_branch}
 * ({@link GlobalBranch}) listing the maps kept between the two. Version 2 wrote a global model
 * as a features file and a whole second network; such cards are refused (re-export). Local
 * models have no {@code global_branch} (null); their version 1 and 2 cards are read as
 * version 3 ones.
 */
public final class ModelCard {
    /** The card's {@code format} value. */
    public static final String FORMAT = "lsid_card";
    /** The newest card version this reader understands. */
    public static final int CARD_VERSION = 3;
    /** {@code role} of a file that enhances tiles (a local model or a global model's decoder). */
    public static final String ROLE_MODEL = "model";
    /** {@code role} of a global model's encoder file. */
    public static final String ROLE_GLOBAL_ENCODER = "global_encoder";
    /** {@code role} of a version-2 global model's features file, refused. */
    private static final String ROLE_GLOBAL_FEATURES = "global_features";

    /** "bayer" or "xtrans". */
    public final String cfaKind;
    /** Training camera name ("sony", "fuji") or null. */
    public final String cameraName;
    /** Packed channels C (4 Bayer, 9 X-Trans). */
    public final int packedChannels;
    /** Output pixels per packed pixel per side (2 Bayer, 3 X-Trans). */
    public final int blockSize;
    /** Packed channel colours, e.g. R, G, B, G. */
    public final List<String> channelOrder;
    /** The model's fixed input side in packed pixels. */
    public final int tile;
    /** Context around each core and padding around the frame, packed pixels. */
    public final int halo;
    public final int sizeMultiple;
    /** Input value range, [0, 1]. */
    public final double[] inputRange;
    /** Output value range, [0, 1] sRGB. */
    public final double[] outputRange;
    /** "fp32", "fp16", "dynamic", "int8" or "qat". */
    public final String quantization;
    /** Every input the card lists, in its order, with their tensor names. */
    public final List<TensorSpec> inputs;
    /** Every output the card lists, in its order, with their tensor names. */
    public final List<TensorSpec> outputs;
    /** The packed input {@code [1, tile, tile, C]}; null on a global model's decoder. */
    public final TensorSpec input;
    /** The RGB output {@code [1, tile * b, tile * b, 3]}; null on a global model's encoder. */
    public final TensorSpec output;
    /** {@link #ROLE_MODEL} or {@link #ROLE_GLOBAL_ENCODER}. */
    public final String role;
    /** The card's {@code global_branch}, or null for a local model. */
    public final GlobalBranch globalBranch;
    /** A global decoder's {@code frame_mean} input {@code [1, 1, 1, K]}, else null. */
    public final TensorSpec frameMean;
    /**
     * This file's side of the kept maps, in {@code global_branch.kept} order: the decoder's
     * inputs or the encoder's outputs; empty for a local model.
     */
    public final List<TensorSpec> kept;
    /** The training camera's XYZ -> camera matrix ({@code camera.training_camera}), or null. */
    private final double[][] trainingXyzToCamera;

    private ModelCard(Fields card, Fields camera, String cfaKind, int packedChannels,
            int blockSize, List<String> channelOrder, int tile, int halo, int sizeMultiple,
            List<TensorSpec> inputs, List<TensorSpec> outputs, TensorSpec input,
            TensorSpec output, String role, GlobalBranch globalBranch, TensorSpec frameMean,
            List<TensorSpec> kept, String source) throws LsidException {
        this.cfaKind = cfaKind;
        this.cameraName = camera.optionalString("name");
        this.packedChannels = packedChannels;
        this.blockSize = blockSize;
        this.channelOrder = Collections.unmodifiableList(channelOrder);
        this.tile = tile;
        this.halo = halo;
        this.sizeMultiple = sizeMultiple;
        this.inputRange = card.object("normalisation").range("range");
        this.outputRange = card.object("output").range("range");
        this.quantization = card.string("quantization");
        this.inputs = Collections.unmodifiableList(inputs);
        this.outputs = Collections.unmodifiableList(outputs);
        this.input = input;
        this.output = output;
        this.trainingXyzToCamera = trainingMatrix(camera, source);
        this.role = role;
        this.globalBranch = globalBranch;
        this.frameMean = frameMean;
        this.kept = Collections.unmodifiableList(kept);
    }

    /** Whether the file belongs to a global model (its encoder or its decoder). */
    public boolean isGlobal() {
        return globalBranch != null;
    }

    /** Whether this is a global model's encoder file's card. */
    public boolean isEncoder() {
        return ROLE_GLOBAL_ENCODER.equals(role);
    }

    /**
     * The XYZ -> camera matrix of the camera the model learned (for {@link ColourMapping}), or
     * null when the card does not carry one (cards before the field existed).
     */
    public double[][] trainingXyzToCamera() {
        return trainingXyzToCamera == null ? null : new double[][] {trainingXyzToCamera[0]
            .clone(), trainingXyzToCamera[1].clone(), trainingXyzToCamera[2].clone()};
    }

    /**
     * Reads and checks a card.
     *
     * @param json the card's text
     * @param source the file or asset it came from, which starts every error message
     * @throws LsidException not JSON, not a card, a newer card, a version-2 global model's
     *     card, or inconsistent fields
     */
    public static ModelCard parse(String json, String source) throws LsidException {
        Object document;
        try {
            document = Json.parse(json);
        } catch (IllegalArgumentException error) {
            throw new LsidException(source + ": model card is not JSON (" + error.getMessage()
                    + ")");
        }
        Fields card = new Fields(document, source, "card");
        if (!FORMAT.equals(card.optional("format"))) {
            throw new LsidException(source + ": not an lsid model card (format is not \""
                    + FORMAT + "\"); export the model with `lsid export`");
        }
        int version = card.integer("card_version");
        if (version > CARD_VERSION) {
            throw new LsidException(source + ": model card version " + version
                    + " is newer than this app reads (" + CARD_VERSION + "); update the app");
        }
        String role = card.has("role") ? card.string("role") : ROLE_MODEL;
        Object rawBranch = card.optional("global_branch");
        // As card._older_global: a features file, or a global branch of no known split (a
        // version-2 main file's has features_file and no split).
        if (ROLE_GLOBAL_FEATURES.equals(role) || rawBranch instanceof Map
                && !GlobalBranch.SPLIT.equals(((Map<?, ?>) rawBranch).get("split"))) {
            throw new LsidException(source + ": exported by an older lsid-keras as two passes "
                    + "(card version 2); re-export it with `lsid export`");
        }
        if (!ROLE_MODEL.equals(role) && !ROLE_GLOBAL_ENCODER.equals(role)) {
            throw new LsidException(source + ": model card role \"" + role + "\"; expected \""
                    + ROLE_MODEL + "\" or \"" + ROLE_GLOBAL_ENCODER + "\"");
        }
        Fields camera = card.object("camera");
        String kind = camera.string("cfa_kind");
        int channels = camera.integer("packed_channels");
        int block = camera.integer("block_size");
        int[] expected = "bayer".equals(kind) ? new int[] {4, 2}
                : "xtrans".equals(kind) ? new int[] {9, 3} : null;
        if (expected == null) {
            throw new LsidException(source + ": model card cfa_kind \"" + kind
                    + "\"; expected \"bayer\" or \"xtrans\"");
        }
        if (channels != expected[0] || block != expected[1]) {
            throw new LsidException(source + ": model card says " + kind + " with " + channels
                    + " channels and block " + block + "; expected " + expected[0] + " and "
                    + expected[1]);
        }
        List<String> order = new ArrayList<>();
        for (Object colour : camera.list("channel_order")) {
            order.add(String.valueOf(colour));
        }
        if (order.size() != channels) {
            throw new LsidException(source + ": model card channel_order has " + order.size()
                    + " entries for " + channels + " channels");
        }
        int tile = card.integer("tile");
        int halo = card.integer("halo");
        int multiple = card.has("size_multiple") ? card.integer("size_multiple")
                : TilePlanner.SIZE_MULTIPLE;
        if (multiple != TilePlanner.SIZE_MULTIPLE) {
            throw new LsidException(source + ": model card size_multiple " + multiple
                    + "; this app tiles on the " + TilePlanner.SIZE_MULTIPLE + "-pixel grid");
        }
        if (tile < multiple || tile % multiple != 0 || halo < 0 || tile - 2 * halo < multiple) {
            throw new LsidException(source + ": model card tile " + tile + " / halo " + halo
                    + " cannot be tiled (tile a multiple of " + multiple + ", tile - 2 * halo >= "
                    + multiple + ")");
        }
        boolean encoder = ROLE_GLOBAL_ENCODER.equals(role);
        GlobalBranch branch = card.has("global_branch")
                ? globalBranch(card.object("global_branch"), encoder, tile, source) : null;
        if (encoder && branch == null) {
            throw new LsidException(source + ": model card of a global encoder file lacks "
                    + "global_branch");
        }
        List<TensorSpec> inputs = card.tensors("inputs");
        List<TensorSpec> outputs = card.tensors("outputs");
        int[] wantIn = {1, tile, tile, channels};
        int[] wantOut = {1, tile * block, tile * block, 3};
        TensorSpec input = null;
        TensorSpec output = null;
        TensorSpec frameMean = null;
        List<TensorSpec> kept = new ArrayList<>();
        if (branch == null || encoder) {
            input = card.only("inputs", inputs, encoder ? "the packed input" : null);
            requireShape(input, wantIn, "input", source);
        }
        if (branch == null || !encoder) {
            output = card.only("outputs", outputs, null);
            requireShape(output, wantOut, "output", source);
        }
        if (branch != null) {
            String side = encoder ? "outputs" : "inputs";
            List<TensorSpec> tensors = encoder ? outputs : inputs;
            int count = branch.kept.size() + (encoder ? 0 : 1);
            if (tensors.size() != count) {
                throw new LsidException(source + ": model card " + side + " lists "
                        + tensors.size() + " tensors; expected " + count + " (global_branch.kept"
                        + (encoder ? ")" : " and frame_mean)"));
            }
            for (GlobalBranch.KeptMap map : branch.kept) {
                TensorSpec spec = card.named(side, tensors,
                        encoder ? map.encoderOutput : map.decoderInput, "kept map " + map.name);
                requireShape(spec, map.shape(), (encoder ? "output " : "input ") + spec.name,
                        source);
                if (!spec.isInt8() && !spec.isFloat32()) {
                    throw new LsidException(source + ": model card kept map " + map.name
                            + " is " + spec.dtype + "; this app keeps int8 and float32 maps");
                }
                kept.add(spec);
            }
            if (!encoder) {
                frameMean = card.named("inputs", inputs, branch.frameMeanInput,
                        "global_branch.frame_mean_input");
                requireShape(frameMean, new int[] {1, 1, 1, branch.channels},
                        "input " + frameMean.name, source);
                if (!frameMean.isInt8() && !frameMean.isFloat32()) {
                    throw new LsidException(source + ": model card frame_mean input is "
                            + frameMean.dtype + "; this app feeds int8 and float32 ones");
                }
            }
        }
        return new ModelCard(card, camera, kind, channels, block, order, tile, halo, multiple,
                inputs, outputs, input, output, role, branch, frameMean, kept, source);
    }

    private static void requireShape(TensorSpec spec, int[] want, String what, String source)
            throws LsidException {
        if (!Arrays.equals(spec.shape, want)) {
            throw new LsidException(source + ": model card " + what + " shape "
                    + Arrays.toString(spec.shape) + "; expected " + Arrays.toString(want));
        }
    }

    private static GlobalBranch globalBranch(Fields branch, boolean encoder, int tile,
            String source) throws LsidException {
        int channels = branch.integer("channels");
        int stride = branch.integer("stride");
        if (channels < 1 || stride != TilePlanner.SIZE_MULTIPLE) {
            throw new LsidException(source + ": model card global_branch has channels "
                    + channels + " and stride " + stride + "; expected channels >= 1 and stride "
                    + TilePlanner.SIZE_MULTIPLE);
        }
        List<?> entries = branch.list("kept");
        List<GlobalBranch.KeptMap> kept = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < entries.size(); i++) {
            Fields entry = new Fields(entries.get(i), source, "global_branch.kept[" + i + "]");
            GlobalBranch.KeptMap map = new GlobalBranch.KeptMap(entry.string("name"),
                    entry.string("encoder_output"), entry.string("decoder_input"),
                    entry.shape("shape"));
            if (!seen.add("name " + map.name) || !seen.add("output " + map.encoderOutput)
                    || !seen.add("input " + map.decoderInput)) {
                throw new LsidException(source + ": model card global_branch.kept lists " + map
                        + " after another with its name or tensor");
            }
            kept.add(map);
        }
        int side = tile / stride;
        int[] bottleneck = {1, side, side, channels};
        GlobalBranch.KeptMap last = kept.isEmpty() ? null : kept.get(kept.size() - 1);
        if (last == null || !GlobalBranch.BOTTLENECK.equals(last.name)
                || !Arrays.equals(last.shape(), bottleneck)) {
            throw new LsidException(source + ": model card global_branch.kept must end with "
                    + "the bottleneck map " + Arrays.toString(bottleneck) + " (tile " + tile
                    + " / stride " + stride + ", K " + channels + "); it lists " + kept);
        }
        if (encoder) {
            return new GlobalBranch(null, null, null, branch.string("model_file"), channels,
                    stride, kept);
        }
        String meanInput = branch.string("frame_mean_input");
        if (seen.contains("input " + meanInput)) {
            throw new LsidException(source + ": model card global_branch.frame_mean_input \""
                    + meanInput + "\" is also a kept map's decoder input");
        }
        return new GlobalBranch(branch.string("encoder_file"), branch.string("encoder_sha256"),
                meanInput, null, channels, stride, kept);
    }

    private static double[][] trainingMatrix(Fields camera, String source)
            throws LsidException {
        if (!camera.has("training_camera")) {
            return null;
        }
        Fields training = camera.object("training_camera");
        List<?> rows = training.list("xyz_to_camera");
        double[][] matrix = new double[3][3];
        boolean ok = rows.size() == 3;
        for (int i = 0; ok && i < 3; i++) {
            Object row = rows.get(i);
            ok = row instanceof List && ((List<?>) row).size() == 3;
            for (int j = 0; ok && j < 3; j++) {
                Object v = ((List<?>) row).get(j);
                ok = v instanceof Double;
                matrix[i][j] = ok ? (Double) v : 0;
            }
        }
        if (!ok) {
            throw new LsidException(source + ": model card camera.training_camera.xyz_to_camera "
                    + "is not a 3 x 3 list of numbers");
        }
        return matrix;
    }

    /**
     * Checks that {@code encoder} is the card of this global decoder's encoder file: role
     * "global_encoder" and the same tile, halo, quantisation, packed channels, K, stride and
     * kept maps (names, tensor names, shapes).
     *
     * @param source the encoder card's file, which starts the error message
     * @throws LsidException this card is not a global decoder's, or the two disagree
     */
    public void checkEncoderCard(ModelCard encoder, String source) throws LsidException {
        if (!isGlobal() || isEncoder()) {
            throw new LsidException(source + ": checked against a card that is no global "
                    + "model's decoder (role " + role + (isGlobal() ? "" : ", no global_branch")
                    + ")");
        }
        GlobalBranch other = encoder.globalBranch;
        boolean same = encoder.isEncoder() && encoder.tile == tile && encoder.halo == halo
                && encoder.quantization.equals(quantization)
                && encoder.packedChannels == packedChannels
                && other.channels == globalBranch.channels && other.stride == globalBranch.stride
                && other.kept.equals(globalBranch.kept);
        if (!same) {
            throw new LsidException(source + ": is not the encoder card of this model (role "
                    + encoder.role + ", tile " + encoder.tile + ", halo " + encoder.halo
                    + ", quantization " + encoder.quantization + ", K "
                    + (other == null ? 0 : other.channels) + ", kept "
                    + (other == null ? "[]" : other.kept) + "; expected " + ROLE_GLOBAL_ENCODER
                    + ", tile " + tile + ", halo " + halo + ", " + quantization + ", K "
                    + globalBranch.channels + ", kept " + globalBranch.kept + ")");
        }
    }

    /**
     * Throws unless the model takes Bayer frames (the app packs Bayer mosaics only).
     *
     * @throws LsidException for an X-Trans model
     */
    public void requireBayer(String source) throws LsidException {
        if (!"bayer".equals(cfaKind)) {
            throw new LsidException(source + ": the model takes " + cfaKind + " frames ("
                    + packedChannels + " channels); this app packs Bayer mosaics (4 channels)");
        }
    }

    /** Typed access to one JSON object of the card, with messages naming the field. */
    private static final class Fields {
        private final Map<?, ?> map;
        private final String source;
        private final String where;

        Fields(Object value, String source, String where) throws LsidException {
            if (!(value instanceof Map)) {
                throw new LsidException(source + ": model card " + where
                        + " is not a JSON object");
            }
            this.map = (Map<?, ?>) value;
            this.source = source;
            this.where = where;
        }

        boolean has(String key) {
            return map.containsKey(key) && map.get(key) != null;
        }

        Object optional(String key) {
            return map.get(key);
        }

        private LsidException missing(String key, String what) {
            return new LsidException(source + ": model card " + where + "." + key
                    + (map.containsKey(key) ? " is not " + what : " is missing") + "; expected "
                    + what);
        }

        Object required(String key, Class<?> type, String what) throws LsidException {
            Object value = map.get(key);
            if (!type.isInstance(value)) {
                throw missing(key, what);
            }
            return value;
        }

        String string(String key) throws LsidException {
            return (String) required(key, String.class, "a string");
        }

        String optionalString(String key) {
            Object value = map.get(key);
            return value instanceof String ? (String) value : null;
        }

        int integer(String key) throws LsidException {
            double value = (Double) required(key, Double.class, "an integer");
            if (value != Math.rint(value) || Math.abs(value) > Integer.MAX_VALUE) {
                throw missing(key, "an integer");
            }
            return (int) value;
        }

        double number(String key) throws LsidException {
            return (Double) required(key, Double.class, "a number");
        }

        List<?> list(String key) throws LsidException {
            return (List<?>) required(key, List.class, "a list");
        }

        Fields object(String key) throws LsidException {
            return new Fields(required(key, Map.class, "an object"), source, where + "." + key);
        }

        double[] range(String key) throws LsidException {
            List<?> values = list(key);
            if (values.size() != 2 || !(values.get(0) instanceof Double)
                    || !(values.get(1) instanceof Double)) {
                throw missing(key, "[low, high]");
            }
            return new double[] {(Double) values.get(0), (Double) values.get(1)};
        }

        /** Every tensor of the list {@code key} ("inputs" or "outputs"). */
        List<TensorSpec> tensors(String key) throws LsidException {
            int count = list(key).size();
            List<TensorSpec> out = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                out.add(tensorAt(key, i));
            }
            return out;
        }

        /** The one tensor of a list that must hold one ({@code what}: for the message). */
        TensorSpec only(String key, List<TensorSpec> tensors, String what)
                throws LsidException {
            if (tensors.size() != 1) {
                throw new LsidException(source + ": model card " + key + " lists "
                        + tensors.size() + " tensors; expected one"
                        + (what == null ? "" : ", " + what));
            }
            return tensors.get(0);
        }

        /** The tensor called {@code name} ({@code what} names it in the message). */
        TensorSpec named(String key, List<TensorSpec> tensors, String name, String what)
                throws LsidException {
            for (TensorSpec tensor : tensors) {
                if (name.equals(tensor.name)) {
                    return tensor;
                }
            }
            throw new LsidException(source + ": model card " + key + " has no tensor named \""
                    + name + "\" (" + what + ")");
        }

        int[] shape(String key) throws LsidException {
            List<?> dims = list(key);
            int[] shape = new int[dims.size()];
            for (int i = 0; i < shape.length; i++) {
                Object dim = dims.get(i);
                if (!(dim instanceof Double) || (Double) dim != Math.rint((Double) dim)) {
                    throw missing(key, "a list of integers");
                }
                shape[i] = (int) (double) (Double) dim;
            }
            return shape;
        }

        TensorSpec tensorAt(String key, int index) throws LsidException {
            List<?> tensors = list(key);
            String at = key + "[" + index + "]";
            Fields tensor = new Fields(tensors.get(index), source, at);
            int[] shape = tensor.shape("shape");
            TensorSpec spec = new TensorSpec(tensor.optionalString("name"),
                    tensor.string("dtype"), shape,
                    tensor.has("scale") ? tensor.number("scale") : 0.0,
                    tensor.has("zero_point") ? tensor.integer("zero_point") : 0);
            if (spec.isQuantized() && !(spec.scale > 0)) {
                throw new LsidException(source + ": model card " + at + " is " + spec.dtype
                        + " with scale " + spec.scale + "; a quantised tensor needs scale > 0");
            }
            return spec;
        }
    }
}
