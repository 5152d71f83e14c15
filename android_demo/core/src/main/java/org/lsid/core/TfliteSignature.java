package org.lsid.core;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A signature of a {@code .tflite} file, read from the flatbuffer without a runtime: its key
 * and, for each input and output, the signature's name for it and the subgraph tensor it
 * binds (name and index).
 *
 * <p>The model card names tensors as the subgraph does ({@code "serve_frame_mean:0"}), while
 * LiteRT's {@code CompiledModel} addresses inputs and outputs by signature name ({@code
 * "frame_mean"}, {@code "output_3"}) and lists them in an order of its own (LiteRT's
 * interpreter sorts them by name; the converter need not): the signature is the one exact link
 * between the two, so the app finds a global model's kept maps and {@code frame_mean} through
 * it, never by position.
 *
 * <p>Reads the TFLite schema's {@code Model.signature_defs}, {@code SignatureDef} ({@code
 * inputs}, {@code outputs}, {@code signature_key}, {@code subgraph_index}), {@code TensorMap}
 * ({@code name}, {@code tensor_index}) and {@code Tensor.name}.
 */
public final class TfliteSignature {
    /** One input or output of a signature. */
    public static final class Tensor {
        /** The signature's name for it, e.g. "frame_mean": what LiteRT's API takes. */
        public final String key;
        /** The subgraph tensor's name, e.g. "serve_frame_mean:0": what the card records. */
        public final String tensorName;
        /** The subgraph tensor's index. */
        public final int tensorIndex;

        Tensor(String key, String tensorName, int tensorIndex) {
            this.key = key;
            this.tensorName = tensorName;
            this.tensorIndex = tensorIndex;
        }

        @Override
        public String toString() {
            return key + " (" + tensorName + ")";
        }
    }

    /** TFLite files carry this identifier at bytes 4 to 8. */
    static final String FILE_IDENTIFIER = "TFL3";
    // Byte offsets of fields in their tables' vtables (4 + 2 * field id in schema.fbs).
    private static final int MODEL_SUBGRAPHS = 8;
    private static final int MODEL_SIGNATURE_DEFS = 18;
    private static final int SIGNATURE_INPUTS = 4;
    private static final int SIGNATURE_OUTPUTS = 6;
    private static final int SIGNATURE_KEY = 8;
    private static final int SIGNATURE_SUBGRAPH_INDEX = 12;
    private static final int TENSOR_MAP_NAME = 4;
    private static final int TENSOR_MAP_INDEX = 6;
    private static final int SUBGRAPH_TENSORS = 4;
    private static final int TENSOR_NAME = 10;

    /** The signature key, e.g. "serve" ({@code lsid export}'s only endpoint). */
    public final String key;
    public final List<Tensor> inputs;
    public final List<Tensor> outputs;

    private TfliteSignature(String key, List<Tensor> inputs, List<Tensor> outputs) {
        this.key = key;
        this.inputs = Collections.unmodifiableList(inputs);
        this.outputs = Collections.unmodifiableList(outputs);
    }

    /**
     * Every signature of a {@code .tflite} file.
     *
     * @param model the file's bytes (a memory-mapped asset works; position and order are
     *     ignored)
     * @param source the file's name, which starts every error message
     * @throws LsidException not a TFLite flatbuffer, or one whose tables point outside it
     */
    public static List<TfliteSignature> read(ByteBuffer model, String source)
            throws LsidException {
        ByteBuffer b = model.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.position(0);
        if (b.limit() < 8 || !FILE_IDENTIFIER.equals(ascii(b, 4, 4))) {
            throw new LsidException(source + ": not a TFLite model (no " + FILE_IDENTIFIER
                    + " file identifier)");
        }
        try {
            int root = b.getInt(0);
            int[] subgraphs = tables(b, field(b, root, MODEL_SUBGRAPHS));
            int[] signatures = tables(b, field(b, root, MODEL_SIGNATURE_DEFS));
            List<TfliteSignature> out = new ArrayList<>(signatures.length);
            for (int signature : signatures) {
                int subgraph = scalar(b, field(b, signature, SIGNATURE_SUBGRAPH_INDEX));
                if (subgraph >= subgraphs.length) {
                    throw new LsidException(source + ": a signature names subgraph " + subgraph
                            + " of " + subgraphs.length);
                }
                int[] tensors = tables(b, field(b, subgraphs[subgraph], SUBGRAPH_TENSORS));
                out.add(new TfliteSignature(string(b, field(b, signature, SIGNATURE_KEY)),
                        tensorMaps(b, field(b, signature, SIGNATURE_INPUTS), tensors, source),
                        tensorMaps(b, field(b, signature, SIGNATURE_OUTPUTS), tensors,
                                source)));
            }
            return out;
        } catch (IndexOutOfBoundsException | IllegalArgumentException error) {
            throw new LsidException(source + ": damaged TFLite file (a table points outside "
                    + "it: " + error.getMessage() + ")");
        }
    }

