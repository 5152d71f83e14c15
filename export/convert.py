"""Convert a trained `.keras` lsid model to verified, carded `.tflite` files.

    python export/convert.py --model runs/gia/model.keras --out mobile/ \
        --representative cache/sony-train [--tile 784] [--halo 32] \
        [--quant fp32,fp16,dynamic,int8] [--no-verify] [--threads N]

Writes `<stem>_<quant>.tflite` (builtin ops only, fixed input [1, T, T, C], the model card
embedded) and `<stem>_<quant>.card.json` per variant that passes verification, and prints a
JSON report. A global model (GIA-Net, SE-UNet) also gets `<stem>_<quant>_features.tflite`,
the encoder half whose output the tiler averages over the whole frame (README, "Global
models"). A thin wrapper over `lsid_keras.export.export_model` (also `lsid export`).
Exit status: 0 all written, 1 a variant failed verification, 2 bad input.
"""

import argparse
import json
import sys


def parse_args(argv=None):
    from lsid_keras.cli import add_export_arguments

    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Variants: fp32 (reference), fp16 (half-size weights), dynamic (int8 weights), "
               "int8 (int8 weights, activations, input and output; needs --representative).",
    )
    add_export_arguments(parser)  # the options of `lsid export`, defined once
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from lsid_keras.export import ExportError, export_model

    try:
        report = export_model(
            args.model, args.out, tile=args.tile, halo=args.halo,
            quant=[q.strip() for q in args.quant.split(",") if q.strip()],
            representative=args.representative, verify=not args.no_verify,
            num_threads=args.threads, progress=lambda line: print(line, file=sys.stderr),
        )
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=1))
    return 0 if all(v["passed"] for v in report["variants"]) else 1


if __name__ == "__main__":
    sys.exit(main())
