package org.lsid.core;

import java.util.ArrayList;
import java.util.List;

/**
 * Tile planning identical to the Python tiler's ({@code lsid_keras.tiling}: {@code tile_plan},
 * {@code padded_size}, {@code fit_tile}, {@code reflect_indices}); the golden vectors check
 * the plans are equal tile for tile. All sizes are in packed pixels.
 *
 * <p>The packed frame is reflect-padded by {@code halo} on every side, then on the bottom and
 * right up to a multiple of 16 and to at least the tile. Windows are full tiles on the 16-pixel
 * grid of the padded frame, as few per axis as keep {@code halo} of context at every core edge,
 * spread evenly; each core edge is the middle of the overlap of two neighbouring windows.
 */
public final class TilePlanner {
    /** Packed sides must be multiples of this (2^4 for the 4-pooling U-Net). */
    public static final int SIZE_MULTIPLE = 16;

    private TilePlanner() {
    }

    private static int ceilDiv(int a, int b) {
        return -Math.floorDiv(-a, b);
    }

    /**
     * {height, width} of the padded frame the tiles read: the image plus {@code halo} on every
     * side, rounded up to a multiple of {@code multiple} and to at least {@code tile}.
     */
    public static int[] paddedSize(int height, int width, int tile, int halo, int multiple) {
        return new int[] {
            Math.max(tile, ceilDiv(height + 2 * halo, multiple) * multiple),
            Math.max(tile, ceilDiv(width + 2 * halo, multiple) * multiple)};
    }

    /** Checks plan arguments as the Python tiler does. */
    public static void checkArguments(int height, int width, int tile, int halo, int multiple) {
        if (height < 1 || width < 1 || tile < 1 || multiple < 1) {
            throw new IllegalArgumentException("height, width, tile and multiple must be "
                    + "positive; got height=" + height + ", width=" + width + ", tile=" + tile
                    + ", multiple=" + multiple);
        }
        if (halo < 0) {
            throw new IllegalArgumentException("halo must be >= 0; got halo=" + halo);
        }
        if (tile % multiple != 0) {
            throw new IllegalArgumentException("tile size " + tile + " is not a multiple of "
                    + multiple);
        }
        if (tile - 2 * halo < multiple) {
            throw new IllegalArgumentException("tile - 2 * halo must be at least " + multiple
                    + "; use halo <= " + (tile - multiple) / 2 + " for tile " + tile
                    + " (got halo=" + halo + ")");
        }
    }

    private static int axisCount(int padded, int tile, int halo, int multiple) {
        int step = (tile - 2 * halo) / multiple * multiple;
        return 1 + Math.max(0, ceilDiv(padded - tile, step));
    }

    /** Rows of {origin, coreStart, coreStop, rampBefore, rampAfter} along one axis. */
    private static int[][] axisSpans(int length, int padded, int tile, int halo, int multiple) {
        int count = axisCount(padded, tile, halo, multiple);
        int room = (padded - tile) / multiple;
        int[] origins = new int[count];
        for (int i = 0; i < count; i++) {
            origins[i] = count > 1 ? multiple * (int) ((long) i * room / (count - 1)) : 0;
        }
        int[] edges = new int[count + 1];
        int[] margins = new int[count + 1];
        edges[count] = length;
        for (int i = 1; i < count; i++) {
            int a = origins[i - 1];
            int b = origins[i];
            edges[i] = Math.floorDiv(a + tile + b, 2) - halo;
            margins[i] = Math.floorDiv(a + tile - b, 2);
        }
        int[] ramps = new int[count + 1];
        for (int i = 1; i < count; i++) {
            int before = edges[i] - edges[i - 1];
            int after = edges[i + 1] - edges[i];
            ramps[i] = Math.min(margins[i] / 2, Math.min(Math.floorDiv(before, 2),
                    Math.floorDiv(after, 2)));
        }
        int[][] spans = new int[count][];
        for (int i = 0; i < count; i++) {
            spans[i] = new int[] {origins[i], edges[i], edges[i + 1], ramps[i], ramps[i + 1]};
        }
        return spans;
    }

    /**
     * Overlapping full-size tiles over a packed image, row-major; cores partition
     * [0, height) x [0, width).
     *
     * @param tile window side, a multiple of {@code multiple}
     * @param halo minimum context between an interior core edge and the window's edge, >= 0,
     *     with {@code tile - 2 * halo >= multiple}
     */
    public static List<Tile> plan(int height, int width, int tile, int halo, int multiple) {
        checkArguments(height, width, tile, halo, multiple);
        int[] padded = paddedSize(height, width, tile, halo, multiple);
        int[][] rows = axisSpans(height, padded[0], tile, halo, multiple);
        int[][] cols = axisSpans(width, padded[1], tile, halo, multiple);
        List<Tile> tiles = new ArrayList<>(rows.length * cols.length);
        for (int[] r : rows) {
            for (int[] c : cols) {
                tiles.add(new Tile(r[0], c[0], tile, tile, r[1], c[1], r[2] - r[1], c[2] - c[1],
                        r[3], r[4], c[3], c[4], halo));
            }
        }
        return tiles;
    }

    /** {@link #plan(int, int, int, int, int)} with the U-Net's size multiple 16. */
    public static List<Tile> plan(int height, int width, int tile, int halo) {
        return plan(height, width, tile, halo, SIZE_MULTIPLE);
    }

    /**
     * The tile side that covers a frame with the fewest tiles and the least overlap, at most
     * {@code maxTile} (for models that take any size; a fixed-shape export takes its card's).
     */
    public static int fitTile(int height, int width, int halo, int maxTile, int multiple) {
        checkArguments(height, width, maxTile, halo, multiple);
        int best = multiple;
        for (int length : new int[] {height, width}) {
            int count = axisCount(ceilDiv(length + 2 * halo, multiple) * multiple, maxTile, halo,
                    multiple);
            int need = ceilDiv(length, count) + 2 * halo;
            best = Math.max(best, ceilDiv(need, multiple) * multiple);
        }
        best = Math.min(best, maxTile);
        int[] atBest = paddedSize(height, width, best, halo, multiple);
        int[] atMax = paddedSize(height, width, maxTile, halo, multiple);
        for (int axis = 0; axis < 2; axis++) {
            if (axisCount(atBest[axis], best, halo, multiple)
                    != axisCount(atMax[axis], maxTile, halo, multiple)) {
                return maxTile;
            }
        }
        return best;
    }

    /**
     * Source indices in [0, length) of the {@code padded} positions of a reflect-padded axis
     * whose first {@code before} positions precede the image (NumPy's "reflect": the edge is
     * not repeated; repeatedly when the padding is longer than the image).
     */
    public static int[] reflectIndices(int length, int padded, int before) {
        int[] indices = new int[padded];
        if (length == 1) {
            return indices;
        }
        int period = 2 * (length - 1);
        for (int i = 0; i < padded; i++) {
            int position = Math.floorMod(i - before, period);
            indices[i] = position < length ? position : period - position;
        }
        return indices;
    }
}
