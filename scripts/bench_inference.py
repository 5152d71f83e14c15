"""Benchmark of full-frame enhancement on CPU: Keras tiled vs untiled, fp32 vs bf16, and LiteRT.

Runs a full-width random-init model (fixed seed; no trained weights are at hand, and speed does
not depend on them) over one synthetic Sony-size packed frame (2848 x 4256 RAW pixels pack to
1424 x 2128 x 4; the output is 2848 x 4256 x 3) with `lsid_keras.tiling.run_tiled` and
`run_untiled`, and prints and writes as JSON: seconds per frame, peak resident memory, output
megapixels per second and, for bf16, the error against fp32; plus the ratios between them.

- Memory. Each configuration runs in its own subprocess, so its peak RSS (`ru_maxrss` after
  the timed runs) is its own. It includes TensorFlow, the model, the input frame (46 MiB) and
  the float32 output (139 MiB); a baseline child that only imports TensorFlow and builds the
  model shows the floor.
- Allocator. Every child keeps freed memory for reuse (`lsid_keras.allocator`), as
  `lsid enhance` and `lsid evaluate` do; `--glibc-default` runs them with glibc's default
  (which hands freed arrays back and faults them in again on every frame).
- Time. Warm-up (tracing, first execution) is excluded: tiled runs first call the predictor
  on one tile, untiled runs make one whole-frame pass first ("warm-up" column). The machine
  may be shared, so each config is timed `--repeats` times and the fastest run is reported;
  the JSON keeps every time, the cores this process used ("cpu/wall") and the cores other
  processes used ("others", from /proc/stat) during each run.
- Error. The bf16 configurations run the fp32 weights (`set_weights`) in a model built under
  the "mixed_bfloat16" policy; their error is against the fp32 output of the same tiling, in
  [0, 1] units, from float16 copies of both outputs (resolution ~5e-4 near 1). A random-init
  U-Net outputs values of std ~0.01, a trained one sRGB of std ~0.25, and errors scale with
  the output: the last 1x1 conv is scaled so the output on a crop of the frame has std
  `--output-std` (as scripts/measure_seams.py does), which does not change the speed.

Configurations are predictor kinds x {tiled, untiled}: a kind is one function in `PREDICTORS`
named `{family}_{precision}`, e.g. "keras_fp32" yields "keras_tiled_fp32" and
"keras_untiled_fp32".

LiteRT configurations ("litert_tiled_fp32", "_fp16", "_dynamic", "_int8"; fixed-shape, so
tiled only) run the `.tflite` files `lsid_keras.export.export_model` makes from the same
weights (an "export" child converts them once, int8 calibrated on the frame; no Keras in the
LiteRT children). They are timed end to end as a user runs `lsid enhance`: RAW decode of a
synthetic full-size DNG (the packed frame, darkened x100 and mosaicked) to a JPEG written,
with the tile and halo from the model card. Every configuration reads its frame from that DNG
(Keras configurations exclude the decode from their time), so errors compare like with like;
LiteRT rows report PSNR against the untiled Keras fp32 output, the file size, ms per tile,
and achieved GFLOP/s (2 x MACs of the tiles run) against the fp32 matmul peak the baseline
child measures in the same run (TF 4096^3 matmul with the same threads).

`lsid enhance` configurations ("lsid_enhance_fp32", "_bf16", "_int8", "_auto") run the
command's own path, `load_enhancer(model, precision=...)` then `enhance_file` and
`write_enhanced` per file, on the model saved beside its exports (so "int8" and "auto" find
`model_int8.tflite` as `lsid_keras.precision` looks for it): RAW decode to JPEG written, tile
fitted as the command fits it (at most 800), the model load and first file reported apart
("first_file_s") from the fastest of `--repeats` further files ("seconds"). Each row keeps
the precision run and why (auto's choice on this machine), its PSNR against the fp32 row, and
the JSON keeps the CPU's features (`machine.cpu_features`), which decide auto's choice.
End-to-end rows run `lsid enhance`'s fusion with the traditional rendering where its gate
opens (`lsid_keras.isp_fusion.worth_fusing`) and say so in `fusion` (the mean weights; null
where it was skipped). The synthetic frame's two greens differ cell by cell as no camera's
do, so the gate reads it as noisy and skips it: these rows time the network's path, as for a
dark SID frame; `--no-fusion` makes sure of it. The fusion's own cost on a clean frame:
docs/performance.md.

    python scripts/bench_inference.py --out bench_inference.json     # ~6 min on 2 cores
    python scripts/bench_inference.py --weights lsid_keras/pretrained/gia_net_sony_w16.keras \
        --configs lsid_enhance_fp32,lsid_enhance_bf16,lsid_enhance_int8,lsid_enhance_auto
    python scripts/bench_inference.py --frame 128x192 --width 2 --tile 32 --halo 8  # smoke run
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from lsid_keras.tiling import DEFAULT_HALO  # noqa: E402 - after the path is set

#: Sony Bayer frames: 4 packed channels, 2 x 2 output pixels per packed pixel.
PACKED_CHANNELS = 4
BLOCK = 2
MODES = ("tiled", "untiled")
#: Errors of every other predictor are measured against this one, in the same mode.
REFERENCE_PREDICTOR = "keras_fp32"
BASELINE = "baseline"
#: Cores used by other processes during a timed run above which the report warns.
CONTENDED_CPU = 0.2
#: The synthetic DNG: SID's Sony levels, darkened by this ratio and amplified back.
BLACK, WHITE, RATIO = 512, 16383, 100.0
FRAME_DNG = "frame.dng"
EXPORT = "export"
LITERT_PRECISIONS = ("fp32", "fp16", "dynamic", "int8")
#: `lsid enhance --precision` values run end to end (mode `ENHANCE`).
LSID_PRECISIONS = ("fp32", "bf16", "int8", "auto")
ENHANCE = "enhance"
#: `lsid enhance` configs are compared with this one.
LSID_REFERENCE = "lsid_enhance_fp32"
#: The reference model as the export child saves it, its exports beside it.
MODEL_FILE = "model.keras"


# --- predictors: each builds a `predict(batch) -> output` callable for the tiler -----------

def _reference_model(args, packed):
    """The seeded, output-calibrated float32 Keras model every predictor starts from."""
    import keras

    from lsid_keras.models import get_model

    if args.weights:  # a trained model: its own weights and output, no calibration
        from lsid_keras.models import load_model

        return load_model(args.weights)
    keras.utils.set_random_seed(args.seed)
    model = get_model(args.model, camera="sony", width=args.width)
    if args.output_std:
        calibrate_output(model, packed, args.output_std)
    return model


def _keras_predictor(model):
    """`keras_predictor(model)`; for a global model (GIA, SE) with an `encoder_decoder`
    attribute holding the halves that make tiles pool over the whole frame with one encoder
    pass (`lsid_keras.tiling.run_tiled_split`), as `lsid enhance` runs them."""
    from lsid_keras.models.global_branch import split_encoder_decoder
    from lsid_keras.tiling import keras_encoder_decoder, keras_predictor

    predict = keras_predictor(model)
    halves = split_encoder_decoder(model)
    predict.encoder_decoder = halves and keras_encoder_decoder(*halves)
    return predict


def keras_fp32_predictor(args, packed):
    """The Keras model in float32."""
    return _keras_predictor(_reference_model(args, packed))


def keras_bf16_predictor(args, packed):
    """The same weights in bfloat16 compute, float32 variables, as `lsid enhance --precision
    bf16` runs them (`lsid_keras.precision.bfloat16_model`; a global model's halves built in
    bfloat16 too); the model's last layer (SubPixel) outputs float32."""
    from lsid_keras.precision import bfloat16_model, keras_policy

    model = bfloat16_model(_reference_model(args, packed))
    with keras_policy("bf16"):
        return _keras_predictor(model)


