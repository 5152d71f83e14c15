"""The `lsid` command line: parse arguments, call the library, print.

Every subcommand lives in one `_cmd_*` function. Errors a user can cause (bad files, bad
values) are reported as one line on stderr with exit code 2, never as a traceback.

Start-up is kept fast and quiet: building the parser and answering `--help` import neither
TensorFlow nor Keras; each command checks what it can (files, values, output folders) before
it imports them; and TensorFlow's C++ start-up lines are hidden unless `--verbose` (or the
environment variable `LSID_VERBOSE=1`) asks for them.
"""

import argparse
import json
import os
import shutil
import sys

EXIT_USAGE = 2
#: Environment variable that turns on TensorFlow's own logging, like `--verbose`.
VERBOSE_ENV = "LSID_VERBOSE"


class UserError(Exception):
    """A problem with the user's input: printed as one line, exit code 2."""


def _stderr(message):
    print(message, file=sys.stderr)


def _list_path(root, listing):
    """A list file given relative to the dataset root, or as a path of its own."""
    path = listing if os.path.isabs(listing) else os.path.join(root, listing)
    if not os.path.exists(path) and os.path.exists(listing):
        return listing
    return path


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


def _cmd_info(args):
    from lsid_keras import machine

    if args.json:
        print(json.dumps({"cpu_model": machine.cpu_model(),
                          "cpu_features": machine.cpu_features(),
                          "native_bfloat16": machine.has_native_bfloat16(),
                          "int8_dot_product": machine.has_int8_dot_product()}, indent=2))
    else:
        print(machine.describe())
    return 0


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


def _cmd_prepare(args):
    from lsid_keras.data.cache import prepare_cache
    from lsid_keras.data.sid_list import SidListError, read_pair_list

    list_path = _list_path(args.root, args.list)
    try:
        pairs = read_pair_list(
            list_path,
            root=args.root,
            first_burst_only=args.first_burst_only,
            drop_misaligned=args.drop_misaligned,
        )
    except (SidListError, FileNotFoundError) as err:
        raise UserError(str(err)) from None
    if not pairs:
        raise UserError(f"{list_path}: no pairs to cache")
    from lsid_keras.errors import LsidError

    try:
        summary = prepare_cache(pairs, args.cache, workers=args.workers, progress=not args.quiet)
    except LsidError as err:  # a busy cache, a full disk, a decoder that cannot start
        raise UserError(_first_line(err)) from None
    except OSError as err:
        raise UserError(f"{args.cache}: {err.strerror or err}") from None
    for source, message in summary.failed:
        text = message if source in message else f"{source}: {message}"
        print(f"lsid prepare: error: {text}", file=sys.stderr)
    print(
        f"{summary.pairs} pairs: {summary.decoded} files decoded, {summary.reused} reused, "
        f"{len(summary.failed)} failed in {summary.seconds:.1f} s -> {args.cache}"
    )
    return EXIT_USAGE if summary.failed else 0


def _cmd_synth(args):
    from lsid_keras.data.synth import synthesize_dataset
    from lsid_keras.raw import RawError

    try:
        summary = synthesize_dataset(
            args.out,
            images=args.images,
            camera=args.camera,
            cfa=args.cfa,
            scenes=args.scenes,
            seed=args.seed,
            size=args.size,
            progress=not args.quiet,
            read_noise=args.read_noise,
            content=args.content,
            noise_family=args.noise_family,
            ratio_range=args.ratio_range,
            random_ratios=args.random_ratios,
            base_iso_share=args.base_iso_share,
        )
    except (ValueError, FileNotFoundError, RawError) as err:
        raise UserError(str(err)) from None
    from lsid_keras.data.synth import split_summary

    pairs = ", ".join(f"{n} {split}" for split, n in summary["pairs"].items())
    print(
        f"{summary['scenes']} {summary['camera']} scenes ({pairs} pairs), "
        f"{summary['files_written']} files written in {summary['seconds']:.1f} s -> {args.out}"
    )
    print(split_summary(summary))
    return 0


