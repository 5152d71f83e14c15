import json
import runpy
import sys


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
    assert result["band_minus_interior_db"] == row["band_psnr"] - row["interior_psnr"]
    assert "difference" in capsys.readouterr().out


def test_bench_int8_conv_times_both_precisions_and_writes_json(tmp_path, monkeypatch, capsys):
    out = tmp_path / "int8.json"
    argv = ["bench_int8_conv.py", "--size", "16", "--channels", "8", "--rounds", "2",
            "--out", str(out)]
    run_script(monkeypatch, argv)
    result = json.loads(out.read_text())
    assert set(result["results"]) == {"fp32", "int8"}
    assert all(len(r["rounds_ms"]) == 2 and r["ms"] > 0 for r in result["results"].values())
    assert result["int8_speedup"] == result["results"]["fp32"]["ms"] / result["results"][
        "int8"]["ms"]
    assert "int8 speed-up over float32" in capsys.readouterr().out


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
