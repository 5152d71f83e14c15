"""The README's picture: what the shipped model does to held-out dark frames.

Synthesises a small emulated Sony alpha 7S II dataset (`lsid synth`, whose test scenes show
only photos no training scene of the shipped model used: coffee.png and rocket.jpg), then for a
few test pairs shows, left to right: the short exposure as the camera renders it (x1, no
brightening), the traditional pipeline (brightened by the true ratio, developed by LibRaw), the
shipped model as `lsid enhance --ratio R` gives it (as-shot colour) and the long exposure
(ground truth). Each panel is a 1:1 crop, labelled with its PSNR against the ground truth
(reference protocol, on the crop). Run from the repository root:

    python scripts/readme_picture.py --out docs/images/shipped_model.png

The dataset goes to a temporary folder unless --data names one (reused when it exists).
"""

import argparse
import os
import sys
import tempfile

#: (test scene index among the test scenes sorted by number, ratio): each held-out photo once,
#: at the easiest ratio and at the hardest.
DEFAULT_PICKS = ("0:100", "1:300")
COLUMNS = ("input as shot (x1)", "traditional pipeline", "shipped model (lsid enhance)",
           "ground truth (long exposure)")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/images/shipped_model.png", help="PNG to write")
    parser.add_argument("--data", help="synthetic dataset folder (default: a temporary one)")
    parser.add_argument("--scenes", type=int, default=20, help="scenes to synthesise")
    parser.add_argument("--seed", type=int, default=7, help="dataset seed (the shipped model "
                        "trained on seeds of its own; test photos are held out whatever the seed)")
    parser.add_argument("--crop", default="256x384", help="HEIGHTxWIDTH of each 1:1 crop")
    parser.add_argument("--picks", nargs="+", default=list(DEFAULT_PICKS),
                        help="TEST_SCENE:RATIO pairs, one row each (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import numpy as np

    from lsid_keras.data.sid_list import read_pair_list
    from lsid_keras.data.synth import synthesize_dataset
    from lsid_keras.enhance import enhance_file, load_shipped_enhancer
    from lsid_keras.image_io import write_image
    from lsid_keras.metrics import psnr
    from lsid_keras.quickstart import grid, label_panel
    from lsid_keras.raw.develop import develop

    data = args.data or tempfile.mkdtemp(prefix="lsid-picture-")
    synthesize_dataset(data, camera="sony", scenes=args.scenes, seed=args.seed,
                       size=(512, 768), progress=False)
    pairs = read_pair_list(os.path.join(data, "Sony_test_list.txt"))
    scenes = sorted({p.scene for p in pairs})
    crop_h, crop_w = (int(v) for v in args.crop.split("x"))
    shipped = load_shipped_enhancer()
    rows = []
    for pick in args.picks:
        index, ratio = pick.split(":")
        pair = next(p for p in pairs if p.scene == scenes[int(index)]
                    and round(p.ratio) == int(ratio))
        truth = develop(pair.long_path).astype(np.float32) / 65535
        top = (truth.shape[0] - crop_h) // 2
        left = (truth.shape[1] - crop_w) // 2

        def crop(image, top=top, left=left):
            return np.ascontiguousarray(image[top:top + crop_h, left:left + crop_w])

        panels = [
            develop(pair.short_path, ratio=1).astype(np.float32) / 65535,
            develop(pair.short_path, ratio=pair.ratio).astype(np.float32) / 65535,
            enhance_file(shipped, pair.short_path, ratio=pair.ratio, auto_bright=False).rgb,
        ]
        reference = crop(truth)
        row = [label_panel(crop(panels[0]), f"x{pair.ratio:g} short exposure", corner="top")]
        for panel in panels[1:]:
            score = float(psnr(reference, crop(panel), protocol="reference"))
            row.append(label_panel(crop(panel), f"{score:.1f} dB"))
        rows.append(row + [reference])
        print(f"scene {pair.scene} x{pair.ratio:g}: {os.path.basename(pair.short_path)}")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    path = write_image(args.out, grid(rows, COLUMNS), bits=8)
    print(f"{path}: {os.path.getsize(path) / 2**20:.2f} MB")


if __name__ == "__main__":
    main()
