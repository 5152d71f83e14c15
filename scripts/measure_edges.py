"""Does the network's output degrade along the frame border? PSNR of a band vs the interior.

For each pair of a SID-style list, enhances the short exposure the way `lsid evaluate` does
(whole frame when it fits, the same padding as tiles) and compares it with the developed long
exposure on 8-bit values: PSNR of the `--band`-pixel band along all four frame edges (output
pixels) and of the interior inside it. Issue 11's target for the shipped model: the band within
1 dB of the interior. Prints a table and writes JSON.

    python scripts/measure_edges.py --model M.keras --data ROOT --list Sony_test_list.txt
"""

import argparse
import json
import os
import sys

import numpy as np


def band_masks(height, width, band):
    """Boolean (H, W) masks of the `band`-pixel border and of the interior inside it."""
    border = np.zeros((height, width), bool)
    border[:band], border[-band:], border[:, :band], border[:, -band:] = True, True, True, True
    return border, ~border


def masked_psnr(target, output, mask):
    """PSNR in dB over the masked pixels of two [0, 1] images, on 8-bit values (SID protocol)."""
    a = np.rint(np.clip(target[mask], 0, 1) * 255)
    b = np.rint(np.clip(output[mask], 0, 1) * 255)
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help=".keras or .tflite model")
    parser.add_argument("--data", required=True, help="dataset root")
    parser.add_argument("--list", required=True, help="list file relative to --data")
    parser.add_argument("--band", type=int, default=16, help="band width, output px (16)")
    parser.add_argument("--tile", default="auto", help="as lsid evaluate --tile (auto)")
    parser.add_argument("--out", default="edges.json", help="JSON output file")
    args = parser.parse_args(argv)

    from lsid_keras.data.sid_list import read_pair_list
    from lsid_keras.enhance import enhance_packed, load_enhancer, network_input
    from lsid_keras.raw import read_raw
    from lsid_keras.raw.develop import develop

    tile = args.tile if args.tile == "auto" else int(args.tile)
    enhancer = load_enhancer(args.model)
    pairs = read_pair_list(os.path.join(args.data, args.list), root=args.data,
                           first_burst_only=True)
    rows = []
    for pair in pairs:
        target = develop(pair.long_path).astype(np.float32) / 65535
        amplified, _, _ = network_input(enhancer, read_raw(pair.short_path), pair.ratio)
        output = enhance_packed(enhancer, amplified, tile=tile)
        border, interior = band_masks(*target.shape[:2], args.band)
        rows.append({"short_path": pair.short_path, "ratio": pair.ratio,
                     "band_psnr": masked_psnr(target, output, border),
                     "interior_psnr": masked_psnr(target, output, interior)})
        print(f"{os.path.basename(pair.short_path):<28} band {rows[-1]['band_psnr']:6.2f} dB"
              f"  interior {rows[-1]['interior_psnr']:6.2f} dB", file=sys.stderr)
    summary = {
        "model": args.model, "band_px": args.band, "pairs": len(rows),
        "band_psnr": float(np.mean([r["band_psnr"] for r in rows])),
        "interior_psnr": float(np.mean([r["interior_psnr"] for r in rows])),
        "rows": rows,
    }
    summary["band_minus_interior_db"] = summary["band_psnr"] - summary["interior_psnr"]
    print(f"{len(rows)} pairs: band {summary['band_psnr']:.2f} dB, interior "
          f"{summary['interior_psnr']:.2f} dB, difference "
          f"{summary['band_minus_interior_db']:+.2f} dB")
    with open(args.out, "w", encoding="utf-8") as file:
        json.dump(summary, file, indent=1)


if __name__ == "__main__":
    main()