def _cmd_photos(args):
    from lsid_keras.data import photo_sets

    if args.list:
        print(photo_sets.describe_photo_sets())
        return 0
    if not args.names:
        raise UserError("name the photo sets to fetch (see `lsid photos --list`), or 'train' "
                        "or 'evaluation' for all sets of that purpose")
    if not args.out:
        raise UserError("--out DIR is required: the folder to fill with photos")
    if not args.timeout > 0:
        raise UserError(f"--timeout must be > 0 seconds. Received: {args.timeout}")
    try:
        names = photo_sets.resolve_set_names(args.names)
    except ValueError as err:
        raise UserError(str(err)) from None
    purposes = {photo_sets.PHOTO_SETS[n].purpose for n in names}
    if len(purposes) > 1:
        raise UserError("training and evaluation sets cannot share one folder (evaluation "
                        "photos must never reach training); fetch them with separate --out")
    for name in names:
        try:
            summary = photo_sets.download_photo_set(
                name, args.out, progress=not args.quiet, source_dir=args.source,
                timeout=args.timeout,
            )
        except (ValueError, photo_sets.PhotoSetError) as err:
            raise UserError(str(err)) from None
        except OSError as err:
            raise UserError(f"{args.out}: {err.strerror or err}") from None
        print(f"{name}: {summary['photos']} photos ({summary['kept']} kept, "
              f"{summary['copied']} copied, {summary['downloaded']} downloaded) -> {args.out}")
    return 0


def _setting(text):
    """A config value from the command line: none/null, an int, a float, or a string."""
    if text.lower() in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _cmd_train(args):
    from lsid_keras.data.cache import CacheError
    from lsid_keras.train import (
        AUTO_MIXED_PRECISION,
        TrainConfig,
        TrainingDiverged,
        config_fields,
        load_config,
        train,
    )

    settings = {}
    try:
        if args.config:
            settings.update(load_config(args.config))
    except (OSError, ValueError) as err:
        raise UserError(str(err)) from None
    names = {f.name for f in config_fields()}
    settings.update({k: v for k, v in vars(args).items() if k in names})
    if settings.get("mixed_precision") == AUTO_MIXED_PRECISION:
        from lsid_keras.precision import choose_mixed_precision

        settings["mixed_precision"], reason = choose_mixed_precision()
        _stderr(reason)
    try:
        config = TrainConfig(**settings).resolved()
    except (ValueError, TypeError) as err:
        raise UserError(_option_words(str(err))) from None
    from lsid_keras.losses.vgg_feature import VGGWeightsUnavailableError
    from lsid_keras.models import ModelFileError

    try:
        result = train(config)
    except (ValueError, CacheError, FileNotFoundError, ModelFileError,
            VGGWeightsUnavailableError) as err:
        raise UserError(_option_words(_first_line(err))) from None
    except TrainingDiverged as err:
        print(f"lsid train: error: {err}", file=sys.stderr)
        return 1
    if result.stopped_by == "finished":
        print(f"already trained: {result.epochs_done} of {result.epochs} epochs, nothing to do "
              f"-> {result.model_path}")
        return 0
    logs = ", ".join(f"{k} {v:.4g}" for k, v in result.logs.items())
    logs = f": {logs}" if logs else ""
    if result.stopped_by == "time":
        print(f"paused by the time budget after epoch {result.epochs_done} of {result.epochs}"
              f"{logs} -> {result.model_path} (rerun the same command to continue)")
    else:
        print(f"trained {result.epochs_done} epochs{logs} -> {result.model_path}")
    return 0


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _option_words(message):
    """A TrainConfig message in the command line's words: `learning_rate=` -> `--learning-rate`.
    """
    import re

    from lsid_keras.train import config_fields

    for f in config_fields():
        message = re.sub(rf"\b{f.name}\b(?==| must| is)", "--" + f.name.replace("_", "-"),
                         message)
    return message


def _attribute_docs(docstring):
    """`name: text` entries of a Google-style Attributes section, joined per name."""
    docs, name = {}, None
    for line in (docstring or "").splitlines():
        stripped = line.strip()
        head, _, rest = stripped.partition(": ")
        if line.startswith(" " * 8) and not line.startswith(" " * 9) and rest:
            for key in head.split(", "):
                docs[key] = rest
            name = head
        elif name and line.startswith(" " * 12) and stripped:
            for key in name.split(", "):
                docs[key] += " " + stripped
    return docs


def _add_train_options(parser):
    from lsid_keras.train import TrainConfig, config_fields

    parser.add_argument("--config", help="TOML or JSON file of settings (options override it)")
    descriptions = _attribute_docs(TrainConfig.__doc__)
    for f in config_fields():
        flag = "--" + f.name.replace("_", "-")
        help_text = f"{descriptions.get(f.name, '')} (default: {f.default})".replace("%", "%%")
        if f.type in ("bool", bool):
            parser.add_argument(flag, dest=f.name, action="store_true",
                                default=argparse.SUPPRESS, help=help_text)
        else:
            parser.add_argument(flag, dest=f.name, type=_setting, default=argparse.SUPPRESS,
                                metavar=f.name.upper(), help=help_text)


