import json

from lsid_keras.cli import main
from lsid_keras.image_io import read_image
from lsid_keras.models import load_model


def test_quickstart_runs_end_to_end_on_a_tiny_budget(tmp_path, capsys):
    out = tmp_path / "qs"
    assert main(["quickstart", "--out", str(out), "--minutes", "0.05", "--scenes", "4",
                 "--quiet"]) == 0
    assert "held-out PSNR: network" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    for key in ("psnr_network", "psnr_shipped", "psnr_traditional", "ssim_network",
                "ssim_shipped", "ssim_traditional"):
        assert isinstance(report[key], float)
    assert set(report["by_ratio"]) == {"network", "shipped", "traditional"}
    assert report["shipped_model"]["test_photos_seen_in_its_training"] == []
    assert report["test_pairs"] > 0 and report["epochs"] >= 1
    assert load_model(out / "model.keras").input_shape[-1] == 4
    image = read_image(out / "side_by_side.png")
    assert image.shape == (256, 5 * 384 + 4 * 4, 3)  # input, ISP, network, shipped, truth


def test_quickstart_bad_budget_is_one_line(tmp_path, capsys):
    assert main(["quickstart", "--out", str(tmp_path), "--minutes", "0"]) == 2
    assert "minutes must be > 0" in capsys.readouterr().err
