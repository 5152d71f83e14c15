package org.lsid.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The model card that {@code lsid export} embeds in every {@code .tflite} and writes beside it
 * as {@code <name>.card.json} ({@code lsid_keras/export/card.py}): everything the app needs
 * to feed the model, so it holds no model constants of its own.
 *
 * <p>Checked as {@code card.check_card} checks it: the format and version, the CFA's channels
 * and block size, a tile the tiler can use, and tensor shapes that agree with the tile.
 *
 * <p>Version 2 added {@code role} and {@code global_branch} ({@link GlobalBranch}): a global
 * model's main file takes a second input, the frame's bottleneck average, and its features
 * file ({@code role} "global_features") outputs the bottleneck map. Version 1 cards (no such
 * fields) are local models.
 */
public final class ModelCard {
    /** The card's {@code format} value. */
    public static final String FORMAT = "lsid_card";
    /** The newest card version this reader understands. */
    public static final int CARD_VERSION = 2;
    /** {@code role} of a file that enhances tiles (a local model or a global model's main file). */
    public static final String ROLE_MODEL = "model";
    /** {@code role} of a global model's features file. */
    public static final String ROLE_GLOBAL_FEATURES = "global_features";

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
    public final TensorSpec input;
    public final TensorSpec output;
    /** {@link #ROLE_MODEL} or {@link #ROLE_GLOBAL_FEATURES}. */
    public final String role;
    /** The card's {@code global_branch}, or null for a local model. */
    public final GlobalBranch globalBranch;
    /** A global main file's {@code frame_mean} input {@code [1, 1, 1, K]}, else null. */
    public final TensorSpec frameMean;
    /** The training camera's XYZ -> camera matrix ({@code camera.training_camera}), or null. */
    private final double[][] trainingXyzToCamera;

    private ModelCard(String cfaKind, String cameraName, int packedChannels, int blockSize,
            List<String> channelOrder, int tile, int halo, int sizeMultiple,
            double[] inputRange, double[] outputRange, String quantization, TensorSpec input,
            TensorSpec output, double[][] trainingXyzToCamera, String role,
            GlobalBranch globalBranch, TensorSpec frameMean) {
        this.cfaKind = cfaKind;
        this.cameraName = cameraName;
        this.packedChannels = packedChannels;
        this.blockSize = blockSize;
        this.channelOrder = Collections.unmodifiableList(channelOrder);
        this.tile = tile;
        this.halo = halo;
        this.sizeMultiple = sizeMultiple;
        this.inputRange = inputRange;
        this.outputRange = outputRange;
        this.quantization = quantization;
        this.input = input;
        this.output = output;
        this.trainingXyzToCamera = trainingXyzToCamera;
        this.role = role;
        this.globalBranch = globalBranch;
        this.frameMean = frameMean;
    }

    /** Whether the file belongs to a global model (main or features file). */
    public boolean isGlobal() {
        return globalBranch != null;
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
     * @throws LsidException not JSON, not a card, a newer card, or inconsistent fields
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
        String role = card.has("role") ? card.string("role") : ROLE_MODEL;
        if (!ROLE_MODEL.equals(role) && !ROLE_GLOBAL_FEATURES.equals(role)) {
            throw new LsidException(source + ": model card role \"" + role + "\"; expected \""
                    + ROLE_MODEL + "\" or \"" + ROLE_GLOBAL_FEATURES + "\"");
        }
        boolean features = ROLE_GLOBAL_FEATURES.equals(role);
        GlobalBranch branch = card.has("global_branch")
                ? globalBranch(card.object("global_branch"), features, source) : null;
        if (features && branch == null) {
            throw new LsidException(source + ": model card of a global features file lacks "
                    + "global_branch");
        }
        TensorSpec input;
        TensorSpec frameMean = null;
        if (branch != null && !features) {
            int meanIndex = card.tensorIndex("inputs", 2, branch.frameMeanInput);
            frameMean = card.tensorAt("inputs", meanIndex);
            input = card.tensorAt("inputs", 1 - meanIndex);
            int[] wantMean = {1, 1, 1, branch.channels};
            if (!java.util.Arrays.equals(frameMean.shape, wantMean)) {
                throw new LsidException(source + ": model card input " + branch.frameMeanInput
                        + " shape " + java.util.Arrays.toString(frameMean.shape)
                        + "; expected " + java.util.Arrays.toString(wantMean));
            }
        } else {
            input = card.tensor("inputs");
        }
        TensorSpec output = card.tensor("outputs");
        int[] wantIn = {1, tile, tile, channels};
        int[] wantOut = features
                ? new int[] {1, tile / branch.stride, tile / branch.stride, branch.channels}
                : new int[] {1, tile * block, tile * block, 3};
        if (!java.util.Arrays.equals(input.shape, wantIn)) {
            throw new LsidException(source + ": model card input shape "
                    + java.util.Arrays.toString(input.shape) + " disagrees with tile " + tile
                    + " and " + channels + " channels " + java.util.Arrays.toString(wantIn));
        }
        if (!java.util.Arrays.equals(output.shape, wantOut)) {
            throw new LsidException(source + ": model card output shape "
                    + java.util.Arrays.toString(output.shape) + "; expected "
                    + java.util.Arrays.toString(wantOut));
        }
        return new ModelCard(kind, camera.optionalString("name"), channels, block, order, tile,
                halo, multiple, card.object("normalisation").range("range"),
                card.object("output").range("range"), card.string("quantization"), input,
                output, trainingMatrix(camera, source), role, branch, frameMean);
    }

