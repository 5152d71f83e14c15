import json
import runpy
import sys

import numpy as np
import pytest


def run_script(monkeypatch, argv):
    """Runs `scripts/<argv[0]>` as `python scripts/... argv[1:]` does; fails on a non-zero
    exit status."""
    monkeypatch.setattr(sys, "argv", argv)
    try:
        runpy.run_path(f"scripts/{argv[0]}", run_name="__main__")
    except SystemExit as exit_:
        assert exit_.code in (0, None), exit_.code


def test_bench_data_runs_small_and_writes_json(tmp_path, monkeypatch, capsys):
    out = tmp_path / "bench.json"
    argv = ["bench_data.py", "--frame", "256x384", "--pairs", "2", "--repeats", "1",
            "--crop", "64", "--batches", "3", "--steps", "1", "--width", "2",
            "--workers", "1", "--out", str(out)]
    run_script(monkeypatch, argv)
    result = json.loads(out.read_text())
    for key in ("decode_rawpy_s", "decode_and_pack_s", "cache_files_per_s",
                "pipeline_crops_per_s", "train_step_s", "pipeline_vs_train_step"):
        assert result[key] > 0, key
    assert "crops/s" in capsys.readouterr().out


def test_bench_colour_times_the_finishing_pass_and_writes_json(tmp_path, monkeypatch, capsys):
    out = tmp_path / "colour.json"
    run_script(monkeypatch, ["bench_colour.py", "--size", "40", "60", "--repeats", "2",
                             "--out", str(out)])
    result = json.loads(out.read_text())
    assert set(result["results"]) == {"match_mean_colour", "finish_output"}
    assert all(len(row["times"]) == 2 and row["best_s"] > 0
               for row in result["results"].values())
    assert result["size"] == [40, 60] and isinstance(result["cpu_features"], list)
    assert "finish_output" in capsys.readouterr().out


def test_bench_cli_times_every_help_and_writes_json(tmp_path, monkeypatch, capsys):
    out = tmp_path / "cli.json"
    run_script(monkeypatch, ["bench_cli.py", "--repeats", "1", "--out", str(out)])
    result = json.loads(out.read_text())
    assert "lsid train --help" in result and "lsid export --help" in result
    assert all(row["best_s"] > 0 for row in result.values())
    assert "median" in capsys.readouterr().out


