import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lsid_keras import machine

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_inference.py"
TINY = ["--frame", "128x192", "--width", "2", "--tile", "32", "--halo", "8", "--repeats", "1"]


def _load_script():
    spec = importlib.util.spec_from_file_location("bench_inference", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configs_come_from_predictor_kinds():
    bench = _load_script()
    assert list(bench.CONFIGS) == ["keras_tiled_fp32", "keras_untiled_fp32",
                                   "keras_tiled_bf16", "keras_untiled_bf16",
                                   "litert_tiled_fp32", "litert_tiled_fp16",
                                   "litert_tiled_dynamic", "litert_tiled_int8",
                                   "lsid_enhance_fp32", "lsid_enhance_bf16",
                                   "lsid_enhance_int8", "lsid_enhance_auto"]
    assert bench.CONFIGS["keras_untiled_bf16"] == ("keras_bf16", "untiled")
    assert bench.CONFIGS["lsid_enhance_auto"] == ("lsid_auto", "enhance")  # one path
    # `lsid enhance --precision int8 / auto` look for the int8 export beside the model.
    assert bench.export_precisions(["lsid_enhance_fp32"]) == []
    assert bench.export_precisions(["lsid_enhance_auto", "litert_tiled_fp16"]) == ["fp16",
                                                                                   "int8"]
    assert bench.CONFIGS["litert_tiled_int8"] == ("litert_int8", "tiled")  # fixed shape


@pytest.mark.parametrize("bad", [["--configs", "keras_tiled_int4"], ["--frame", "100x192"],
                                 ["--tile", "32", "--halo", "16"]])
def test_bad_options_exit_with_usage_error(bad, capsys):
    with pytest.raises(SystemExit) as exit_:
        _load_script().main([*TINY, *bad])
    assert exit_.value.code == 2
    assert "error" in capsys.readouterr().err


def test_runs_every_config_small_and_writes_json(tmp_path):
    # A subprocess, as users run it; the script starts one child per configuration.
    out = tmp_path / "bench.json"
    process = subprocess.run([sys.executable, str(SCRIPT), *TINY, "--out", str(out)],
                             capture_output=True, text=True, timeout=240)
    assert process.returncode == 0, process.stdout + process.stderr
    report = json.loads(out.read_text())
    results = report["results"]
    assert list(results) == ["baseline", "export", "keras_tiled_fp32", "keras_untiled_fp32",
                             "keras_tiled_bf16", "keras_untiled_bf16", "litert_tiled_fp32",
                             "litert_tiled_fp16", "litert_tiled_dynamic", "litert_tiled_int8",
                             "lsid_enhance_fp32", "lsid_enhance_bf16", "lsid_enhance_int8",
                             "lsid_enhance_auto"]
    assert all(row["status"] == "ok" for row in results.values()), results
    assert results["baseline"]["params"] > 0
    assert report["allocator"].startswith("freed memory kept")  # as `lsid enhance` runs
    for name in ("keras_tiled_fp32", "keras_untiled_fp32", "keras_tiled_bf16",
                 "keras_untiled_bf16"):
        row = results[name]
        assert row["seconds"] > 0 and row["megapixels_per_s"] > 0
        assert row["peak_rss_mib"] >= results["baseline"]["peak_rss_mib"] * 0.9
        assert row["output_shape"] == [128, 192, 3]
        assert row["intra_op_threads"] == 2
    for name in ("keras_tiled_bf16", "keras_untiled_bf16"):
        error = results[name]["error_vs_fp32"]
        # Same weights: bf16 differs from fp32 by rounding, not by a different net (the
        # output is calibrated to std 0.25).
        assert 0 < error["mean_abs"] < 0.02 and error["max_abs"] < 0.2
    assert "error_vs_fp32" not in results["keras_tiled_fp32"]
    assert report["tiling_error_fp32"]["max_abs"] < 0.1
    for key in ("keras_tiled_fp32/keras_untiled_fp32_seconds",
                "keras_tiled_fp32/keras_untiled_fp32_peak_rss",
                "keras_tiled_bf16/keras_tiled_fp32_seconds",
                "keras_untiled_bf16/keras_untiled_fp32_seconds"):
        assert report["ratios"][key] > 0, key
    assert results["baseline"]["matmul_gflops"] > 0
    sizes = {}
    for precision in ("fp32", "fp16", "dynamic", "int8"):
        row = results[f"litert_tiled_{precision}"]
        # End to end (DNG decode to JPEG) with the card's tile, against untiled Keras fp32.
        assert row["end_to_end"] == "RAW decode to JPEG written"
        assert row["tile"] == report["litert_tile"] and row["halo"] == 8
        assert row["ms_per_tile"] > 0 and row["gflops_per_s"] > 0
        assert 0 < row["fraction_of_matmul_peak"] < 10
        assert row["output_shape"] == [128, 192, 3] and row["litert_threads"] == 2
        assert row["error_reference"] == "keras_untiled_fp32"
        assert row["error_vs_fp32"]["psnr_db"] > (60 if precision == "fp32" else 30)
        sizes[precision] = row["tflite_bytes"]
    assert sizes["int8"] < sizes["fp16"] < sizes["fp32"]
    for precision in ("fp32", "bf16", "int8", "auto"):
        row = results[f"lsid_enhance_{precision}"]
        # `lsid enhance`'s path at each precision, end to end, the choice and its reason kept.
        assert row["end_to_end"] == "RAW decode to JPEG written"
        assert row["output_shape"] == [128, 192, 3] and row["seconds"] > 0
        assert row["first_file_s"] >= row["load_s"] > 0
        assert row["precision"] == (precision if precision != "auto" else row["precision"])
        assert row["precision_reason"]
    assert results["lsid_enhance_int8"]["model_file"] == "model_int8.tflite"
    assert results["lsid_enhance_int8"]["tile"] == report["litert_tile"]
    # The LiteRT run imports no TensorFlow (as `lsid enhance`): its peak is the command's.
    assert "intra_op_threads" not in results["lsid_enhance_int8"]
    assert results["lsid_enhance_int8"]["litert_threads"] == 2
    assert results["lsid_enhance_fp32"]["intra_op_threads"] == 2
    # auto picks by this machine's CPU (the int8 export is at hand); fp32 beside a GPU.
    auto = results["lsid_enhance_auto"]
    want = ("bf16" if machine.has_native_bfloat16() else
            "int8" if machine.has_int8_dot_product() else "fp32")
    assert auto["precision"] == want or auto["precision_reason"].startswith("fp32: a GPU")
    assert " ".join(machine.cpu_features()) in auto["precision_reason"] or want == "fp32"
    assert results["lsid_enhance_fp32"]["error_reference"] == "keras_untiled_fp32"
    assert results["lsid_enhance_bf16"]["error_reference"] == "lsid_enhance_fp32"
    assert results["lsid_enhance_bf16"]["error_vs_fp32"]["psnr_db"] > 30
    assert report["ratios"]["lsid_enhance_bf16/lsid_enhance_fp32_seconds"] > 0
    assert report["machine"]["cpu_features"] == machine.cpu_features()
    assert report["machine"]["cpu_count"] >= 1 and report["machine"]["tensorflow_version"]
    assert "keras_untiled_bf16" in process.stdout and "MP/s" in process.stdout


def test_failed_child_is_reported_not_raised(tmp_path, capsys):
    # An address-space limit too small to import TensorFlow makes every child fail fast.
    out = tmp_path / "bench.json"
    code = _load_script().main([*TINY, "--configs", "keras_untiled_fp32",
                                "--memory-limit-gib", "0.5", "--out", str(out)])
    assert code == 0
    results = json.loads(out.read_text())["results"]
    assert results["keras_untiled_fp32"]["status"] == "failed"
    assert results["keras_untiled_fp32"]["reason"]
    assert "FAILED" in capsys.readouterr().out


def test_a_global_model_runs_with_one_encoder_pass_in_keras_and_litert(tmp_path):
    """GIA-Net: the Keras tiled config and the LiteRT export (an encoder and a decoder file)
    both run `run_tiled_split`, and the export agrees with Keras."""
    out = tmp_path / "bench.json"
    process = subprocess.run(
        [sys.executable, str(SCRIPT), *TINY, "--model", "gia_net", "--configs",
         "keras_tiled_fp32,keras_untiled_fp32,litert_tiled_fp32", "--out", str(out)],
        capture_output=True, text=True, timeout=240)
    assert process.returncode == 0, process.stdout + process.stderr
    results = json.loads(out.read_text())["results"]
    assert all(row["status"] == "ok" for row in results.values()), results
    row = results["litert_tiled_fp32"]
    assert row["litert_threads"] == 2 and row["ms_per_tile"] > 0
    assert row["error_vs_fp32"]["psnr_db"] > 40
