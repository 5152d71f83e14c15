import json
import subprocess
import sys

import pytest

from lsid_keras.cli import main


def test_models_json_lists_every_preset_for_both_cameras(capsys):
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    from lsid_keras.models import PRESETS

    assert {(r["name"], r["camera"]) for r in rows} == {
        (n, c) for n in PRESETS for c in ("sony", "fuji")
    }
    by_key = {(r["name"], r["camera"]): r for r in rows}
    assert by_key["sid", "sony"]["params"] == 7_760_268
    assert by_key["sid", "fuji"]["params"] == 7_762_203
    assert by_key["sid", "sony"]["gflops"] == pytest.approx(1112.92, rel=0.01)
    ratio = by_key["gia_net", "sony"]["gflops"] / by_key["sid", "sony"]["gflops"]
    assert ratio == pytest.approx(1.008, abs=0.003)


def test_models_table_is_human_readable(capsys):
    assert main(["models", "--camera", "sony"]) == 0
    out = capsys.readouterr().out
    assert "7,760,268" in out and "gia_net" in out and "fuji" not in out.split("GFLOPs =")[0]


def test_unknown_subcommand_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["fly"])
    assert exc.value.code == 2


def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "lsid_keras", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.startswith("lsid-keras ")


def test_prepare_caches_a_list_and_resumes(tmp_path, capsys):
    from sid_fixtures import write_sid_dataset

    write_sid_dataset(tmp_path / "sid")
    argv = ["prepare", str(tmp_path / "sid"), "--list", "Sony_train_list.txt",
            "--cache", str(tmp_path / "cache"), "--workers", "1", "--quiet"]
    assert main(argv) == 0
    assert "4 pairs: 6 files decoded, 0 reused, 0 failed" in capsys.readouterr().out
    assert main(argv) == 0
    assert "0 files decoded, 6 reused" in capsys.readouterr().out
    assert (tmp_path / "cache" / "manifest.json").exists()


def test_prepare_reports_bad_input_in_one_line(tmp_path, capsys):
    from sid_fixtures import write_sid_dataset

    listing = write_sid_dataset(tmp_path / "sid")
    base = ["prepare", str(tmp_path / "sid"), "--cache", str(tmp_path / "c"), "--quiet"]
    assert main([*base, "--list", "nope.txt"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nope.txt: list file not found" in err

    listing.write_text(listing.read_text() + "./Sony/short/x.dng ./Sony/long/y.dng\n")
    assert main([*base, "--list", "Sony_train_list.txt"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Sony_train_list.txt:5: " in err and "x.dng" in err

    listing.write_text("\n".join(listing.read_text().splitlines()[:4]) + "\n")
    short = tmp_path / "sid/Sony/short/00002_01_0.04s.dng"
    short.write_bytes(b"\xff\xd8\xff\xe0 not a raw file")
    assert main([*base, "--list", "Sony_train_list.txt", "--workers", "1"]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "00002_01_0.04s.dng: " in captured.err
    assert "3 failed" not in captured.out and "1 failed" in captured.out


def test_synth_writes_a_dataset_prepare_can_cache(tmp_path, capsys):
    out = tmp_path / "synth"
    assert main(["synth", str(out), "--scenes", "3", "--size", "64x96", "--quiet"]) == 0
    assert "3 Sony scenes" in capsys.readouterr().out
    listing = next(p for p in out.glob("Sony_*_list.txt") if p.read_text().strip())
    argv = ["prepare", str(out), "--list", listing.name, "--cache", str(tmp_path / "c"),
            "--workers", "1", "--quiet"]
    assert main(argv) == 0


def test_synth_bad_input_is_one_line(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "o"), "--images", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "none" in err
    assert main(["synth", str(tmp_path / "o"), "--size", "50x50"]) == 2
    assert "50" in capsys.readouterr().err


def test_progress_off_a_terminal_is_whole_lines_not_redraws():
    import subprocess
    import sys

    code = ("import time\nfrom lsid_keras.progress import progress_bar\n"
            "for _ in progress_bar(range(400), desc='work'):\n    time.sleep(0.005)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    lines = result.stderr.splitlines()
    assert "\r" not in result.stderr and 1 <= len(lines) <= 3, result.stderr
    assert lines[-1].startswith("work: 100%")


def test_help_imports_no_tensorflow():
    # Every subcommand, read from the parser so a new one is covered; each in turn, so the
    # failure names the command whose --help pulled TensorFlow or Keras in.
    import subprocess
    import sys

    code = ("import argparse, contextlib, io, json, sys\n"
            "from lsid_keras.cli import build_parser, main\n"
            "sub = next(a for a in build_parser()._actions\n"
            "           if isinstance(a, argparse._SubParsersAction))\n"
            "report = {}\n"
            "for argv in [['--help']] + [[name, '--help'] for name in sub.choices]:\n"
            "    out = io.StringIO()\n"
            "    with contextlib.redirect_stdout(out):\n"
            "        try:\n            main(argv)\n        except SystemExit as exit:\n"
            "            code = exit.code\n"
            "    heavy = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
            "    report[' '.join(argv)] = [code, out.getvalue()[:40], heavy]\n"
            "print(json.dumps(report))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.splitlines()[-1])
    commands = {argv.split()[0] for argv in report} - {"--help"}
    assert {"quickstart", "models", "prepare", "synth", "photos", "evaluate", "enhance",
            "export", "train"} <= commands
    for argv, (code, usage, heavy) in report.items():
        name = "" if argv == "--help" else " " + argv.split()[0]
        assert code == 0 and usage.startswith(f"usage: lsid{name}"), (argv, code, usage)
        assert not heavy, f"lsid {argv} imported {heavy}"