def test_measure_edges_scores_the_border_band_and_the_interior(tmp_path, monkeypatch, capsys):
    from sid_fixtures import write_sid_dataset

    from lsid_keras.models import get_model

    write_sid_dataset(tmp_path / "sid", scenes=1)
    get_model("sid", width=2).save(tmp_path / "m.keras")
    out = tmp_path / "edges.json"
    run_script(monkeypatch, [
        "measure_edges.py", "--model", str(tmp_path / "m.keras"), "--data", str(tmp_path / "sid"),
        "--list", "Sony_train_list.txt", "--band", "8", "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["pairs"] == 1 and result["band_px"] == 8  # the _00 pair only
    row = result["rows"][0]
    assert np.isfinite(row["band_psnr"]) and np.isfinite(row["interior_psnr"])
    assert "difference" in capsys.readouterr().out


def test_measure_edges_on_outputs_off_by_known_levels(tmp_path, monkeypatch):
    # Outputs off a black ground truth by 2 (scene 1) and 4 (scene 2) 8-bit levels in the
    # 8-pixel band and 1 level inside: PSNR 20 log10(255 / k), so the band scores 42.110 and
    # 36.090 dB (mean 39.100), the interior 48.131 dB, and the band is 30 log10(2) = 9.031 dB
    # worse.
    from sid_fixtures import write_sid_dataset

    import lsid_keras.enhance
    import lsid_keras.raw
    import lsid_keras.raw.develop

    write_sid_dataset(tmp_path / "sid", scenes=2)

    def output(path):
        image = np.full((64, 96, 3), 1 / 255, np.float32)
        levels = 2 if "00001_" in str(path) else 4
        image[:8], image[-8:], image[:, :8], image[:, -8:] = (levels / 255,) * 4
        return image

    monkeypatch.setattr(lsid_keras.enhance, "load_enhancer", lambda path: None)
    monkeypatch.setattr(lsid_keras.raw, "read_raw", lambda path: path)
    monkeypatch.setattr(lsid_keras.enhance, "network_input",
                        lambda enhancer, frame, ratio: (frame, ratio, None))
    monkeypatch.setattr(lsid_keras.enhance, "enhance_packed",
                        lambda enhancer, frame, tile: output(frame))
    monkeypatch.setattr(lsid_keras.raw.develop, "develop",
                        lambda path, **kwargs: np.zeros((64, 96, 3), np.uint16))
    out = tmp_path / "edges.json"
    run_script(monkeypatch, [
        "measure_edges.py", "--model", "stub.keras", "--data", str(tmp_path / "sid"),
        "--list", "Sony_train_list.txt", "--band", "8", "--out", str(out)])
    result = json.loads(out.read_text())
    assert [row["band_psnr"] for row in result["rows"]] == pytest.approx([42.1102, 36.0896],
                                                                         abs=1e-4)
    assert [row["interior_psnr"] for row in result["rows"]] == pytest.approx([48.1308] * 2,
                                                                             abs=1e-4)
    assert result["band_psnr"] == pytest.approx(39.0999, abs=1e-4)
    assert result["band_minus_interior_db"] == pytest.approx(-30 * np.log10(2), abs=1e-5)


def test_bench_int8_conv_times_both_precisions_and_writes_json(tmp_path, monkeypatch, capsys):
    out = tmp_path / "int8.json"
    argv = ["bench_int8_conv.py", "--size", "16", "--channels", "8", "--rounds", "2",
            "--out", str(out)]
    run_script(monkeypatch, argv)
    result = json.loads(out.read_text())
    assert set(result["results"]) == {"fp32", "int8"}
    assert all(len(r["rounds_ms"]) == 2 and r["ms"] > 0 for r in result["results"].values())
    assert result["int8_speedup"] > 0
    assert "int8 speed-up over float32" in capsys.readouterr().out


def test_bench_int8_conv_figures_from_known_timings(tmp_path, monkeypatch, capsys):
    # Invocations timed (in run order: fp32, int8, fp32, int8) 1/4, 1/8, 3/16 and 1/16 s, exact
    # in binary: best fp32 187.5 ms, best int8 62.5 ms, a 3x speed-up. Two 3x3 convolutions
    # of 8 channels over 16 x 16 pixels are 2 x 16 * 16 * 9 * 8 * 8 multiply-adds, 589,824
    # operations, so fp32 runs at 589824 / 0.1875 s = 3.145728 MOP/s.
    import importlib.util
    from types import SimpleNamespace

    import ai_edge_litert.interpreter

    spec = importlib.util.spec_from_file_location("bench_int8_conv", "scripts/bench_int8_conv.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    clock = iter(np.cumsum([0.0, 0.25, 0.0, 0.125, 0.0, 0.1875, 0.0, 0.0625]))

    class Interpreter:
        def __init__(self, model_content, num_threads):
            pass

        def allocate_tensors(self):
            pass

        def get_input_details(self):
            return [{"index": 0, "shape": (1, 16, 16, 8), "dtype": np.float32}]

        def set_tensor(self, index, value):
            pass

        def invoke(self):
            pass

    monkeypatch.setattr(ai_edge_litert.interpreter, "Interpreter", Interpreter)
    monkeypatch.setattr(script, "convert", lambda size, channels, quantization, workdir: b"")
    monkeypatch.setattr(script, "time", SimpleNamespace(perf_counter=lambda: next(clock)))
    out = tmp_path / "int8.json"
    assert script.main(["--size", "16", "--channels", "8", "--rounds", "2",
                        "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    fp32, int8 = result["results"]["fp32"], result["results"]["int8"]
    assert fp32["rounds_ms"] == [250.0, 187.5] and int8["rounds_ms"] == [125.0, 62.5]
    assert (fp32["ms"], int8["ms"], result["int8_speedup"]) == (187.5, 62.5, 3.0)
    assert result["gop"] == pytest.approx(589824e-9, rel=1e-12)
    assert fp32["gop_per_s"] == pytest.approx(0.003145728, rel=1e-12)
    assert int8["gop_per_s"] == pytest.approx(0.009437184, rel=1e-12)
    assert "int8 speed-up over float32: 3.00x" in capsys.readouterr().out


def test_measure_global_tiling_compares_the_three_ways(tmp_path, monkeypatch, capsys):
    from sid_fixtures import write_sid_dataset

    from lsid_keras.models import get_model

    listing = write_sid_dataset(tmp_path / "sid", scenes=1, shape=(128, 192))
    model = tmp_path / "gia.keras"
    get_model("gia_net", width=4).save(model)
    out = tmp_path / "global.json"
    argv = ["measure_global_tiling.py", "--model", str(model), "--data", str(tmp_path / "sid"),
            "--list", listing.name, "--tiles", "64", "--halo", "16", "--count", "1",
            "--out", str(out)]
    run_script(monkeypatch, argv)
    runs = json.loads(out.read_text())["runs"]
    assert set(runs) == {"whole", "frame_mean_64", "per_tile_64"}
    assert runs["whole"]["delta_db"] == 0 and runs["whole"]["max_diff_levels"] == 0
    assert runs["frame_mean_64"]["max_diff_levels"] < 1.0


def test_measure_generalisation_scores_cross_noise_and_real_files(tmp_path, monkeypatch,
                                                                   capsys):
    """The cross-noise set is made with the held-out noise at the five ratios, every method
    is scored per ratio, and a real-file row says whether the orientation agrees."""
    import numpy as np
    from PIL import Image

    from lsid_keras.data.synth import synthesize_dataset

    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        Image.fromarray((rng.random((64, 96, 3)) * 255).astype(np.uint8)).save(photos / name)
    # A bright, well exposed RAW with a colour matrix stands in for a camera file.
    summary = synthesize_dataset(tmp_path / "real", images=photos, scenes=1, size=(64, 96),
                                 splits=(0, 1, 0), content="photos", progress=False)
    raw = tmp_path / "real" / "Sony" / "long" / "10001_00_10s.dng"
    assert summary["pairs"]["test"] == 3 and raw.exists()
    out = tmp_path / "g.json"
    run_script(monkeypatch, ["measure_generalisation.py", "--photos", str(photos),
                             "--scenes", "2", "--size", "64x96", "--work", str(tmp_path / "w"),
                             "--raw", str(raw), "--out", str(out)])
    result = json.loads(out.read_text())
    summary = result["cross_noise"]["summary"]
    assert set(summary) == {"fused", "as-shot", "network", "isp"}
    assert list(summary["isp"]) == ["all", "x4", "x20", "x100", "x250", "x300"]
    assert summary["isp"]["all"]["n"] == 10
    record = json.loads((tmp_path / "w" / "cross_noise" / "synth.json").read_text())
    assert record["datasets"]["Sony"]["parameters"]["noise_family"] == "held_out"
    (row,) = result["real_files"]
    assert row["orientation_agrees"] and row["detail_ratio"] > 0
    assert "cross-noise set" in capsys.readouterr().out


def test_bench_fusion_times_each_stage_on_a_clean_frame(tmp_path, monkeypatch, capsys):
    out = tmp_path / "fusion.json"
    run_script(monkeypatch, ["bench_fusion.py", "--size", "256", "384", "--repeats", "1",
                             "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["worth_fusing"] and result["weights"]["low"] > 0.9
    assert set(result["stages"]) == {"gate", "develop", "fuse", "fuse_1_thread"}
    stages = result["stages"]
    assert result["added_seconds"] == pytest.approx(
        stages["develop"]["seconds"] + stages["fuse"]["seconds"])
    assert result["threads"] >= 1 and result["threads_speedup"] == pytest.approx(
        stages["fuse_1_thread"]["seconds"] / stages["fuse"]["seconds"])
    assert "fusion adds" in capsys.readouterr().out


def test_tune_fusion_scores_each_candidate_per_ratio(tmp_path, monkeypatch, capsys):
    """The development set is made with the training noise family, and every grid candidate
    is scored at each ratio beside the network alone and the traditional pipeline."""
    import numpy as np
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(1)
    Image.fromarray((rng.random((64, 96, 3)) * 255).astype(np.uint8)).save(photos / "a.png")
    out = tmp_path / "t.json"
    run_script(monkeypatch, ["tune_fusion.py", "--photos", str(photos), "--scenes", "1",
                             "--size", "64x96", "--pairs-per-ratio", "1", "--clean-scenes", "1",
                             "--work", str(tmp_path / "dev"), "--out", str(out)])
    result = json.loads(out.read_text())
    record = json.loads((tmp_path / "dev" / "synth.json").read_text())
    assert record["datasets"]["Sony"]["parameters"]["noise_family"] == "wide"
    # The clean end: x1-x2 exposures at base ISO, scored in one row.
    clean = json.loads((tmp_path / "dev" / "clean" / "synth.json").read_text())
    assert clean["datasets"]["Sony"]["parameters"]["base_iso_share"] == 1.0
    assert sorted(result["mean_psnr"]) == ["clean", "x100", "x20", "x250", "x300", "x4"]
    row = result["mean_psnr"]["x4"]
    # the defaults and each setting that differs from them, by name
    assert {"as-shot", "isp", "default", "beta_top=1", "snr_top=40"} <= set(row)
    assert len(row) == 11
    assert result["mean_psnr"]["clean"].keys() == row.keys()
    assert all(np.isfinite(v) for v in row.values())
    printed = capsys.readouterr().out
    assert "| default |" in printed and "| x4 | clean | mean |" in printed


def test_orientation_check_and_detail_ratio_see_what_they_measure():
    import importlib.util

    import numpy as np

    spec = importlib.util.spec_from_file_location("g", "scripts/measure_generalisation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(1)
    image = np.clip(rng.random((60, 80, 3)) * 0.3 + np.linspace(0, 0.6, 80)[None, :, None],
                    0, 1)
    image[:30, :20] = 1.0  # something in one corner only
    assert module.orientation_agrees(image, image)
    assert not module.orientation_agrees(image[:, ::-1], image)
    assert not module.orientation_agrees(image[::-1], image)
    from scipy.ndimage import uniform_filter

    soft = uniform_filter(image, size=(5, 5, 1))
    assert module.detail(soft) < 0.5 * module.detail(image)


def test_bench_tile_shapes_times_each_shape_and_writes_json(tmp_path, monkeypatch, capsys):
    from lsid_keras.models import get_model

    get_model("gia_net", width=2).save(tmp_path / "gia.keras")
    out = tmp_path / "shapes.json"
    run_script(monkeypatch, ["bench_tile_shapes.py", "--weights", str(tmp_path / "gia.keras"),
                             "--shapes", "32x32:2", "32x48:1", "--repeats", "2", "--threads",
                             "1", "--out", str(out)])
    result = json.loads(out.read_text())
    assert [row["shape"] for row in result["results"]] == [[32, 32], [32, 48]]
    assert [row["pixels"] for row in result["results"]] == [2048, 1536]
    assert all(len(row["times"]) == 2 and row["best_s"] > 0 for row in result["results"])
    assert "1 x 32x48" in capsys.readouterr().out
