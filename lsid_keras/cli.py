"""The `lsid` command line: parse arguments, call the library, print.

Every subcommand lives in one `_cmd_*` function. Errors a user can cause (bad files, bad
values) are reported as one line on stderr with exit code 2, never as a traceback.
"""

import argparse
import json
import os
import sys

# TensorFlow's C++ start-up chatter buries the one line a user needs; keep it quiet unless
# the user asked for it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

EXIT_USAGE = 2


class UserError(Exception):
    """A problem with the user's input: printed as one line, exit code 2."""


def _model_rows(cameras):
    from lsid_keras.models import CAMERAS, PRESETS, frame_gflops, get_model

    rows = []
    for camera in cameras:
        cam = CAMERAS[camera]
        for name, preset in PRESETS.items():
            model = get_model(name, camera=camera)
            rows.append(
                {
                    "name": name,
                    "camera": camera,
                    "params": model.count_params(),
                    "gflops": round(frame_gflops(model, *cam.frame, cam.block_size), 2),
                    "frame": list(cam.frame),
                    "description": preset.description,
                    "reference": preset.reference,
                }
            )
    return rows


def _cmd_models(args):
    from lsid_keras.models import CAMERAS

    cameras = [args.camera] if args.camera else list(CAMERAS)
    rows = _model_rows(cameras)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'name':<12} {'camera':<6} {'params':>11} {'GFLOPs':>9}  description")
    for row in rows:
        print(
            f"{row['name']:<12} {row['camera']:<6} {row['params']:>11,} {row['gflops']:>9.2f}  "
            f"{row['description']}"
        )
    frames = ", ".join(f"{c} {CAMERAS[c].frame[0]}x{CAMERAS[c].frame[1]}" for c in cameras)
    print(f"GFLOPs = 2 x multiply-accumulates on one full RAW frame ({frames}).")
    return 0


def build_parser():
    """The argument parser of the `lsid` command."""
    parser = argparse.ArgumentParser(
        prog="lsid", description="Learned extreme low-light photography (SID, Zamir, GIA-Net)."
    )
    from lsid_keras import __version__

    parser.add_argument("--version", action="version", version=f"lsid-keras {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    models = sub.add_parser(
        "models", help="list the model presets with parameters and GFLOPs on a full frame"
    )
    models.add_argument("--camera", choices=("sony", "fuji"), help="only this camera family")
    models.add_argument("--json", action="store_true", help="print a JSON list instead")
    models.set_defaults(func=_cmd_models)
    return parser


def main(argv=None):
    """Runs the `lsid` command with `argv` (default: sys.argv[1:]); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UserError as err:
        print(f"lsid {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
