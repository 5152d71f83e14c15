package org.lsid.core;

/** How neighbouring tiles are joined, as {@code lsid_keras.tiling.BLENDS}. */
public enum Blend {
    /** Each output pixel from the one tile whose core holds it (the default). */
    CROP,
    /** Linear ramps across the middle half of each overlap; neighbours sum to one. */
    FEATHER
}
