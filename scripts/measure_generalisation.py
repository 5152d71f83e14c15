"""How a model holds up off its own emulation: noise it never saw, and real camera files.

(a) Cross-noise test set: `lsid synth --noise-family held_out` on photos no training recipe may
use (`--photos`, e.g. Set5 + Set14 from `lsid photos set5 set14`): ELD's Canon EOS 700D noise
with Tukey-lambda read noise, which the "wide" training family never draws, in the alpha 7S II
colour, at x4 / x20 (little noise) and x100 / x250 / x300 (SID's ratios). Every pair is scored
as `lsid enhance` runs it ("fused": `--colour as-shot` with the traditional rendering fused in,
`lsid_keras.isp_fusion`; the true ratio; without auto-bright, as the ground truth is
developed), with the network's picture alone in the as-shot colour ("as-shot", `--no-fusion`)
and in its own colour (the papers' protocol), and with the traditional pipeline (LibRaw on the
short exposure x ratio): PSNR / SSIM on 8-bit RGB per ratio.

(b) Real camera files (`--raw FILE ...`): `lsid enhance`'s defaults (auto ratio, as-shot
colour, LibRaw's auto-bright, turned upright) against LibRaw's own rendering of the same file
(`rawpy.postprocess(use_camera_wb=True)`): whether the orientation agrees (the output's sides
run as LibRaw's, and its luminance correlates best with LibRaw's turned rendering rather than a
mirrored or rotated copy), the mean CIELAB a*b* distance and lightness difference, and detail:
the output's mean absolute gradient over LibRaw's (1.0: as much fine structure; the shipped
model of issue 17 kept 0.39-0.51). The figures compare pixel-aligned images: LibRaw's rendering
is made unturned, cropped to the window the packer uses (`packing_window`) and laid out by the
file's flip code. LibRaw brightens its rendering by default (auto-bright, 1 % of pixels
clipped), as `lsid enhance` now does too; gradients scale with brightness, so lightness and
detail are also given against its rendering without it (`no_auto_bright=True`, how the ground
truth of training pairs is developed).

    python scripts/measure_generalisation.py --model M.keras --photos EVAL_PHOTOS \\
        --work /tmp/generalisation --raw a.dng b.dng --out generalisation.json

Prints tables and writes JSON (with the machine's CPU flags). The dataset under `--work` is
made once and reused (a rerun continues it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

#: The cross-noise set's amplification ratios: two with little noise, then SID's three.
CROSS_NOISE_RATIOS = (4, 20, 100, 250, 300)
CROSS_NOISE_FAMILY = "held_out"


def make_cross_noise_set(folder, photos, scenes=None, size=(320, 480), seed=0, progress=True):
    """The cross-noise test set (all scenes test scenes); returns the test list's path."""
    from lsid_keras.data.synth import synthesize_dataset

    count = scenes or 2 * len([n for n in os.listdir(photos) if not n.startswith(".")])
    summary = synthesize_dataset(folder, images=photos, camera="sony", scenes=count, seed=seed,
                                 size=size, ratios=CROSS_NOISE_RATIOS, splits=(0, 1, 0),
                                 content="photos", noise_family=CROSS_NOISE_FAMILY,
                                 progress=progress)
    return summary["lists"]["test"]


def score_cross_noise(enhancer, list_path, log=print):
    """Rows {short, ratio, method, psnr, ssim} for methods fused (`lsid enhance`'s default),
    as-shot (the network alone, with the as-shot colour), network and isp."""
    from lsid_keras.data.sid_list import read_pair_list
    from lsid_keras.enhance import enhance_packed, finish_colour, network_input
    from lsid_keras.isp_fusion import fuse_traditional, worth_fusing
    from lsid_keras.metrics import psnr, ssim
    from lsid_keras.raw import read_raw
    from lsid_keras.raw.develop import develop

    rows = []
    pairs = read_pair_list(list_path, first_burst_only=False)
    for index, pair in enumerate(pairs):
        target = develop(pair.long_path).astype(np.float32) / 65535
        frame = read_raw(pair.short_path)
        amplified, _, _ = network_input(enhancer, frame, pair.ratio)
        network = enhance_packed(enhancer, amplified)
        fusing = worth_fusing(amplified, frame.cfa_kind)  # as `lsid enhance` decides
        as_shot = finish_colour(network, frame, "as-shot")[0]
        rendering = develop(pair.short_path, ratio=pair.ratio)
        outputs = {"fused": fuse_traditional(as_shot, rendering)[0] if fusing else as_shot,
                   "as-shot": as_shot, "network": network,
                   "isp": rendering.astype(np.float32) / 65535}
        for method, output in outputs.items():
            rows.append({"short": os.path.basename(pair.short_path), "ratio": pair.ratio,
                         "method": method,
                         "psnr": float(psnr(target, output, protocol="reference")),
                         "ssim": float(ssim(target, output, protocol="reference"))})
        if log and (index + 1) % 20 == 0:
            log(f"  {index + 1}/{len(pairs)} pairs")
    return rows