    private static GlobalBranch globalBranch(Fields branch, boolean features, String source)
            throws LsidException {
        int channels = branch.integer("channels");
        int stride = branch.integer("stride");
        if (channels < 1 || stride != TilePlanner.SIZE_MULTIPLE) {
            throw new LsidException(source + ": model card global_branch has channels "
                    + channels + " and stride " + stride + "; expected channels >= 1 and stride "
                    + TilePlanner.SIZE_MULTIPLE);
        }
        if (features) {
            return new GlobalBranch(null, null, null, branch.string("model_file"), channels,
                    stride);
        }
        return new GlobalBranch(branch.string("features_file"), branch.string("features_sha256"),
                branch.string("frame_mean_input"), null, channels, stride);
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
     * Checks that {@code features} is the card of this global main file's features file, as
     * {@code card.global_features_file} does: role "global_features", and the same tile, halo,
     * quantisation, packed channels and bottleneck channels K.
     *
     * @param source the features card's file, which starts the error message
     * @throws LsidException this card is not a global main file's, or the two disagree
     */
    public void checkFeaturesCard(ModelCard features, String source) throws LsidException {
        if (!isGlobal() || !ROLE_MODEL.equals(role)) {
            throw new LsidException(source + ": checked against a card that is no global "
                    + "model's main file (role " + role + ")");
        }
        boolean same = features.isGlobal() && features.tile == tile && features.halo == halo
                && features.quantization.equals(quantization)
                && features.packedChannels == packedChannels
                && features.globalBranch.channels == globalBranch.channels;
        if (!ROLE_GLOBAL_FEATURES.equals(features.role) || !same) {
            throw new LsidException(source + ": is not the features card of this model (role "
                    + features.role + ", tile " + features.tile + ", halo " + features.halo
                    + ", quantization " + features.quantization + ", K "
                    + (features.isGlobal() ? features.globalBranch.channels : 0)
                    + "; expected global_features, tile " + tile + ", halo " + halo + ", "
                    + quantization + ", K " + globalBranch.channels + ")");
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

        TensorSpec tensor(String key) throws LsidException {
            List<?> tensors = list(key);
            if (tensors.size() != 1) {
                throw new LsidException(source + ": model card " + key + " lists "
                        + tensors.size() + " tensors; expected one");
            }
            return tensorAt(key, 0);
        }

        /** Index of the tensor called {@code name} in a list of {@code count} tensors. */
        int tensorIndex(String key, int count, String name) throws LsidException {
            List<?> tensors = list(key);
            if (tensors.size() != count) {
                throw new LsidException(source + ": model card " + key + " lists "
                        + tensors.size() + " tensors; expected " + count);
            }
            for (int i = 0; i < count; i++) {
                if (name.equals(new Fields(tensors.get(i), source, key + "[" + i + "]")
                        .optionalString("name"))) {
                    return i;
                }
            }
            throw new LsidException(source + ": model card " + key + " has no tensor named \""
                    + name + "\" (global_branch.frame_mean_input)");
        }

        TensorSpec tensorAt(String key, int index) throws LsidException {
            List<?> tensors = list(key);
            String at = key + "[" + index + "]";
            Fields tensor = new Fields(tensors.get(index), source, at);
            List<?> dims = tensor.list("shape");
            int[] shape = new int[dims.size()];
            for (int i = 0; i < shape.length; i++) {
                if (!(dims.get(i) instanceof Double)) {
                    throw tensor.missing("shape", "a list of integers");
                }
                shape[i] = (int) (double) (Double) dims.get(i);
            }
            TensorSpec spec = new TensorSpec(tensor.string("dtype"), shape,
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
