package org.lsid.core;

/**
 * One tile of a plan, in packed pixels, as {@code lsid_keras.tiling.Tile}.
 *
 * <p>The window ({@code top, left, height, width}) lies in the padded frame, whose origin is
 * {@code pad} pixels above and left of the image's; the core is the region of the image this
 * tile is responsible for (the cores of a plan partition the image); the ramps are the
 * half-widths of the feather ramps centred on the core's edges (0 on the image border).
 */
public final class Tile {
    public final int top;
    public final int left;
    public final int height;
    public final int width;
    public final int coreTop;
    public final int coreLeft;
    public final int coreHeight;
    public final int coreWidth;
    public final int rampTop;
    public final int rampBottom;
    public final int rampLeft;
    public final int rampRight;
    public final int pad;

    public Tile(int top, int left, int height, int width, int coreTop, int coreLeft,
            int coreHeight, int coreWidth, int rampTop, int rampBottom, int rampLeft,
            int rampRight, int pad) {
        this.top = top;
        this.left = left;
        this.height = height;
        this.width = width;
        this.coreTop = coreTop;
        this.coreLeft = coreLeft;
        this.coreHeight = coreHeight;
        this.coreWidth = coreWidth;
        this.rampTop = rampTop;
        this.rampBottom = rampBottom;
        this.rampLeft = rampLeft;
        this.rampRight = rampRight;
        this.pad = pad;
    }

    /** The fields in the golden vectors' column order (top, left, ..., pad). */
    public int[] toArray() {
        return new int[] {top, left, height, width, coreTop, coreLeft, coreHeight, coreWidth,
            rampTop, rampBottom, rampLeft, rampRight, pad};
    }

    @Override
    public String toString() {
        return "Tile" + java.util.Arrays.toString(toArray());
    }
}