def _tile(text):
    """A --tile value: "auto", 0 (whole frame) or a tile side."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto', 0 or a multiple of 16, got {text!r}"
                                         ) from None


def _ratio(text):
    if text == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0 or 'auto', got {text!r}") from None
    return value


def _load_enhancer(path, precision):
    """The model at `path`, or the shipped pretrained one when `path` is None, at `precision`
    (`lsid_keras.precision`); a precision that will run slowly is warned of on stderr at once.
    The choice itself is printed with the results (`_precision_line`), so a bad file still
    fails in one line. The commands that enhance frames keep freed memory for the next frame
    (`lsid_keras.allocator`)."""
    from lsid_keras.allocator import keep_freed_memory
    from lsid_keras.enhance import EnhanceError, load_enhancer, load_shipped_enhancer

    keep_freed_memory()
    try:
        enhancer = (load_shipped_enhancer(precision=precision) if path is None
                    else load_enhancer(path, precision=precision))
    except EnhanceError as err:
        raise UserError(str(err)) from None
    if enhancer.precision_choice.warning:
        _stderr(f"warning: {enhancer.precision_choice.warning}")
    return enhancer


def _precision_line(enhancer):
    """The precision an enhancer runs in and why, e.g. "precision fp32: this CPU (avx2 fma)
    has no native bfloat16 and no int8 dot product"."""
    return f"precision {enhancer.precision_choice.reason}"


def _cmd_evaluate(args):
    from lsid_keras.atomic import write_json_atomic
    from lsid_keras.data.sid_list import SidListError, read_pair_list
    from lsid_keras.enhance import EnhanceError, check_tiling
    from lsid_keras.evaluate import evaluate_pairs, write_rows_csv
    from lsid_keras.raw import RawError

    try:
        if args.tile not in ("auto", 0):
            check_tiling(*_tiling_defaults(args))
    except EnhanceError as err:
        raise UserError(str(err)) from None
    if args.fusion and (args.method != "network" or args.colour != "as-shot"):
        raise UserError("--fusion needs the network (--method network) and --colour as-shot")
    list_path = _list_path(args.data, args.list)
    try:
        pairs = read_pair_list(list_path, root=args.data, first_burst_only=not args.all_bursts,
                               drop_misaligned=args.drop_misaligned)
    except (SidListError, FileNotFoundError) as err:
        raise UserError(str(err)) from None
    if not pairs:
        raise UserError(f"{list_path}: no pairs to evaluate")
    folders = [folder for folder in (args.out, args.save_outputs) if folder]
    for folder in folders:
        _check_creatable(folder)
    enhancer = (_load_enhancer(args.model, args.precision) if args.method == "network"
                else None)
    created = [folder for folder in folders if not os.path.isdir(folder)]
    for folder in created:
        os.makedirs(folder)
    try:
        rows, summary = evaluate_pairs(
            pairs, method=args.method, enhancer=enhancer, tile=args.tile, halo=args.halo,
            lpips=args.lpips, save_dir=args.save_outputs, progress=not args.quiet, log=_stderr,
            colour=args.colour, fusion=args.fusion,
        )
    except BaseException as err:
        for folder in created:  # a failed evaluation leaves no folder it made
            shutil.rmtree(folder, ignore_errors=True)
        if isinstance(err, (RawError, EnhanceError, ValueError)):
            raise UserError(str(err)) from None
        raise
    model = args.model or (enhancer.source if enhancer is not None else None)
    summary.update({"method": args.method, "model": model, "list": list_path,
                    "fusion": args.fusion,
                    "protocol": "all bursts" if args.all_bursts else
                    "SID test protocol: the first burst (_00) of each exposure time",
                    "first_burst_only": not args.all_bursts,
                    "drop_misaligned": args.drop_misaligned, "tile": args.tile,
                    "halo": args.halo if args.halo is not None else (
                        getattr(enhancer, "halo", None) or _tiling_defaults(args)[1]),
                    "colour": args.colour if args.method == "network" else None,
                    "precision": enhancer.precision if enhancer is not None else None,
                    "precision_reason": (enhancer.precision_choice.reason
                                         if enhancer is not None else None)})
    write_rows_csv(os.path.join(args.out, "per_image.csv"), rows)
    write_json_atomic(os.path.join(args.out, "summary.json"), summary)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"{'ratio':>6} {'n':>4} {'PSNR dB':>8} {'SSIM':>6}")
    for ratio, group in summary["by_ratio"].items():
        print(f"{'x' + ratio:>6} {group['n']:>4} {group['psnr']:>8.2f} {group['ssim']:>6.3f}")
    print(f"{'all':>6} {summary['n']:>4} {summary['psnr']:>8.2f} {summary['ssim']:>6.3f}"
          f"  ({args.method}) -> {args.out}")
    if enhancer is not None:
        print(_precision_line(enhancer))
    return 0