def _litert_predictor(precision):
    def make(args, packed):
        """LiteRT over the exported `.tflite` (see `export_models`)."""
        from lsid_keras.enhance import load_enhancer

        return load_enhancer(litert_path(args.workdir, precision), num_threads=args.threads)

    make.__doc__ = f"The {precision} .tflite export run by LiteRT (XNNPACK)."
    return make


def _lsid_enhancer(precision):
    def make(args, packed):
        """`lsid enhance --precision ...`: `load_enhancer` on the model saved beside its
        exports (see `export_models`), so "int8" and "auto" find `model_int8.tflite`."""
        from lsid_keras.enhance import load_enhancer

        return load_enhancer(os.path.join(args.workdir, MODEL_FILE), num_threads=args.threads,
                             precision=precision)

    make.__doc__ = f"`lsid enhance --precision {precision}` end to end."
    return make


#: Predictor kinds, named `{family}_{precision}`; each makes a tiled and an untiled config
#: (LiteRT models have a fixed input shape: tiled only; "lsid" kinds run `lsid enhance`'s
#: path end to end, one config each).
PREDICTORS = {
    "keras_fp32": keras_fp32_predictor,
    "keras_bf16": keras_bf16_predictor,
    **{f"litert_{precision}": _litert_predictor(precision) for precision in LITERT_PRECISIONS},
    **{f"lsid_{precision}": _lsid_enhancer(precision) for precision in LSID_PRECISIONS},
}


def config_name(kind, mode):
    family, precision = kind.rsplit("_", 1)
    return f"{family}_{mode}_{precision}"


def _modes(kind):
    if kind.startswith("lsid_"):
        return (ENHANCE,)
    return ("tiled",) if kind.startswith("litert_") else MODES


def _needs_export(kind):
    """LiteRT kinds run its files; "lsid" kinds the model it saves (and its int8 file)."""
    return kind.startswith(("litert_", "lsid_"))


#: Configuration name -> (predictor kind, mode).
CONFIGS = {config_name(kind, mode): (kind, mode) for kind in PREDICTORS for mode in _modes(kind)}
DEFAULT_CONFIGS = tuple(CONFIGS)


def litert_path(workdir, precision):
    """`lsid export`'s name for the `precision` export of `MODEL_FILE`, beside it."""
    return os.path.join(workdir, f"{os.path.splitext(MODEL_FILE)[0]}_{precision}.tflite")


def write_frame_dng(path, packed):
    """A Bayer DNG whose packed, x`RATIO` amplified frame is `packed` up to DN rounding:
    the RGGB mosaic of `packed / RATIO` in SID's Sony levels, with the alpha 7S II's colour
    matrix, so `lsid enhance` feeds the network the frame as it is (no camera mapping)."""
    from lsid_keras.raw import write_dng
    from lsid_keras.raw.cameras import camera_spec

    height, width, _ = packed.shape
    mosaic = np.empty((2 * height, 2 * width), np.float32)
    for channel, (dy, dx) in enumerate(((0, 0), (0, 1), (1, 1), (1, 0))):
        mosaic[dy::2, dx::2] = packed[..., channel]
    mosaic = np.rint(BLACK + mosaic / RATIO * (WHITE - BLACK)).astype(np.uint16)
    write_dng(path, mosaic, "RGGB", BLACK, WHITE,
              color_matrix=camera_spec("sony").xyz_to_camera)


