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