def _check_creatable(folder):
    """UserError unless `folder` exists as a writable folder or could be created."""
    parent = folder
    while not os.path.exists(parent):
        parent = os.path.dirname(os.path.abspath(parent))
    if not os.path.isdir(parent):
        raise UserError(f"{folder}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{folder}: {parent} is not writable")


def _output_paths(inputs, out):
    """Output file per input: OUT itself for one input with an image extension, else
    OUT/<input stem>.png in an existing folder."""
    from lsid_keras.image_io import FORMATS, ImageWriteError, check_output_path

    # A name with an extension is an output file; anything else names an existing folder.

    try:
        if os.path.splitext(out)[1].lower() in FORMATS or (
            os.path.splitext(out)[1] and not os.path.isdir(out)
        ):
            if len(inputs) > 1:
                raise UserError(f"{out}: several inputs need an output folder, not a file")
            return [check_output_path(out)]
        if not os.path.isdir(out):
            raise UserError(f"{out}: output folder does not exist")
        return [check_output_path(os.path.join(out, os.path.splitext(os.path.basename(p))[0]
                                               + ".png")) for p in inputs]
    except ImageWriteError as err:
        raise UserError(str(err)) from None


def _add_colour_argument(parser, default):
    from lsid_keras.enhance import COLOUR_CHOICES

    parser.add_argument("--colour", choices=COLOUR_CHOICES, default=default,
                        help="as-shot: give the output the colour the camera's as-shot white "
                        "balance gives the scene (measured on the RAW with its colour matrix; "
                        "the network cannot see the white balance); network: keep the "
                        f"network's colour, the papers' protocol (default: {default})")


def _cmd_enhance(args):
    from lsid_keras.enhance import EnhanceError, check_tiling, enhance_file, write_enhanced
    from lsid_keras.raw import RawError

    if args.ratio != "auto" and not args.ratio > 0:
        raise UserError(f"ratio must be > 0 or 'auto', got {args.ratio:g}")
    try:
        if args.tile not in (0, "auto"):
            check_tiling(*_tiling_defaults(args))
    except EnhanceError as err:
        raise UserError(str(err)) from None
    outputs = _output_paths(args.inputs, args.output)
    for path in args.inputs:
        if not os.path.isfile(path):
            raise UserError(f"{path}: file not found")
    enhancer = _load_enhancer(args.model, args.precision)
    for index, (path, output) in enumerate(zip(args.inputs, outputs, strict=True)):
        try:
            result = enhance_file(enhancer, path, ratio=args.ratio, contrast=args.contrast,
                                  tile=args.tile, halo=args.halo, progress=not args.quiet,
                                  colour=args.colour, auto_bright=not args.no_auto_bright,
                                  fusion=not args.no_fusion)
        except (RawError, EnhanceError) as err:
            raise UserError(str(err)) from None
        write_enhanced(output, result)  # upright, with EXIF and an sRGB profile
        if index == 0:  # once, after the first file: a bad file still fails in one line
            print(_precision_line(enhancer))
        bright = f", auto-bright x{result.bright:.2f}" if result.bright != 1.0 else ""
        if result.fusion is not None:
            bright = (f", traditional rendering fused in (low band {result.fusion['low']:.2f}, "
                      f"detail {result.fusion['detail']:.2f})" + bright)
        print(f"{path}: ratio x{result.ratio:.1f} ({result.ratio_source}){bright}, "
              f"{result.seconds:.1f} s -> {output}")
    return 0


def _cmd_export(args):
    from lsid_keras.export import export_model

    quant = [q.strip() for q in args.quant.split(",") if q.strip()]
    # ExportError is an LsidError: main prints it as one line naming the file, exit 2.
    report = export_model(args.model, args.out, tile=args.tile, halo=args.halo, quant=quant,
                          representative=args.representative, verify=not args.no_verify,
                          num_threads=args.threads, progress=None if args.quiet else _stderr)
    for variant in report["variants"]:
        figures = variant["verification"]
        scores = ("not verified" if figures is None else
                  f"{figures['tile_psnr_db']} dB on tiles, {figures['frame_psnr_db']} dB on a "
                  "tiled frame, vs Keras fp32")
        where = variant["path"] or f"not written: below {figures['threshold_db']} dB"
        if variant["path"] and variant.get("features_path"):
            where += f" + {variant['features_path']} (global branch)"
        print(f"{variant['quantization']}: {where} ({variant['bytes'] / 1e6:.2f} MB, {scores})")
    return 0 if all(v["passed"] for v in report["variants"]) else 1