def frame_packed(workdir):
    """The benchmark's packed, amplified frame, read from its DNG as `lsid enhance` reads it."""
    from lsid_keras.raw import amplify, pack, read_raw

    return amplify(pack(read_raw(os.path.join(workdir, FRAME_DNG))), RATIO).astype(np.float32)


def export_precisions(configs):
    """The exports `configs` need: each LiteRT config's, and int8 for `lsid enhance
    --precision int8` or `auto` (auto weighs it on a CPU with an int8 dot product)."""
    kinds = {CONFIGS[name][0] for name in configs}
    return [p for p in LITERT_PRECISIONS
            if f"litert_{p}" in kinds or (p == "int8" and kinds & {"lsid_int8", "lsid_auto"})]


def export_models(args, precisions):
    """The "export" child: the reference model saved as `MODEL_FILE` and exported beside it
    to `.tflite` files via `export_model`, as `lsid export --out <its folder>` names them
    (fixed tile `args.litert_tile`, the benchmark's halo, int8 calibrated on the frame's DNG;
    verification off: the benchmark measures the error itself)."""
    from lsid_keras.export import export_model

    start = time.perf_counter()
    model = _reference_model(args, frame_packed(args.workdir))
    model.save(os.path.join(args.workdir, MODEL_FILE))
    if not precisions:  # `lsid enhance` at fp32 / bf16 only: the model file is enough
        return {"seconds": time.perf_counter() - start, "tile": None, "bytes": {},
                "peak_rss_mib": peak_rss_mib()}
    representative = os.path.join(args.workdir, "representative")
    os.makedirs(representative, exist_ok=True)
    os.replace(os.path.join(args.workdir, FRAME_DNG), os.path.join(representative, FRAME_DNG))
    try:
        report = export_model(os.path.join(args.workdir, MODEL_FILE), args.workdir,
                              tile=args.litert_tile,
                              halo=args.halo, quant=precisions, representative=representative,
                              verify=False, calibration_tiles=args.calibration_tiles)
    finally:
        os.replace(os.path.join(representative, FRAME_DNG), os.path.join(args.workdir, FRAME_DNG))
    return {"seconds": time.perf_counter() - start, "tile": report["tile"],
            "bytes": {v["quantization"]: v["bytes"] for v in report["variants"]},
            "peak_rss_mib": peak_rss_mib()}


