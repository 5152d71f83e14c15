"""Verify an exported `.tflite` against the `.keras` model it came from.

    python export/verify.py mobile/model_int8.tflite --model runs/gia/model.keras \
        [--representative cache/sony-test] [--threads N] [--json figures.json]

Reads the tile and halo from the file's model card and prints: the operators in the file,
PSNR and max error of the TFLite output against Keras fp32 on held-out tiles and, with
`--representative`, of the tiled full frame against the untiled Keras frame; pass or fail
against the variant's threshold. A thin wrapper over `lsid_keras.export.verify.verify_file`.
Exit status: 0 passed, 1 below threshold, 2 bad input.
"""

import argparse
import json
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tflite", help="exported .tflite file (with its model card)")
    parser.add_argument("--model", required=True, help="the .keras model it was exported from")
    parser.add_argument("--representative", default=None,
                        help="`lsid prepare` cache or folder of RAW files for held-out data "
                             "(default: synthetic tiles, no full frame)")
    parser.add_argument("--threads", type=int, default=None,
                        help="LiteRT threads (default: all cores)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="pass mark in dB (default: the variant's, "
                             "lsid_keras.export.verify.THRESHOLDS_DB)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from lsid_keras.atomic import write_json_atomic
    from lsid_keras.export import ExportError
    from lsid_keras.export.verify import verify_file

    try:
        figures = verify_file(args.tflite, args.model, args.representative, args.threads,
                              threshold_db=args.threshold)
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(figures, indent=1))
    if args.json:
        write_json_atomic(args.json, figures)
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
