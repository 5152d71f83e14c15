import json
import os

import numpy as np
import pytest
from raw_fixtures import XT2
from sid_fixtures import write_sid_dataset

from lsid_keras.amplification import TARGET_LEVEL
from lsid_keras.cli import main
from lsid_keras.enhance import enhance_file, estimate_ratio, load_enhancer
from lsid_keras.image_io import quantize, read_image
from lsid_keras.models import get_model
from lsid_keras.raw import write_dng
from lsid_keras.raw.develop import develop
from lsid_keras.tiling import run_untiled


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    listing = write_sid_dataset(root / "sid", scenes=2, shape=(64, 96))
    model = get_model("sid", width=2)
    model.save(root / "model.keras")
    return root, listing, str(root / "model.keras")


def _psnr_8bit(a, b):
    mse = np.mean((quantize(a, 8).astype(float) - quantize(b, 8).astype(float)) ** 2)
    return 10 * np.log10(255.0**2 / mse)


def test_network_evaluation_matches_a_hand_computed_psnr(data, tmp_path, capsys):
    root, listing, model = data
    out, saved = tmp_path / "eval", tmp_path / "png"
    argv = ["evaluate", "--model", model, "--data", str(root / "sid"), "--list", listing.name,
            "--out", str(out), "--save-outputs", str(saved), "--json", "--quiet", "--all-bursts"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n"] == 4 and summary["protocol"] == "all bursts"
    assert set(summary["by_ratio"]) == {"100", "250"}
    rows = open(out / "per_image.csv").read().splitlines()
    assert len(rows) == 5 and rows[0].startswith("short_path,")
    first = rows[1].split(",")
    output = read_image(saved / (os.path.splitext(os.path.basename(first[0]))[0] + ".png"))
    target = develop(first[1]).astype(np.float32) / 65535
    assert float(first[5]) == pytest.approx(_psnr_8bit(target, output), abs=1e-3)
    assert json.loads((out / "summary.json").read_text())["psnr"] == pytest.approx(
        summary["psnr"])


def test_traditional_pipeline_row_matches_a_hand_computation(data, tmp_path, capsys):
    root, listing, _ = data
    argv = ["evaluate", "--method", "isp", "--data", str(root / "sid"), "--list", str(listing),
            "--out", str(tmp_path), "--json", "--quiet"]
    assert main(argv) == 0  # by default SID's test protocol: the _00 frames only
    summary = json.loads(capsys.readouterr().out)
    assert summary["n"] == 2 and list(summary["by_ratio"]) == ["100"]
    assert summary["protocol"].startswith("SID test protocol")
    lines = open(tmp_path / "per_image.csv").read().splitlines()[1:]
    assert sorted(os.path.basename(line.split(",")[0]) for line in lines) == [
        "00001_00_0.1s.dng", "00002_00_0.1s.dng"]
    expected = []
    for line in lines:
        short, long = line.split(",")[:2]
        target = develop(long).astype(np.float32) / 65535
        output = develop(short, ratio=100).astype(np.float32) / 65535
        expected.append(_psnr_8bit(target, output))
    assert summary["psnr"] == pytest.approx(np.mean(expected), abs=1e-3)


def test_lpips_is_skipped_with_a_message_when_unavailable(data, tmp_path, capsys):
    root, listing, model = data
    argv = ["evaluate", "--method", "isp", "--data", str(root / "sid"), "--list", listing.name,
            "--out", str(tmp_path), "--lpips", "--quiet"]
    assert main(argv) == 0
    assert "LPIPS skipped" in capsys.readouterr().err


def test_enhance_writes_a_16_bit_image_of_the_full_frame(data, tmp_path, capsys):
    root, _, model = data
    raw = root / "sid/Sony/short/00001_00_0.1s.dng"
    out = tmp_path / "night.png"
    assert main(["enhance", str(raw), "--model", model, "-o", str(out), "--ratio", "100",
                 "--quiet"]) == 0
    assert "ratio x100.0 (given)" in capsys.readouterr().out
    image = read_image(out)
    assert image.shape == (64, 96, 3)
    assert main(["enhance", str(raw), str(raw.with_name("00001_01_0.04s.dng")), "--model", model,
                 "-o", str(tmp_path), "--contrast", "--quiet"]) == 0
    assert "(auto)" in capsys.readouterr().out
    assert (tmp_path / "00001_01_0.04s.png").exists()


def test_enhance_and_evaluate_keep_freed_memory_for_the_next_frame(data, tmp_path,
                                                                    monkeypatch):
    """`lsid enhance` and `lsid evaluate` (network) make `lsid_keras.allocator`'s setting
    once they load the model (0.1 s a 12 MP frame, docs/performance.md)."""
    import lsid_keras.allocator as allocator

    root, listing, model = data
    calls = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda: calls.append(1) or True)
    raw = root / "sid/Sony/short/00001_00_0.1s.dng"
    assert main(["enhance", str(raw), "--model", model, "-o", str(tmp_path / "a.png"),
                 "--ratio", "100", "--quiet"]) == 0
    assert calls == [1]
    assert main(["evaluate", "--model", model, "--data", str(root / "sid"), "--list",
                 listing.name, "--out", str(tmp_path / "ev"), "--quiet"]) == 0
    assert calls == [1, 1]