def calibrate_output(model, packed, output_std, crop=256):
    """Scales the model's last 1x1 conv so its output on the top-left `crop` x `crop` packed
    pixels of `packed` has std `output_std`. The last conv has zero bias at init, so this
    scales the output exactly. Returns the scale."""
    crop = min(crop, packed.shape[0] // 16 * 16, packed.shape[1] // 16 * 16)
    last_conv = model.get_layer(model.layers[-1]._inbound_nodes[0].input_tensors[0]
                                ._keras_history.operation.name)
    output = np.asarray(model(packed[None, :crop, :crop], training=False))
    scale = output_std / float(output.std())
    kernel, bias = last_conv.get_weights()
    last_conv.set_weights([kernel * scale, bias * scale])
    return scale


# --- the child: one configuration in a fresh process -------------------------------------

def synthetic_packed(height, width, seed=0, cell=32, noise=0.05):
    """A packed frame `(height, width, 4)` float32 in [0, 1]: random flat `cell`-pixel blocks
    plus Gaussian noise, a stand-in for amplified dark RAW (the values do not affect speed;
    they give the bf16 error a realistic input)."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0.02, 0.9, size=(-(-height // cell), -(-width // cell),
                                          PACKED_CHANNELS)).astype(np.float32)
    image = np.repeat(np.repeat(coarse, cell, axis=0), cell, axis=1)[:height, :width]
    image += noise * rng.standard_normal(image.shape, dtype=np.float32)
    return np.clip(image, 0.0, 1.0, out=image)


def peak_rss_mib():
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds():
    """`(this process, the whole machine)` busy CPU seconds so far; the machine's is None
    where /proc/stat is missing."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    try:
        with open("/proc/stat") as file:
            ticks = [int(v) for v in file.readline().split()[1:]]
        machine = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # - idle, iowait
    except (OSError, ValueError, IndexError):
        machine = None
    return usage.ru_utime + usage.ru_stime, machine


def _configure_threads(threads):
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    return {"intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads()}


def run_baseline(args):
    """Imports TensorFlow and builds the model; its peak RSS is the floor of every config."""
    start = time.perf_counter()
    import tensorflow as tf

    threads = _configure_threads(args.threads)
    import keras

    from lsid_keras.models import count_macs, get_model

    keras.utils.set_random_seed(args.seed)
    if args.weights:
        from lsid_keras.models import load_model

        model = load_model(args.weights)
    else:
        model = get_model(args.model, camera="sony", width=args.width)
    result = {"peak_rss_mib": peak_rss_mib(), "seconds_to_build": time.perf_counter() - start,
              "params": int(model.count_params()), "tf_version": tf.__version__,
              "keras_version": keras.__version__, **threads}
    # After the RSS reading: MAC counting traces graphs.
    packed_h, packed_w = args.frame[0] // BLOCK, args.frame[1] // BLOCK
    result["frame_gmacs"] = count_macs(model, packed_h, packed_w) / 1e9
    result["tile_gmacs"] = count_macs(model, args.tile, args.tile) / 1e9
    result["litert_tile_gmacs"] = count_macs(model, args.litert_tile, args.litert_tile) / 1e9
    result["matmul_gflops"] = matmul_peak_gflops()
    return result


def matmul_peak_gflops(size=4096, repeats=3):
    """fp32 GFLOP/s of a TF `size`^3 matmul with this process's threads: the machine's
    practical peak, to rate each configuration's achieved GFLOP/s against."""
    import tensorflow as tf

    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    matmul().numpy()
    best = min(_timed(lambda: matmul().numpy()) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _timed_runs(run, repeats):
    """Runs `run()` `repeats` times; the machine may be shared, so each run records the cores
    this process used and the cores other processes used. Returns `(times, cpu_per_wall,
    other_cpu_per_wall or None, the last run's result)`; a run's result is dropped before the
    next starts (two frames' outputs never coexist)."""
    times, cpu_per_wall, other_cpu, result = [], [], [], None
    for _ in range(repeats):
        result = None
        (own, machine), start = _cpu_seconds(), time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
        own_end, machine_end = _cpu_seconds()
        cpu_per_wall.append((own_end - own) / times[-1])
        if machine is not None:
            other_cpu.append(max(0.0, (machine_end - machine) - (own_end - own)) / times[-1])
    return times, cpu_per_wall, other_cpu or None, result


def run_litert(args, name, output_path):
    """Times one LiteRT configuration end to end: DNG decode to JPEG written (as `lsid
    enhance`); ms per tile from single-tile calls. Saves the output as float16."""
    from lsid_keras.enhance import enhance_file
    from lsid_keras.image_io import write_image

    kind, _ = CONFIGS[name]
    start = time.perf_counter()
    enhancer = PREDICTORS[kind](args, None)
    tile = enhancer.fixed_tile
    probe = np.zeros((1, tile, tile, PACKED_CHANNELS), np.float32)
    halves = enhancer.encoder_decoder
    if halves is not None:  # GIA / SE: the encoder, then the decoder with the tile's average

        def predict_tile(batch):
            kept = halves.encode(batch)
            mean = np.mean(halves.bottleneck_values(kept[-1]), axis=(1, 2), keepdims=True)
            return halves.decode(kept, mean)
    else:
        predict_tile = enhancer.predict
    predict_tile(probe)
    warmup_s = time.perf_counter() - start
    tile_ms = sorted(1000 * _timed(lambda: predict_tile(probe)) for _ in range(3))[1]
    dng = os.path.join(args.workdir, FRAME_DNG)
    jpeg = os.path.join(args.workdir, f"{name}.jpg")
    fused = []

    def run():
        result = enhance_file(enhancer, dng, ratio=RATIO, fusion=args.fusion)
        fused.append(result.fusion)
        write_image(jpeg, result.rgb)

    times, cpu_per_wall, other_cpu, _ = _timed_runs(run, args.repeats)
    # Timed as `lsid enhance` runs (as-shot colour); compared with Keras in the network's own
    # colour, so the error is the export's alone (one more, untimed run).
    peak = peak_rss_mib()
    result = enhance_file(enhancer, dng, ratio=RATIO, colour="network", auto_bright=False)
    np.save(output_path, result.rgb.astype(np.float16))
    return {"peak_rss_mib": peak, "seconds": min(times),
            "median_seconds": statistics.median(times), "times": times,
            "cpu_per_wall": cpu_per_wall, "other_cpu_per_wall": other_cpu,
            "warmup_s": warmup_s, "predictor": kind, "mode": "tiled",
            "end_to_end": "RAW decode to JPEG written", "tile": tile,
            "halo": enhancer.halo, "ms_per_tile": tile_ms,
            "tflite_bytes": os.path.getsize(enhancer.source),
            "litert_threads": (enhancer.predict or enhancer.encoder_decoder).num_threads,
            "fusion": fused[-1],
            "output_std": float(result.rgb.std()), "output_shape": list(result.rgb.shape)}


def run_lsid(args, name, output_path):
    """Times one `lsid enhance --precision ...` configuration end to end as the command runs
    it: `load_enhancer` at that precision, then per file `enhance_file` (DNG decode, tiled
    network, as-shot colour) and `write_enhanced` (a JPEG). "first_file_s" is the model load
    plus the first file (tracing included), what one `lsid enhance` call costs past its
    imports; "seconds" the fastest of `--repeats` files after it. Saves the output in the
    network's colour as float16 (one more, untimed run)."""
    from lsid_keras.enhance import enhance_file, tiling_for, write_enhanced
    from lsid_keras.precision import choose_precision

    kind, _ = CONFIGS[name]
    dng = os.path.join(args.workdir, FRAME_DNG)
    jpeg = os.path.join(args.workdir, f"{name}.jpg")
    start = time.perf_counter()
    # TensorFlow (about 0.5 GB) is imported only where the choice runs Keras, as in `lsid
    # enhance`: a LiteRT run's peak memory is the command's.
    choice = choose_precision(kind.removeprefix("lsid_"), os.path.join(args.workdir, MODEL_FILE))
    runs_keras = not choice.model_file.endswith(".tflite")
    threads = _configure_threads(args.threads) if runs_keras else {"litert_threads": args.threads}
    enhancer = PREDICTORS[kind](args, None)
    load_s = time.perf_counter() - start

    def run():
        result = enhance_file(enhancer, dng, ratio=RATIO, halo=args.halo, fusion=args.fusion)
        write_enhanced(jpeg, result)
        return result

    fusion = run().fusion
    first_file_s = time.perf_counter() - start
    times, cpu_per_wall, other_cpu, _ = _timed_runs(run, args.repeats)
    peak = peak_rss_mib()
    result = enhance_file(enhancer, dng, ratio=RATIO, halo=args.halo, colour="network",
                          auto_bright=False)
    np.save(output_path, result.rgb.astype(np.float16))
    choice = enhancer.precision_choice
    return {"peak_rss_mib": peak, "seconds": min(times),
            "median_seconds": statistics.median(times), "times": times,
            "cpu_per_wall": cpu_per_wall, "other_cpu_per_wall": other_cpu,
            "warmup_s": first_file_s, "load_s": load_s, "first_file_s": first_file_s,
            "predictor": kind, "mode": ENHANCE,
            "end_to_end": "RAW decode to JPEG written", "precision": choice.precision,
            "precision_reason": choice.reason, "precision_warning": choice.warning,
            "model_file": os.path.basename(choice.model_file),
            "tile": tiling_for(enhancer, (args.frame[0] // BLOCK, args.frame[1] // BLOCK),
                               None, args.halo)[0], "halo": args.halo,
            "fusion": fusion,
            "output_std": float(result.rgb.std()), "output_shape": list(result.rgb.shape),
            **threads}


def run_config(args, name, output_path):
    """Times one configuration on the frame; saves its output as float16 to `output_path`."""
    if CONFIGS[name][0].startswith("litert_"):
        return run_litert(args, name, output_path)
    if CONFIGS[name][0].startswith("lsid_"):
        return run_lsid(args, name, output_path)
    threads = _configure_threads(args.threads)
    from lsid_keras.tiling import run_tiled, run_tiled_split, run_untiled

    kind, mode = CONFIGS[name]
    packed = frame_packed(args.workdir)
    predict = PREDICTORS[kind](args, packed)
    if mode == "tiled":
        halves = getattr(predict, "encoder_decoder", None)

        def run():
            if halves:  # GIA / SE: one encoder pass, the frame's average, the decoders
                return run_tiled_split(halves.encode, halves.decode, packed, tile=args.tile,
                                       halo=args.halo, block=BLOCK)
            return run_tiled(predict, packed, tile=args.tile, halo=args.halo, block=BLOCK)

        start = time.perf_counter()
        predict(np.zeros((1, args.tile, args.tile, PACKED_CHANNELS), np.float32))
    else:
        def run():
            return run_untiled(predict, packed, block=BLOCK, halo=args.halo)

        start = time.perf_counter()
        run()
    warmup_s = time.perf_counter() - start
    # The fastest run is reported.
    times, cpu_per_wall, other_cpu, output = _timed_runs(run, args.repeats)
    result = {"peak_rss_mib": peak_rss_mib(), "seconds": min(times),
              "median_seconds": statistics.median(times), "times": times,
              "cpu_per_wall": cpu_per_wall, "other_cpu_per_wall": other_cpu,
              "warmup_s": warmup_s, "predictor": kind, "mode": mode,
              "output_std": float(output.std()), "output_shape": list(output.shape),
              **threads}
    np.save(output_path, output.astype(np.float16))
    return result


def child_main(args):
    """Runs `args.child` and writes its result JSON into `args.workdir`; failures are results."""
    name = args.child
    result_path = os.path.join(args.workdir, f"{name}.json")
    if args.keep_freed_memory:
        from lsid_keras.allocator import keep_freed_memory

        keep_freed_memory()
    try:
        if name == BASELINE:
            result = run_baseline(args)
        elif name == EXPORT:
            result = export_models(args, export_precisions(args.configs))
        else:
            result = run_config(args, name, os.path.join(args.workdir, f"{name}.npy"))
        result["status"] = "ok"
    except Exception as err:  # e.g. ResourceExhaustedError on a whole frame
        result = {"status": "failed", "reason": f"{type(err).__name__}: {err}"[:2000],
                  "peak_rss_mib": peak_rss_mib()}
    with open(result_path, "w", encoding="utf-8") as file:
        json.dump(result, file)
    return 0 if result["status"] == "ok" else 1


# --- the parent: one subprocess per configuration, then the comparisons ------------------

def _limit_child(memory_limit_gib):
    """`preexec_fn` of the children: make them the OOM killer's first choice (other work may
    share the machine) and cap their address space, so a whole frame that does not fit fails
    inside the child instead of taking the machine down."""
    def limit():
        try:
            with open("/proc/self/oom_score_adj", "w") as file:
                file.write("1000")
        except OSError:
            pass
        if memory_limit_gib:
            size = int(memory_limit_gib * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (size, size))
    return limit


def run_child(argv, name, workdir, args):
    """Runs one child; returns its result dict, or a failure with the reason."""
    command = [sys.executable, os.path.abspath(__file__), *argv,
               "--child", name, "--workdir", workdir]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    log_path = os.path.join(workdir, f"{name}.log")
    start = time.perf_counter()
    with open(log_path, "w") as log:
        try:
            process = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                     timeout=args.timeout,
                                     preexec_fn=_limit_child(args.memory_limit_gib))
            code = process.returncode
        except subprocess.TimeoutExpired:
            code = None
    wall = time.perf_counter() - start
    result_path = os.path.join(workdir, f"{name}.json")
    if os.path.exists(result_path):
        with open(result_path, encoding="utf-8") as file:
            result = json.load(file)
    else:
        if code is None:
            reason = f"timed out after {args.timeout} s"
        elif code < 0:
            reason = f"killed by signal {-code}" + (" (out of memory?)" if -code == 9 else "")
        else:
            reason = f"exit code {code}"
        with open(log_path, errors="replace") as file:
            tail = [line.strip() for line in file.read().splitlines() if line.strip()][-3:]
        result = {"status": "failed", "reason": " | ".join([reason, *tail])[:2000]}
    result["process_wall_s"] = wall
    return result


def output_error(path, reference_path, clip=False):
    """Max and mean absolute difference of two saved outputs, in [0, 1] units (`clip`: of
    both clipped to [0, 1], for outputs `lsid enhance` already clipped), and the PSNR (dB,
    peak 1) of the output against the reference, both clipped to [0, 1]."""
    output, reference = np.load(path), np.load(reference_path)
    if clip:
        output, reference = np.clip(output, 0, 1), np.clip(reference, 0, 1)
    error = np.abs(output.astype(np.float32) - reference.astype(np.float32))
    clipped = np.clip(output.astype(np.float64), 0, 1) - np.clip(reference.astype(np.float64),
                                                               0, 1)
    mse = float(np.mean(clipped**2))
    return {"max_abs": float(error.max()), "mean_abs": float(error.mean()),
            "max_levels": float(error.max() * 255), "mean_levels": float(error.mean() * 255),
            "psnr_db": 100.0 if mse == 0 else min(100.0, float(10 * np.log10(1 / mse)))}


def machine_info():
    from lsid_keras.machine import cpu_features

    info = {"cpu_count": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)),
            "cpu_features": cpu_features(),
            "python": platform.python_version(), "platform": platform.platform()}
    for package in ("tensorflow", "keras"):
        try:
            info[f"{package}_version"] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            info[f"{package}_version"] = None
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as file:
            info["mem_total_gib"] = int(file.readline().split()[1]) / 2**20
    except OSError:
        pass
    return info


def _ratio(results, numerator, denominator, key):
    a, b = results.get(numerator, {}), results.get(denominator, {})
    if a.get("status") != "ok" or b.get("status") != "ok":
        return None
    return a[key] / b[key]


def compare(results, baseline_mib):
    """Side-by-side ratios of the configurations measured in this run."""
    ratios = {}
    for kind in PREDICTORS:
        if len(_modes(kind)) < 2:
            continue
        tiled, untiled = config_name(kind, "tiled"), config_name(kind, "untiled")
        ratios[f"{tiled}/{untiled}_seconds"] = _ratio(results, tiled, untiled, "seconds")
        ratios[f"{tiled}/{untiled}_peak_rss"] = _ratio(results, tiled, untiled, "peak_rss_mib")
        if baseline_mib is not None and ratios[f"{tiled}/{untiled}_peak_rss"] is not None:
            ratios[f"{tiled}/{untiled}_rss_above_baseline"] = (
                (results[tiled]["peak_rss_mib"] - baseline_mib)
                / (results[untiled]["peak_rss_mib"] - baseline_mib))
    for kind in PREDICTORS:
        if kind == REFERENCE_PREDICTOR:
            continue
        for mode in _modes(kind):
            name, reference = config_name(kind, mode), config_name(REFERENCE_PREDICTOR, mode)
            if mode == ENHANCE:
                reference = LSID_REFERENCE
            if name != reference:
                ratios[f"{name}/{reference}_seconds"] = _ratio(results, name, reference,
                                                               "seconds")
    return {key: value for key, value in ratios.items() if value is not None}


def _best_run_others(row):
    """Cores other processes used during a config's fastest run; 0 if unknown or if the run
    is too short for /proc/stat's 10 ms ticks to tell."""
    others = row.get("other_cpu_per_wall")
    if not others or row["seconds"] < 1.0:
        return 0.0
    return others[row["times"].index(row["seconds"])]


def print_report(report):
    frame, results = report["frame"], report["results"]
    info = report["machine"]
    model = (f"{report['weights']} (trained)" if report.get("weights") else
             f"{report['model']} width {report['width']}")
    print(f"\n{model}, frame {frame[0]}x{frame[1]} RAW "
          f"({frame[0] // BLOCK}x{frame[1] // BLOCK}x{PACKED_CHANNELS} packed), tile "
          f"{report['tile']} halo {report['halo']} ({report['tiles']} tiles, "
          f"{report['tiled_pixel_ratio']:.2f}x the frame's pixels), {report['threads']} "
          f"threads, {info['cpu_count']} cpus, TF {info['tensorflow_version']}")
    print(f"{'config':<20} {'best s':>7} {'median':>7} {'warm-up':>7} {'cpu/wall':>8} "
          f"{'others':>6} {'peak MiB':>8} {'MP/s':>6} {'GMAC/s':>6} {'max err':>8} {'mean err':>8} "
          f"{'max lvl':>7}")
    for name, row in results.items():
        if row.get("status") != "ok":
            print(f"{name:<20} FAILED: {row.get('reason')}")
            continue
        if name == EXPORT:
            print(f"{name:<20} {row['seconds']:7.2f} {'':>7} {'':>7} {'':>8} {'':>6} "
                  f"{row['peak_rss_mib']:8.0f}   (convert to .tflite, tile {row['tile']})")
            continue
        if name == BASELINE:
            print(f"{name:<20} {'':>7} {'':>7} {'':>7} {'':>8} {'':>6} "
                  f"{row['peak_rss_mib']:8.0f}   "
                  f"(import TF + build the model, {row['params']:,} params)")
            continue
        error = row.get("error_vs_fp32")
        errors = (f"{error['max_abs']:8.1e} {error['mean_abs']:8.1e} {error['max_levels']:7.2f}"
                  if error else f"{'-':>8} {'-':>8} {'-':>7}")
        best = row["times"].index(row["seconds"])
        others = (row["other_cpu_per_wall"] or [float("nan")] * len(row["times"]))[best]
        print(f"{name:<20} {row['seconds']:7.2f} {row['median_seconds']:7.2f} "
              f"{row['warmup_s']:7.2f} {row['cpu_per_wall'][best]:8.2f} {others:6.2f} "
              f"{row['peak_rss_mib']:8.0f} {row['megapixels_per_s']:6.3f} "
              f"{row.get('gmacs_per_s', float('nan')):6.1f} {errors}")
    contended = [name for name, row in results.items() if row.get("status") == "ok"
                 and name != BASELINE and _best_run_others(row) > CONTENDED_CPU]
    if contended:
        print(f"warning: other processes used more than {CONTENDED_CPU} cores during the "
              f"fastest run of {', '.join(contended)}; their times are pessimistic")
    litert = [(n, r) for n, r in results.items() if r.get("status") == "ok"
              and r.get("predictor", "").startswith("litert_")]
    if litert:
        print(f"LiteRT, tile {report['litert_tile']} ({report['litert_tiles']} tiles), end to "
              f"end RAW decode -> JPEG: {'config':<22} {'MB':>6} {'ms/tile':>8} {'s':>6} "
              f"{'MP/s':>6} {'peak MiB':>8} {'GFLOP/s':>7} {'of peak':>7} {'PSNR dB':>7}")
        for name, row in litert:
            psnr = row.get("error_vs_fp32", {}).get("psnr_db", float("nan"))
            print(f"{'':<62}{name:<22} {row['tflite_bytes'] / 1e6:6.2f} "
                  f"{row['ms_per_tile']:8.1f} {row['seconds']:6.2f} "
                  f"{row['megapixels_per_s']:6.2f} {row['peak_rss_mib']:8.0f} "
                  f"{row.get('gflops_per_s', float('nan')):7.1f} "
                  f"{row.get('fraction_of_matmul_peak', float('nan')):7.2f} {psnr:7.2f}")
    lsid = [(n, r) for n, r in results.items() if r.get("status") == "ok"
            and r.get("mode") == ENHANCE]
    if lsid:
        print(f"lsid enhance end to end (RAW decode -> JPEG written), CPU: "
              f"{' '.join(info.get('cpu_features') or []) or 'no SIMD features reported'}")
        print(f"{'config':<22} {'runs':>5} {'first s':>7} {'best s':>7} {'median':>7} "
              f"{'MP/s':>6} {'peak MiB':>8} {'PSNR dB':>7}  why")
        for name, row in lsid:
            psnr = row.get("error_vs_fp32", {}).get("psnr_db", float("nan"))
            print(f"{name:<22} {row['precision']:>5} {row['first_file_s']:7.2f} "
                  f"{row['seconds']:7.2f} {row['median_seconds']:7.2f} "
                  f"{row['megapixels_per_s']:6.3f} {row['peak_rss_mib']:8.0f} {psnr:7.2f}  "
                  f"{row['precision_reason']}")
    for key, value in report["ratios"].items():
        print(f"{key:<60} {value:6.3f}")
    if report.get("tiling_error_fp32"):
        error = report["tiling_error_fp32"]
        print(f"tiled vs untiled fp32 output: max {error['max_abs']:.2e} "
              f"({error['max_levels']:.3f} 8-bit levels), mean {error['mean_abs']:.2e}")


def _frame(text):
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"frame must be HxW, e.g. 2848x4256. Received: "
                                         f"{text!r}") from None
    if height < 32 or width < 32 or height % 32 or width % 32:
        raise argparse.ArgumentTypeError(f"frame sides must be positive multiples of 32. "
                                         f"Received: {text!r}")
    return height, width