def _cmd_quickstart(args):
    from lsid_keras.quickstart import run_quickstart

    try:
        report = run_quickstart(args.out, minutes=args.minutes, scenes=args.scenes,
                                seed=args.seed, progress=not args.quiet)
    except (ValueError, OSError) as err:
        raise UserError(str(err)) from None
    print(
        f"held-out PSNR: network {report['psnr_network']:.2f} dB, shipped model "
        f"{report['psnr_shipped']:.2f} dB, traditional pipeline "
        f"{report['psnr_traditional']:.2f} dB (SSIM {report['ssim_network']:.3f}, "
        f"{report['ssim_shipped']:.3f}, {report['ssim_traditional']:.3f}) over "
        f"{report['test_pairs']} pairs, "
        f"{report['seconds'] / 60:.1f} min -> {args.out}/report.json, side_by_side.png, "
        "model.keras"
    )
    return 0


def _size(text):
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH, got {text!r}") from None
    return height, width


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _add_precision_argument(parser):
    """`--precision` of the commands that run a model (evaluate, enhance)."""
    from lsid_keras.precision import PRECISIONS

    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="what the network computes in: auto picks what this CPU runs "
                        "fastest (bf16 with native bfloat16, int8 with an int8 dot product "
                        "when <model stem>_int8.tflite from lsid export lies beside the "
                        ".keras model, fp32 otherwise) and says why; fp32; bf16 (Keras, "
                        "bfloat16 compute); int8 (that export). A .tflite runs at its own "
                        "(default: auto)")


def _tiling_defaults(args):
    """`(tile, halo)` as given, the library's defaults for those not given (for checking
    them before any file is read; a .tflite's card may still fix them)."""
    from lsid_keras.tiling import DEFAULT_HALO, DEFAULT_TILE

    return (DEFAULT_TILE if args.tile is None else args.tile,
            DEFAULT_HALO if args.halo is None else args.halo)


def _add_halo_argument(parser):
    """`--halo` of the commands that tile a frame (evaluate, enhance)."""
    parser.add_argument("--halo", type=int, default=None,
                        help="context around each tile and the frame, packed pixels, >= 0 "
                        "(default: a .tflite's card's, else 96, the smallest measured to keep "
                        "tiles within one 8-bit level of a whole-frame pass)")


def add_export_arguments(parser):
    """The options of `lsid export`, shared with the thin script `export/convert.py`."""
    parser.add_argument("--model", required=True, help="trained .keras model")
    parser.add_argument("--out", required=True, help="output folder (created)")
    parser.add_argument("--tile", type=int, default=None,
                        help="fixed input side, packed pixels, a multiple of 16 (default: "
                        "fitted to the camera's full frame, 912 Sony / 864 Fuji)")
    parser.add_argument("--halo", type=int, default=None,
                        help="tiling halo recorded in the card, packed pixels (default 96)")
    parser.add_argument("--quant", default="fp32,fp16,dynamic,int8",
                        help="comma-separated variants of fp32, fp16, dynamic, int8, qat "
                        "(default: %(default)s; qat fine-tunes, minutes to hours)")
    parser.add_argument("--representative",
                        help="`lsid prepare` cache or folder of RAW files: int8/qat "
                        "calibration and held-out verification data")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip verification against the Keras model")
    parser.add_argument("--threads", type=int, default=None,
                        help="LiteRT threads for verification (default: all cores)")


