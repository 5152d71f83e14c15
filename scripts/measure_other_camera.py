"""Another camera through a Sony-trained model, with and without the colour mapping.

Runs the test pairs of a second emulated camera (`lsid synth --camera nikon`) through a model
trained on the emulated alpha 7S II, once as the package did before issue 11 (packed frame
straight into the network) and once mapped into the training camera's raw colour space
(`lsid_keras.raw.colour.to_training_camera`, what `lsid enhance` and `lsid evaluate` now do),
then mapped and given the as-shot colour (`lsid_keras.as_shot_colour`, what `lsid enhance`
does by default), and the traditional pipeline (LibRaw on the short exposure x ratio). For
reference it runs the
alpha 7S II's own test pairs through the same model. Per method it reports PSNR (the reference
protocol: 8-bit RGB) against the ground truth and the colour error: the CIELAB a*b* distance
between the whole frame's mean colour of the output and of the ground truth
(`lsid_keras.metrics.mean_ab_error`). The true ratios are used (from the file
names), so only colour differs. Prints a table and writes JSON.

    lsid quickstart --out /tmp/q --minutes 5           # a small Sony-trained model
    lsid synth /tmp/nikon --camera nikon --scenes 40
    lsid synth /tmp/sony --camera sony --scenes 40
    python scripts/measure_other_camera.py --model /tmp/q/model.keras \\
        --other /tmp/nikon/Nikon_test_list.txt --reference /tmp/sony/Sony_test_list.txt \\
        --out other_camera.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def score_pairs(enhancer, list_path, methods, limit=None, reference=None, log=print):
    """Rows {short, ratio, method, psnr, ab_error} for every pair of a SID-style list.

    `reference` ({short file name: network output}) holds the training camera's outputs for
    the same scenes (`lsid synth` with the same seed and scenes renders the same content for
    every camera): rows then also get `psnr_vs_reference` and `ab_vs_reference`, how far this
    camera's output lies from the one the training camera gets, with the model's own errors
    taken out. Returns (rows, {short file name: output of the first network method})."""
    from lsid_keras.data.sid_list import read_pair_list
    from lsid_keras.enhance import enhance_packed, finish_colour
    from lsid_keras.metrics import mean_ab_error, psnr
    from lsid_keras.raw import amplify, pack, read_raw
    from lsid_keras.raw.colour import to_training_camera
    from lsid_keras.raw.develop import develop

    pairs = read_pair_list(list_path, first_burst_only=False)[:limit]
    rows, outputs = [], {}
    for index, pair in enumerate(pairs):
        target = develop(pair.long_path).astype(np.float32) / 65535
        frame = read_raw(pair.short_path)
        packed = pack(frame)
        for method in methods:
            if method == "isp":
                output = develop(pair.short_path, ratio=pair.ratio).astype(np.float32) / 65535
            else:
                x = packed
                if method in ("mapped", "as-shot"):
                    x, _ = to_training_camera(packed, frame, enhancer.camera, enhancer.cfa_kind)
                output = enhance_packed(enhancer, amplify(x, pair.ratio))
                if method == "as-shot":
                    output, _ = finish_colour(output, frame, "as-shot")
            name = os.path.basename(pair.short_path)
            if method != "isp":
                outputs.setdefault(name, output)
            row = {"short": name, "ratio": pair.ratio, "method": method,
                   "psnr": float(psnr(target, output, protocol="reference")),
                   "ab_error": mean_ab_error(output, target)}
            if reference is not None and name in reference and method != "isp":
                row["psnr_vs_reference"] = float(psnr(reference[name], output,
                                                      protocol="reference"))
                row["ab_vs_reference"] = mean_ab_error(output, reference[name])
            rows.append(row)
        scores = ", ".join(f"{r['method']} {r['psnr']:.2f} dB / {r['ab_error']:.1f}"
                           for r in rows[-len(methods):])
        log(f"  {index + 1}/{len(pairs)} {os.path.basename(pair.short_path)}: {scores}")
    return rows, outputs


def raw_colour_error(other_list, reference_list, training_camera, limit=None):
    """Per long exposure of the same scene: mean |other - training camera| / mean(training
    camera) of the packed frames, per channel R, G, B, G, unmapped and mapped."""
    from lsid_keras.data.sid_list import read_pair_list
    from lsid_keras.raw import pack, read_raw
    from lsid_keras.raw.colour import to_training_camera

    def longs(list_path):
        pairs = read_pair_list(list_path, first_burst_only=False)
        return {os.path.basename(p.long_path): p.long_path for p in pairs}

    ours, theirs = longs(other_list), longs(reference_list)
    errors = {"unmapped": [], "mapped": []}
    for name in sorted(set(ours) & set(theirs))[:limit]:
        frame, target = read_raw(ours[name]), pack(read_raw(theirs[name]))
        packed = pack(frame)
        mapped, _ = to_training_camera(packed, frame, training_camera, frame.cfa_kind)
        if packed.shape != target.shape:
            continue
        scale = target.reshape(-1, target.shape[-1]).mean(axis=0)
        for key, x in (("unmapped", packed), ("mapped", mapped)):
            errors[key].append(np.abs(x - target).reshape(-1, target.shape[-1]).mean(axis=0)
                               / scale)
    return {key: np.mean(values, axis=0).tolist() for key, values in errors.items() if values}


def summarise(rows):
    out = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        chosen = [r for r in rows if r["method"] == method]
        out[method] = {"n": len(chosen),
                       "psnr": float(np.mean([r["psnr"] for r in chosen])),
                       "ab_error": float(np.mean([r["ab_error"] for r in chosen])),
                       "ab_error_max": float(np.max([r["ab_error"] for r in chosen]))}
        if "psnr_vs_reference" in chosen[0]:
            out[method]["psnr_vs_reference"] = float(np.mean(
                [r["psnr_vs_reference"] for r in chosen]))
            out[method]["ab_vs_reference"] = float(np.mean(
                [r["ab_vs_reference"] for r in chosen]))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a Sony-trained .keras or .tflite model")
    parser.add_argument("--other", required=True, help="test list of the other camera")
    parser.add_argument("--reference", help="test list of the training camera (alpha 7S II)")
    parser.add_argument("--limit", type=int, help="at most this many pairs per list")
    parser.add_argument("--out", help="write the results here as JSON")
    args = parser.parse_args(argv)
    from lsid_keras.enhance import load_enhancer

    start = time.perf_counter()
    enhancer = load_enhancer(args.model)
    print(f"model {args.model}: training camera {enhancer.camera!r}")
    result = {"model": args.model, "training_camera": enhancer.camera, "lists": {}}
    runs = [("other", args.other, ("unmapped", "mapped", "as-shot", "isp"))]
    if args.reference:
        runs.insert(0, ("reference", args.reference, ("unmapped", "as-shot", "isp")))
    reference = None
    for name, list_path, methods in runs:
        print(f"{name}: {list_path}")
        rows, outputs = score_pairs(enhancer, list_path, methods, args.limit, reference)
        reference = outputs if name == "reference" else reference
        result["lists"][name] = {"list": list_path, "rows": rows, "summary": summarise(rows)}
    if args.reference:
        result["raw_error_vs_reference"] = raw_colour_error(args.other, args.reference,
                                                            enhancer.camera, args.limit)
    result["seconds"] = time.perf_counter() - start
    print(f"\n{'list':10s} {'method':9s} {'n':>3s} {'PSNR dB':>8s} {'a*b* err':>9s} {'max':>6s}")
    for name, entry in result["lists"].items():
        for method, s in entry["summary"].items():
            versus = (f"   vs alpha 7S II output: {s['psnr_vs_reference']:.2f} dB, a*b* "
                      f"{s['ab_vs_reference']:.2f}" if "psnr_vs_reference" in s else "")
            print(f"{name:10s} {method:9s} {s['n']:3d} {s['psnr']:8.2f} {s['ab_error']:9.2f} "
                  f"{s['ab_error_max']:6.2f}{versus}")
    for key, values in result.get("raw_error_vs_reference", {}).items():
        print(f"packed long exposure vs the alpha 7S II's, {key}: mean |error| / level per "
              f"channel R, G, B, G = {', '.join(f'{v:.3f}' for v in values)}")
    if args.out:
        from lsid_keras.atomic import write_text_atomic

        write_text_atomic(args.out, json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