def _configs(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(CONFIGS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown configs {unknown}; choose from "
                                         f"{', '.join(CONFIGS)}")
    return names


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sid", choices=("sid", "gia_net"))
    parser.add_argument("--frame", type=_frame, default=(2848, 4256),
                        help="RAW frame HxW, multiples of 32 (default: Sony, 2848x4256)")
    parser.add_argument("--width", type=int, default=32, help="model width (32: the papers')")
    parser.add_argument("--weights", help="a trained .keras Bayer model to run instead of the "
                        "random-init --model/--width (errors are then on trained weights)")
    parser.add_argument("--tile", type=int, default=512,
                        help="Keras tile side, packed pixels")
    parser.add_argument("--litert-tile", type=int, default=None,
                        help="fixed tile of the LiteRT exports (default: fitted to the frame, "
                        "912 for a Sony frame at the default halo)")
    parser.add_argument("--calibration-tiles", type=int, default=16,
                        help="int8 calibration tiles drawn from the frame")
    parser.add_argument("--halo", type=int, default=DEFAULT_HALO,
                        help="tile halo, packed pixels (default: lsid enhance's, %(default)s)")
    parser.add_argument("--configs", type=_configs, default=list(DEFAULT_CONFIGS),
                        help=f"comma list of {', '.join(CONFIGS)} (default: all)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs per config after warm-up; the fastest is reported "
                        "(the machine may be shared; the JSON keeps every time)")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow intra-op threads")
    parser.add_argument("--no-fusion", dest="fusion", action="store_false",
                        help="end-to-end configurations without `lsid enhance`'s fusion with "
                        "the traditional rendering (by default it runs where its gate opens; "
                        "the JSON's `fusion` is null where it did not)")
    parser.add_argument("--output-std", type=float, default=0.25,
                        help="scale the last conv so the output has this std, as a trained "
                        "model's sRGB would (0: leave the random init)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory-limit-gib", type=float, default=20.0,
                        help="address-space limit of each child (0: none)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per child")
    parser.add_argument("--out", default="bench_inference.json", help="JSON output file")
    parser.add_argument("--glibc-default", dest="keep_freed_memory", action="store_false",
                        help="run every child with glibc malloc's default instead of keeping "
                             "freed memory (lsid_keras.allocator) as lsid enhance does")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1. Received: {args.repeats}")
    from lsid_keras.tiling import fit_tile, tile_plan

    packed_h, packed_w = args.frame[0] // BLOCK, args.frame[1] // BLOCK
    if args.litert_tile is None:  # as `lsid export` sizes it by default: 912 for a Sony frame
        args.litert_tile = fit_tile(packed_h, packed_w, args.halo)
    if args.child is None:
        try:
            tile_plan(packed_h, packed_w, args.tile, args.halo)
            tile_plan(packed_h, packed_w, args.litert_tile, args.halo)
        except ValueError as err:
            parser.error(str(err))
    return args


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.child:
        return child_main(args)
    from lsid_keras.atomic import write_json_atomic
    from lsid_keras.tiling import tile_plan

    started = time.perf_counter()
    packed_h, packed_w = args.frame[0] // BLOCK, args.frame[1] // BLOCK
    plan = tile_plan(packed_h, packed_w, args.tile, args.halo)
    megapixels = args.frame[0] * args.frame[1] / 1e6
    litert_plan = tile_plan(packed_h, packed_w, args.litert_tile, args.halo)
    wants_export = any(_needs_export(CONFIGS[c][0]) for c in args.configs)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench_inference-") as workdir:
        write_frame_dng(os.path.join(workdir, FRAME_DNG),
                        synthetic_packed(packed_h, packed_w, seed=args.seed))
        for name in [BASELINE, *([EXPORT] if wants_export else []), *args.configs]:
            print(f"running {name} ...", flush=True)
            row = results[name] = run_child(argv, name, workdir, args)
            if row["status"] != "ok":
                print(f"  failed: {row['reason']}")
                continue
            if name in (BASELINE, EXPORT):
                print(f"  peak {row['peak_rss_mib']:.0f} MiB")
                continue
            row["megapixels_per_s"] = megapixels / row["seconds"]
            baseline = results[BASELINE]
            if row["mode"] == ENHANCE:  # decode, colour and writing included: no GMAC/s
                print(f"  {row['precision_reason']}")
            elif baseline["status"] == "ok":
                litert = row["predictor"].startswith("litert_")
                gmacs = (baseline["frame_gmacs"] if row["mode"] == "untiled"
                         else baseline["litert_tile_gmacs"] * len(litert_plan) if litert
                         else baseline["tile_gmacs"] * len(plan))
                row["gmacs_per_s"] = gmacs / row["seconds"]
                row["gflops_per_s"] = 2 * row["gmacs_per_s"]
                row["fraction_of_matmul_peak"] = row["gflops_per_s"] / baseline["matmul_gflops"]
                if litert:
                    row["tile_gflops_per_s"] = (2 * baseline["litert_tile_gmacs"]
                                                / (row["ms_per_tile"] / 1000))
            print(f"  {', '.join(f'{t:.2f}' for t in row['times'])} s (warm-up "
                  f"{row['warmup_s']:.2f} s), peak {row['peak_rss_mib']:.0f} MiB")
        for name, row in results.items():
            if row["status"] != "ok" or name in (BASELINE, EXPORT):
                continue
            reference = config_name(REFERENCE_PREDICTOR, row["mode"])
            if row["mode"] == ENHANCE:  # against `lsid enhance` at fp32, the same path
                reference = LSID_REFERENCE
                if name == LSID_REFERENCE:  # itself against the untiled Keras answer
                    reference = config_name(REFERENCE_PREDICTOR, "untiled")
            elif row["predictor"].startswith("litert_"):  # against the untiled fp32 answer
                untiled_reference = config_name(REFERENCE_PREDICTOR, "untiled")
                if results.get(untiled_reference, {}).get("status") == "ok":
                    reference = untiled_reference
            if row["predictor"] != REFERENCE_PREDICTOR and \
                    results.get(reference, {}).get("status") == "ok":
                row["error_vs_fp32"] = output_error(
                    os.path.join(workdir, f"{name}.npy"),
                    os.path.join(workdir, f"{reference}.npy"),
                    clip=row["predictor"].startswith(("litert_", "lsid_")))
                row["error_reference"] = reference
        tiled, untiled = (config_name(REFERENCE_PREDICTOR, mode) for mode in MODES)
        tiling_error = None
        if all(results.get(n, {}).get("status") == "ok" for n in (tiled, untiled)):
            tiling_error = output_error(os.path.join(workdir, f"{tiled}.npy"),
                                        os.path.join(workdir, f"{untiled}.npy"))

    baseline = results[BASELINE]
    baseline_mib = baseline["peak_rss_mib"] if baseline["status"] == "ok" else None
    if baseline["status"] == "ok":
        print(f"fp32 matmul peak: {baseline['matmul_gflops']:.0f} GFLOP/s")
    report = {
        "model": args.model, "width": args.width, "weights": args.weights,
        "frame": list(args.frame),
        "packed": [packed_h, packed_w, PACKED_CHANNELS], "tile": args.tile, "halo": args.halo,
        "tiles": len(plan), "litert_tile": args.litert_tile, "litert_tiles": len(litert_plan),
        "tiled_pixel_ratio": len(plan) * args.tile**2 / (packed_h * packed_w),
        "repeats": args.repeats, "threads": args.threads, "output_std": args.output_std,
        "seed": args.seed, "error_storage": "float16 copies of both outputs",
        "allocator": ("freed memory kept (lsid_keras.allocator)" if args.keep_freed_memory
                      else "glibc default"),
        "machine": machine_info(), "results": results,
        "ratios": compare(results, baseline_mib), "tiling_error_fp32": tiling_error,
        "total_seconds": time.perf_counter() - started,
    }
    print_report(report)
    print(f"total {report['total_seconds']:.0f} s")
    write_json_atomic(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