def build_parser():
    """The argument parser of the `lsid` command."""
    parser = argparse.ArgumentParser(
        prog="lsid", description="Learned extreme low-light photography (SID, Zamir, GIA-Net)."
    )
    from lsid_keras import __version__

    parser.add_argument("--version", action="version", version=f"lsid-keras {__version__}")
    # dest differs from `lsid train --verbose` (Keras' progress level, a TrainConfig field).
    parser.add_argument("--verbose", action="store_true", dest="tensorflow_logs",
                        help=f"show TensorFlow's own start-up and log lines (before the "
                        f"command: `lsid --verbose enhance ...`; or set {VERBOSE_ENV}=1)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    quickstart = sub.add_parser(
        "quickstart",
        help="synthesise data, train a small GIA-Net, evaluate it against the traditional "
        "pipeline and enhance a scene, all on the CPU in minutes",
    )
    quickstart.add_argument("--out", default="quickstart",
                            help="output folder, created (default: quickstart)")
    quickstart.add_argument("--minutes", type=float, default=5.0,
                            help="training time budget in minutes, > 0 (default: 5)")
    quickstart.add_argument("--scenes", type=_positive_int, default=24,
                            help="synthetic scenes, >= 4; a quarter are test scenes "
                            "(default: 24)")
    quickstart.add_argument("--seed", type=int, default=0,
                            help="random seed, >= 0 (default: 0)")
    quickstart.add_argument("--quiet", action="store_true", help="no progress bars")
    quickstart.set_defaults(func=_cmd_quickstart)

    info = sub.add_parser(
        "info", help="this machine's CPU features that decide which precision runs fastest "
        "(AVX2, AVX-512 VNNI / BF16, AMX, Arm dot product)")
    info.add_argument("--json", action="store_true", help="print JSON instead")
    info.set_defaults(func=_cmd_info)

    models = sub.add_parser(
        "models", help="list the model presets with parameters and GFLOPs on a full frame"
    )
    models.add_argument("--camera", choices=("sony", "fuji"),
                        help="only this camera family (default: both)")
    models.add_argument("--json", action="store_true", help="print a JSON list instead")
    models.set_defaults(func=_cmd_models)

    prepare = sub.add_parser(
        "prepare", help="decode a SID list once into an on-disk cache for training (resumable)"
    )
    prepare.add_argument("root", help="dataset root (holds Sony/ or Fuji/ and the list files)")
    prepare.add_argument("--list", required=True, help="list file, relative to ROOT or a path")
    prepare.add_argument("--cache", required=True, help="cache folder (created)")
    prepare.add_argument("--workers", type=_positive_int,
                         help="decoding processes, >= 1; a crash in one fails only its file "
                         "(default: all cores)")
    prepare.add_argument(
        "--first-burst-only", action="store_true", help="only the _00 short exposures"
    )
    prepare.add_argument(
        "--drop-misaligned", action="store_true", help="drop scenes 10034, 10045, 10172"
    )
    prepare.add_argument("--quiet", action="store_true", help="no progress bar")
    prepare.set_defaults(func=_cmd_prepare)

    synth = sub.add_parser(
        "synth",
        help="write a synthetic SID-style low-light dataset (DNG) from sRGB photos",
        description="Unprocesses sRGB photos to clean RAW mosaics (Brooks et al.), writes the "
        "long exposure and physics-noise short exposures (x100/x250/x300) as DNG files, named "
        "and listed exactly like SID.",
    )
    from lsid_keras.data.synth import (
        CAMERA_CHOICES,
        CONTENT_CHOICES,
        NOISE_FAMILIES,
        READ_NOISE_CHOICES,
    )

    def choices_help(choices):
        return "; ".join(f"{name}: {text}" for name, text in choices)

    synth.add_argument("out", help="dataset root to write (Sony/, Fuji/, ... and list files)")
    synth.add_argument("--images", help="folder of sRGB photos (default: photos shipped "
                       "with scikit-image)")
    synth.add_argument("--camera", choices=[name for name, _ in CAMERA_CHOICES],
                       default="sony", help=f"{choices_help(CAMERA_CHOICES)} (default: sony)")
    synth.add_argument("--content", choices=[name for name, _ in CONTENT_CHOICES],
                       default="mixed", help=f"{choices_help(CONTENT_CHOICES)} "
                       "(default: mixed)")
    synth.add_argument("--read-noise", choices=[name for name, _ in READ_NOISE_CHOICES],
                       default="gaussian", help=f"{choices_help(READ_NOISE_CHOICES)} "
                       "(default: gaussian; with --noise-family camera only)")
    synth.add_argument("--noise-family", choices=[name for name, _ in NOISE_FAMILIES],
                       default="camera", help=f"{choices_help(NOISE_FAMILIES)} "
                       "(default: camera)")
    synth.add_argument("--random-ratios", type=int, default=0, metavar="N",
                       help="short exposures each training scene adds at ratios drawn "
                       "log-uniformly from --ratio-range (default: 0; test and val scenes keep "
                       "x100/x250/x300)")
    synth.add_argument("--ratio-range", type=float, nargs=2, default=(1.0, 300.0),
                       metavar=("LOW", "HIGH"), help="where --random-ratios are drawn, "
                       "1 <= LOW <= HIGH <= 300 (default: 1 300; 1 is a clean input)")
    synth.add_argument("--base-iso-share", type=float, default=0.0, metavar="P",
                       help="share of the --random-ratios exposures shot at base ISO, 0 to 1: "
                       "system gain 8x below the sensor's calibrated range (ISO 100-800 for "
                       "ELD's cameras), as clean as a daylight frame (default: 0)")
    synth.add_argument("--cfa", help="Bayer order for Bayer cameras (RGGB, GRBG, GBRG, BGGR; "
                       "default RGGB) or 36 X-Trans letters for fuji (default: the X-T2's)")
    synth.add_argument("--scenes", type=_positive_int, default=12,
                       help="scenes, 1 to 9999; each gives one long and three short exposures "
                       "(default: 12)")
    synth.add_argument("--seed", type=int, default=0, help="random seed, >= 0 (default: 0)")
    synth.add_argument("--size", type=_size, help="frame HEIGHTxWIDTH in RAW pixels, multiples "
                       "of 32 (Bayer) or 96 (X-Trans) (default: 512x768 Bayer, 576x768 X-Trans)")
    synth.add_argument("--quiet", action="store_true", help="no progress bar")
    synth.set_defaults(func=_cmd_synth)

    photos = sub.add_parser(
        "photos",
        help="fetch public natural-photo sets for `lsid synth --images` (pinned sha256); "
        "evaluation sets (Set5, Set14, Urban100) are reserved from training",
        description="Fills a folder with registered photo sets, every file checked against "
        "its pinned sha256: files already there are kept, files found under --from are "
        "copied, the rest are downloaded from their pinned commit. Resumable; rerunning "
        "fetches only what is missing.",
    )
    photos.add_argument("names", nargs="*", metavar="NAME",
                        help="photo sets (see --list), or 'train' / 'evaluation' for every "
                        "set of that purpose")
    photos.add_argument("--out", metavar="DIR", help="photo folder to fill (created)")
    photos.add_argument("--from", dest="source", action="append", metavar="DIR",
                        help="local folder to copy photos from when their sha256 matches, "
                        "looked up by repository path or file name (e.g. a repository "
                        "snapshot exported with `git archive`); repeatable")
    photos.add_argument("--list", action="store_true",
                        help="list the registered sets with purpose, photo count and source")
    photos.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait for the server per request (default: 60)")
    photos.add_argument("--quiet", action="store_true", help="no progress bar")
    photos.set_defaults(func=_cmd_photos)

    evaluate = sub.add_parser(
        "evaluate", help="PSNR/SSIM on a SID list with the reference protocol",
        description="Full-frame evaluation: PSNR and SSIM on 8-bit RGB (Gaussian 11, sigma "
        "1.5), per image (CSV) and per amplification ratio (JSON).",
    )
    evaluate.add_argument("--model", help=".keras model or .tflite export (for --method "
                          "network; default: the shipped pretrained Sony model, Bayer only)")
    evaluate.add_argument("--data", required=True, help="dataset root")
    evaluate.add_argument("--list", required=True, help="list file, relative to --data or a path")
    evaluate.add_argument("--method", choices=("network", "isp"), default="network",
                          help="the model, or the traditional pipeline baseline (isp)")
    _add_colour_argument(evaluate, default="network")
    evaluate.add_argument("--fusion", action="store_true",
                          help="with --colour as-shot: fuse in the traditional rendering where "
                          "it stands above its noise, as `lsid enhance` does by default")
    evaluate.add_argument("--all-bursts", action="store_true",
                          help="evaluate every burst; default: SID's test protocol, the first "
                          "burst (_00) of each exposure time of each scene")
    evaluate.add_argument("--first-burst-only", action="store_true",
                          help="the default (kept for scripts written before it was)")
    evaluate.add_argument("--drop-misaligned", action="store_true",
                          help="drop scenes 10034, 10045, 10172")
    evaluate.add_argument("--tile", type=_tile, default="auto",
                          help="'auto': each whole frame in one pass, as the papers evaluate, "
                          "when it fits in half the free memory, else tiles; 0: always whole "
                          "frames; N: tiles of at most N packed pixels, a multiple of 16 "
                          "(default: auto)")
    _add_halo_argument(evaluate)
    _add_precision_argument(evaluate)
    evaluate.add_argument("--out", default="runs/evaluate", help="folder for the CSV and JSON")
    evaluate.add_argument("--save-outputs", help="also write 8-bit PNG outputs to this folder")
    evaluate.add_argument("--lpips", action="store_true", help="also LPIPS (needs lpips)")
    evaluate.add_argument("--json", action="store_true", help="print the summary as JSON")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate.set_defaults(func=_cmd_evaluate)

    enhance = sub.add_parser(
        "enhance", help="enhance RAW files to 16-bit PNG/TIFF or 8-bit JPEG",
        description="Any LibRaw file in, sRGB out, at full resolution with bounded memory.",
    )
    enhance.add_argument("inputs", nargs="+", metavar="IN", help="RAW files")
    enhance.add_argument("--model",
                         help=".keras model or .tflite export (tile and halo from its card); "
                         "default: the shipped pretrained model, a GIA-Net for the Sony alpha "
                         "7S II trained on synthetic data (Bayer frames only)")
    enhance.add_argument("-o", "--output", required=True,
                         help="output file (.png, .tif, .jpg) or existing folder")
    enhance.add_argument("--ratio", type=_ratio, default="auto",
                         help="amplification, a number > 0 (SID: 100 to 300), or 'auto' to "
                         "estimate it from the frame's highlights (default: auto)")
    enhance.add_argument("--contrast", action="store_true", help="apply contrast improvement")
    _add_colour_argument(enhance, default="as-shot")
    enhance.add_argument("--no-auto-bright", action="store_true",
                         help="keep the network's exposure, that of SID's ground truth; by "
                         "default the output is brightened as LibRaw's default rendering is: "
                         "the brightest 1%% of the pixels to white")
    enhance.add_argument("--no-fusion", action="store_true",
                         help="keep the network's picture alone; by default (with the as-shot "
                         "colour) the traditional pipeline's rendering is fused in where it "
                         "stands above its noise: its detail and local tone on clean frames, "
                         "nothing on dark noisy ones")
    enhance.add_argument("--tile", type=_tile, default=None,
                         help="largest tile side in packed pixels, a multiple of 16; tiles are "
                         "sized evenly to the frame (a Sony frame takes 2x3 tiles of 912); 0: "
                         "the whole frame in one pass (more memory); ignored for a .tflite, "
                         "whose card fixes it (default: 912)")
    _add_halo_argument(enhance)
    _add_precision_argument(enhance)
    enhance.add_argument("--quiet", action="store_true", help="no progress bar")
    enhance.set_defaults(func=_cmd_enhance)

    export = sub.add_parser(
        "export", help="export a .keras model to verified, builtin-only .tflite files",
        description="Fixed-shape TFLite models (fp32, fp16, dynamic-range, int8, qat) with "
        "an embedded model card, each verified against the Keras model and written only if "
        "it passes (lsid_keras.export.export_model). Exit 1 if a variant fails verification.",
    )
    add_export_arguments(export)
    export.add_argument("--quiet", action="store_true", help="no progress lines")
    export.set_defaults(func=_cmd_export)

    train = sub.add_parser(
        "train",
        help="train a model with model.fit on a prepared cache (resumable)",
        description="Trains with each paper's recipe (see lsid_keras.train); settings come "
        "from --config and the options below, which map one-to-one onto TrainConfig. Rerun "
        "the same command after a crash to resume at the epoch reached.",
    )
    _add_train_options(train)
    train.set_defaults(func=_cmd_train)
    return parser


def _quiet_tensorflow(verbose):
    """Hides TensorFlow's C++ start-up and runtime log lines unless `verbose`.

    Must run before TensorFlow is imported (a no-op for what is already imported).
    """
    if "TF_CONFIG" in os.environ:
        # Multi-worker training: TF 2.21's oneDNN CPU kernels corrupt batch-1 steps there (see
        # lsid_keras.distribute); this must be set before TensorFlow is imported.
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    if verbose:
        return
    from lsid_keras.import_hooks import quiet_import

    # Level 3 hides C++ INFO, WARNING and ERROR lines (such as the failed CUDA probe on a
    # machine without a GPU); Python exceptions still reach the user as one line.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    quiet_import("tensorflow")


def main(argv=None):
    """Runs the `lsid` command with `argv` (default: sys.argv[1:]); returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _quiet_tensorflow(args.tensorflow_logs or os.environ.get(VERBOSE_ENV, "") not in ("", "0"))
    from lsid_keras.errors import LsidError

    try:
        return args.func(args)
    except UserError as err:
        print(f"lsid {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except LsidError as err:
        # Any package error a command did not word itself (a full disk, a busy cache, ...).
        print(f"lsid {args.command}: error: {_first_line(err)}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