def test_auto_ratio_recovers_the_exposure_gap():
    # The rule itself is tested in test_amplification.py; enhance uses that one rule.
    packed = np.full((8, 8, 4), TARGET_LEVEL / 100, np.float32)
    assert estimate_ratio(packed) == pytest.approx(100)
    assert estimate_ratio(np.zeros((8, 8, 4))) == 300
    assert estimate_ratio(np.full((8, 8, 4), 0.9)) == 1


def test_tiled_enhancement_equals_untiled_inference(tmp_path):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:256, :384]
    clean = 0.3 + 0.2 * np.sin(yy / 9) * np.cos(xx / 13) + 0.02 * rng.random((256, 384))
    raw = tmp_path / "frame.dng"
    write_dng(raw, np.rint(512 + clean / 100 * 15871), "RGGB", 512, 16383)
    model = get_model("sid", width=4)
    model.save(tmp_path / "m.keras")
    enhancer = load_enhancer(tmp_path / "m.keras")
    # The network's colour: this compares tilings, not the as-shot colour after them.
    tiled = enhance_file(enhancer, raw, ratio=100, tile=64, halo=16, colour="network",
                         auto_bright=False).rgb
    from lsid_keras.enhance import network_input
    from lsid_keras.raw import read_raw

    # The input the network takes (the matrix-less frame mapped into the training camera).
    packed, _, _ = network_input(enhancer, read_raw(raw), 100)
    # The same padded frame as the tiles read (reflect by the halo on every side).
    untiled = np.clip(run_untiled(enhancer.predict, packed, block=2, halo=16), 0, 1)
    # halo 16 at tile 64: measured seam error of a random width-4 net well under 1/255
    assert np.abs(tiled - untiled).max() < 1 / 255


@pytest.mark.parametrize(
    "argv_tail, message",
    [
        (["--ratio", "0"], "ratio must be > 0"),
        (["--ratio", "-3"], "ratio must be > 0"),
        (["--tile", "100"], "tile size 100 is not a multiple of 16"),
        (["-o", "/nonexistent/dir/out.png"], "does not exist"),
        (["-o", "OUT.bmp"], "unknown image format"),
    ],
)
def test_enhance_bad_settings_are_one_line_and_write_nothing(data, tmp_path, capsys, argv_tail,
                                                             message):
    root, _, model = data
    raw = root / "sid/Sony/short/00001_00_0.1s.dng"
    argv = ["enhance", str(raw), "--model", model, "-o", str(tmp_path / "o.png"), "--quiet",
            *argv_tail]
    argv = [a.replace("OUT", str(tmp_path / "o")) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err
    assert list(tmp_path.iterdir()) == []


def test_wrong_model_for_the_file_is_one_line(data, tmp_path, capsys):
    _, _, model = data
    mosaic = np.full((96, 96), 2000, np.uint16)
    xtrans = write_dng(tmp_path / "fuji.dng", mosaic, XT2, 1024, 16383)
    assert main(["enhance", xtrans, "--model", model, "-o", str(tmp_path / "o.png"),
                 "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "X-Trans frame (9 packed channels) cannot go into this Bayer model" in err
    assert not (tmp_path / "o.png").exists()


def test_unreadable_model_and_missing_input_are_one_line(data, tmp_path, capsys):
    root, _, _ = data
    raw = str(root / "sid/Sony/short/00001_00_0.1s.dng")
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip")
    assert main(["enhance", raw, "--model", str(broken), "-o", str(tmp_path / "o.png")]) == 2
    assert "broken.keras: cannot load model" in capsys.readouterr().err
    assert main(["enhance", raw, "--model", str(tmp_path / "x.h5"), "-o",
                 str(tmp_path / "o.png")]) == 2
    assert "unsupported model format .h5" in capsys.readouterr().err
    assert main(["enhance", str(tmp_path / "none.dng"), "--model", str(broken), "-o",
                 str(tmp_path / "o.png")]) == 2
    assert "none.dng: file not found" in capsys.readouterr().err


def test_whole_frame_and_tiled_runs_agree_and_auto_picks_the_whole_frame(data):
    from lsid_keras.enhance import (
        WHOLE_FRAME,
        enhance_packed,
        load_enhancer,
        whole_frame_fits,
    )

    root, _, model = data
    enhancer = load_enhancer(model)
    assert enhancer.width == 2
    packed = np.random.default_rng(0).uniform(0, 1, (80, 112, 4)).astype(np.float32)
    whole = enhance_packed(enhancer, packed, tile=WHOLE_FRAME)
    tiled = enhance_packed(enhancer, packed, tile=64, halo=16)
    assert whole.shape == tiled.shape == (160, 224, 3)
    assert np.abs(whole - tiled).max() < 1 / 255
    assert whole_frame_fits(enhancer, packed.shape)
    assert not whole_frame_fits(enhancer, (1424, 2128), memory=2**20)
    np.testing.assert_array_equal(enhance_packed(enhancer, packed, tile="auto"), whole)