    /**
     * The file's only signature ({@code lsid export} writes one, "serve").
     *
     * @throws LsidException as {@link #read}, or no signature or several
     */
    public static TfliteSignature only(ByteBuffer model, String source) throws LsidException {
        List<TfliteSignature> all = read(model, source);
        if (all.size() != 1) {
            throw new LsidException(source + ": has " + all.size() + " signatures; an `lsid "
                    + "export` file has one");
        }
        return all.get(0);
    }

    /**
     * The input bound to the subgraph tensor the card names.
     *
     * @param tensorName a card's tensor name, e.g. {@code global_branch.frame_mean_input}
     * @param source the file, for the message
     * @throws LsidException no input of this signature binds that tensor
     */
    public Tensor inputForTensor(String tensorName, String source) throws LsidException {
        return forTensor(inputs, "input", tensorName, source);
    }

    /**
     * The output bound to the subgraph tensor the card names.
     *
     * @param tensorName a card's tensor name, e.g. a kept map's {@code encoder_output}
     * @param source the file, for the message
     * @throws LsidException no output of this signature binds that tensor
     */
    public Tensor outputForTensor(String tensorName, String source) throws LsidException {
        return forTensor(outputs, "output", tensorName, source);
    }

    private Tensor forTensor(List<Tensor> tensors, String kind, String tensorName,
            String source) throws LsidException {
        for (Tensor tensor : tensors) {
            if (tensor.tensorName.equals(tensorName)) {
                return tensor;
            }
        }
        throw new LsidException(source + ": no " + kind + " of signature \"" + key + "\" is "
                + "the card's tensor \"" + tensorName + "\" (" + kind + "s " + tensors
                + "); are the model and its card from one export?");
    }

    private static List<Tensor> tensorMaps(ByteBuffer b, int vector, int[] tensors,
            String source) throws LsidException {
        List<Tensor> out = new ArrayList<>();
        for (int map : tables(b, vector)) {
            int index = scalar(b, field(b, map, TENSOR_MAP_INDEX));
            if (index >= tensors.length) {
                throw new LsidException(source + ": a signature names tensor " + index + " of "
                        + tensors.length);
            }
            out.add(new Tensor(string(b, field(b, map, TENSOR_MAP_NAME)),
                    string(b, field(b, tensors[index], TENSOR_NAME)), index));
        }
        return out;
    }

    /** Position of a table's field, or -1 when the field is absent. */
    private static int field(ByteBuffer b, int table, int vtableOffset) {
        int vtable = table - b.getInt(table);
        int vtableSize = b.getShort(vtable) & 0xFFFF;
        if (vtableOffset >= vtableSize) {
            return -1;
        }
        int offset = b.getShort(vtable + vtableOffset) & 0xFFFF;
        return offset == 0 ? -1 : table + offset;
    }

    /** The tables of a vector field; none when the field is absent. */
    private static int[] tables(ByteBuffer b, int field) {
        if (field < 0) {
            return new int[0];
        }
        int vector = field + b.getInt(field);
        int length = b.getInt(vector);
        if (length < 0 || length > (b.limit() - vector) / 4) {
            throw new IllegalArgumentException("vector of " + length + " at " + vector);
        }
        int[] out = new int[length];
        for (int i = 0; i < length; i++) {
            int element = vector + 4 + 4 * i;
            out[i] = element + b.getInt(element);
        }
        return out;
    }

    /** An unsigned 32-bit scalar field (0 when absent, the schema's default). */
    private static int scalar(ByteBuffer b, int field) {
        int value = field < 0 ? 0 : b.getInt(field);
        if (value < 0) {
            throw new IllegalArgumentException("index " + Integer.toUnsignedString(value));
        }
        return value;
    }

    private static String string(ByteBuffer b, int field) {
        if (field < 0) {
            return "";
        }
        int at = field + b.getInt(field);
        return utf8(b, at + 4, b.getInt(at));
    }

    private static String ascii(ByteBuffer b, int at, int length) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = b.get(at + i);
        }
        return new String(bytes, StandardCharsets.US_ASCII);
    }

    private static String utf8(ByteBuffer b, int at, int length) {
        if (length < 0 || length > b.limit() - at) {
            throw new IllegalArgumentException("string of " + length + " at " + at);
        }
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = b.get(at + i);
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