def summarise_cross_noise(rows):
    """{method: {ratio or "all": {"n", "psnr", "ssim"}}}."""
    out = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        chosen = [r for r in rows if r["method"] == method]
        groups = {"all": chosen}
        for ratio in sorted({r["ratio"] for r in chosen}):
            groups[f"x{ratio:g}"] = [r for r in chosen if r["ratio"] == ratio]
        out[method] = {key: {"n": len(group),
                             "psnr": float(np.mean([r["psnr"] for r in group])),
                             "ssim": float(np.mean([r["ssim"] for r in group]))}
                       for key, group in groups.items()}
    return out


def _luminance(rgb):
    return np.asarray(rgb, np.float64) @ np.array([0.2126, 0.7152, 0.0722])


def _resize(image, shape):
    from skimage.transform import resize

    if image.shape[:2] == tuple(shape):
        return image
    return resize(image, tuple(shape) + image.shape[2:], order=1, anti_aliasing=True)


def orientation_agrees(output, reference, crop=8):
    """True when `output` has `reference`'s shape (give or take `crop` pixels a side, what
    the packer may crop) and its luminance correlates better with `reference` than with any
    mirrored, rotated or transposed copy of it."""
    if any(abs(a - b) > crop for a, b in zip(output.shape[:2], reference.shape[:2],
                                             strict=True)):
        return False
    small = (64, 64)
    ours = _resize(_luminance(output), small).ravel()
    theirs = _luminance(reference)
    candidates = [theirs, theirs[::-1], theirs[:, ::-1], theirs[::-1, ::-1], theirs.T,
                  theirs.T[::-1], theirs.T[:, ::-1], theirs.T[::-1, ::-1]]
    scores = [np.corrcoef(ours, _resize(c, small).ravel())[0, 1] for c in candidates]
    return int(np.nanargmax(scores)) == 0


def detail(rgb):
    """Mean absolute gradient of the luminance (per pixel, both directions)."""
    y = _luminance(rgb)
    return float(np.abs(np.diff(y, axis=0)).mean() + np.abs(np.diff(y, axis=1)).mean())


def mean_lightness(rgb):
    """CIELAB L* of the image's mean sRGB colour."""
    from skimage.color import rgb2lab

    mean = np.asarray(rgb, np.float64).reshape(-1, 3).mean(axis=0)
    return float(rgb2lab(mean.reshape(1, 1, 3))[0, 0, 0])


def libraw_renderings(path, cfa):
    """LibRaw's rendering as shown (turned) and, pixel-aligned with `lsid enhance`'s output,
    with and without auto-bright: {"shown", "aligned", "aligned_no_auto_bright"}."""
    import rawpy

    from lsid_keras.image_io import orient
    from lsid_keras.raw.pack import packing_window

    out = {}
    for key, extra in (("", {}), ("_no_auto_bright", {"no_auto_bright": True})):
        with rawpy.imread(path) as raw:
            flip = raw.sizes.flip
            sensor = raw.postprocess(use_camera_wb=True, output_bps=16, user_flip=0,
                                     **extra).astype(np.float32) / 65535
        rows, cols = packing_window(sensor.shape[:2], cfa)
        out["aligned" + key] = orient(sensor[rows, cols], flip)
        if not key:
            out["shown"] = orient(sensor, flip)
    return out


def score_real_file(enhancer, path, fusion=True):
    """`lsid enhance`'s defaults on one RAW file against LibRaw's rendering of it (with
    `fusion` False: the network's picture alone, `--no-fusion`)."""
    from lsid_keras.enhance import enhance_file
    from lsid_keras.image_io import orient
    from lsid_keras.metrics import mean_ab_error

    result = enhance_file(enhancer, path, fusion=fusion)
    output = np.clip(orient(result.rgb, result.orientation), 0, 1)
    libraw = libraw_renderings(path, result.frame.cfa)
    reference = libraw["aligned"]
    # Against rawpy's own turned rendering, not one this package turned: a wrong `orient`
    # would otherwise agree with itself.
    agrees = orientation_agrees(output, libraw["shown"]) and output.shape == reference.shape
    row = {"file": os.path.basename(path), "ratio": float(result.ratio),
           "output_shape": list(output.shape[:2]), "libraw_shape": list(libraw["shown"].shape[:2]),
           "orientation_agrees": bool(agrees)}
    if agrees:
        plain = libraw["aligned_no_auto_bright"]
        row.update(ab_error=mean_ab_error(output, reference),
                   lightness_difference=mean_lightness(output) - mean_lightness(reference),
                   lightness_vs_no_auto_bright=mean_lightness(output) - mean_lightness(plain),
                   detail_ratio=detail(output) / max(detail(reference), 1e-12),
                   detail_ratio_vs_no_auto_bright=detail(output) / max(detail(plain), 1e-12))
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help=".keras or .tflite model (default: the shipped one)")
    parser.add_argument("--photos", help="folder of evaluation photos for the cross-noise set")
    parser.add_argument("--work", default="runs/generalisation",
                        help="folder for the cross-noise dataset (made once, reused)")
    parser.add_argument("--scenes", type=int, help="cross-noise scenes (default: 2 per photo)")
    parser.add_argument("--size", default="320x480",
                        help="cross-noise frame HEIGHTxWIDTH in RAW pixels (default: 320x480)")
    parser.add_argument("--raw", nargs="*", default=[], help="real camera RAW/DNG files")
    parser.add_argument("--no-fusion", action="store_true",
                        help="real files: the network's picture alone (`lsid enhance "
                        "--no-fusion`); the cross-noise set always gives both")
    parser.add_argument("--out", help="write the results here as JSON")
    args = parser.parse_args(argv)
    if not args.photos and not args.raw:
        parser.error("give --photos (cross-noise set), --raw FILE ..., or both")
    from lsid_keras.enhance import load_enhancer, load_shipped_enhancer

    start = time.perf_counter()
    enhancer = load_enhancer(args.model) if args.model else load_shipped_enhancer()
    from lsid_keras.machine import cpu_features

    result = {"model": args.model or "shipped", "cpu_flags": cpu_features(),
              "date": time.strftime("%Y-%m-%d")}
    if args.photos:
        size = tuple(int(v) for v in args.size.lower().split("x"))
        list_path = make_cross_noise_set(os.path.join(args.work, "cross_noise"), args.photos,
                                         args.scenes, size)
        rows = score_cross_noise(enhancer, list_path)
        summary = summarise_cross_noise(rows)
        result["cross_noise"] = {"noise_family": CROSS_NOISE_FAMILY, "list": list_path,
                                 "rows": rows, "summary": summary}
        keys = list(summary["isp"])
        print(f"\ncross-noise set ({len(rows) // 4} pairs, ELD Canon EOS 700D noise): PSNR dB / "
              "SSIM")
        print("| method | " + " | ".join(keys) + " |")
        print("|---" * (len(keys) + 1) + "|")
        for method, groups in summary.items():
            cells = " | ".join(f"{g['psnr']:.2f} / {g['ssim']:.3f}" for g in groups.values())
            print(f"| {method} | {cells} |")
    if args.raw:
        rows = [score_real_file(enhancer, path, fusion=not args.no_fusion) for path in args.raw]
        result["real_files"] = rows
        print("\n| file | ratio | orientation | a*b* vs LibRaw | L* difference (without "
              "auto-bright) | detail ratio (without auto-bright) |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            measured = (f"{r['ab_error']:.1f} | {r['lightness_difference']:+.1f} "
                        f"({r['lightness_vs_no_auto_bright']:+.1f}) | {r['detail_ratio']:.2f} "
                        f"({r['detail_ratio_vs_no_auto_bright']:.2f})"
                        if r["orientation_agrees"] else "- | - | -")
            print(f"| {r['file']} | x{r['ratio']:.3g} | "
                  f"{'agrees' if r['orientation_agrees'] else 'DIFFERS'} | {measured} |")
    result["seconds"] = time.perf_counter() - start
    print(f"\nCPU flags: {' '.join(result['cpu_flags']) or 'none found'}; "
          f"{result['seconds']:.0f} s")
    if args.out:
        from lsid_keras.atomic import write_text_atomic

        write_text_atomic(args.out, json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
