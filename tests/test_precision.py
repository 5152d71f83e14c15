"""`lsid_keras.precision`: `--precision auto` picks by the CPU's features and the files at hand
(issue 20 items 3 and 4); explicit choices run or fail in one line naming the file."""

import glob
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from sid_fixtures import write_sid_dataset

from lsid_keras import machine, precision
from lsid_keras.cli import build_parser, main
from lsid_keras.enhance import WHOLE_FRAME, EnhanceError, enhance_packed, load_enhancer
from lsid_keras.export import export_model
from lsid_keras.models import get_model
from lsid_keras.precision import (
    PrecisionError,
    choose_mixed_precision,
    choose_precision,
    int8_export_path,
    tflite_choice,
)
from lsid_keras.tiling import DEFAULT_HALO
from lsid_keras.train import TrainConfig

AVX2 = ["sse2", "avx2", "fma"]  # the AVX2-only EPYC these figures were taken on
BF16 = [*AVX2, "avx512f", "avx512_bf16"]
VNNI = [*AVX2, "avx512f", "avx512_vnni"]


def _cpu(monkeypatch, flags):
    monkeypatch.setattr(machine, "_cpuinfo_flags", lambda: frozenset(flags))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A width-2 SID model with its int8 export beside it, as `lsid export --out <its folder>`
    names it, and a small SID dataset whose DNGs enhance in a moment."""
    root = tmp_path_factory.mktemp("precision")
    listing = write_sid_dataset(root / "sid", scenes=2, shape=(64, 96))
    keras.utils.set_random_seed(0)
    get_model("sid", width=2).save(root / "model.keras")
    export_model(root / "model.keras", root, tile=32, halo=8, quant=["int8"],
                 representative=root / "sid/Sony/short", verify=False, num_threads=2)
    return root, listing


def test_auto_follows_the_cpu_features(tmp_path, monkeypatch):
    model = tmp_path / "model.keras"  # the choice reads no model; no int8 export beside it
    _cpu(monkeypatch, AVX2)
    choice = choose_precision("auto", model, gpu=False)
    assert (choice.precision, choice.model_file) == ("fp32", str(model))
    assert choice.reason == "fp32: this CPU (avx2 fma) has no native bfloat16 and no int8 dot " \
                            "product"
    _cpu(monkeypatch, BF16)
    assert choose_precision("auto", model, gpu=False).precision == "bf16"
    _cpu(monkeypatch, VNNI)  # an int8 dot product but no export at hand
    choice = choose_precision("auto", model, gpu=False)
    assert choice.precision == "fp32" and str(int8_export_path(model)) in choice.reason
    _cpu(monkeypatch, [*VNNI, "avx512_bf16"])
    assert choose_precision("auto", model, gpu=False).precision == "bf16"
    assert choose_precision("auto", model, gpu=True).precision == "fp32"  # Keras on the GPU


def test_auto_takes_the_int8_export_beside_the_model_on_a_vnni_cpu(exported, monkeypatch):
    root, _ = exported
    model = root / "model.keras"
    assert int8_export_path(model) == str(root / "model_int8.tflite")
    _cpu(monkeypatch, VNNI)
    choice = choose_precision("auto", model, gpu=False)
    assert (choice.precision, choice.model_file) == ("int8", str(root / "model_int8.tflite"))
    assert "avx512_vnni" in choice.reason
    enhancer = load_enhancer(model, precision="auto")
    assert enhancer.precision == "int8" and enhancer.fixed_tile == 32
    _cpu(monkeypatch, AVX2)  # no dot product: int8 only when asked, with a warning
    assert choose_precision("auto", model, gpu=False).precision == "fp32"
    assert "no int8 dot product" in choose_precision("int8", model).warning


def test_an_int8_export_of_another_model_version_is_not_taken(exported, tmp_path,
                                                              monkeypatch):
    root, _ = exported
    retrained = tmp_path / "model.keras"
    keras.utils.set_random_seed(1)
    get_model("sid", width=2).save(retrained)
    (tmp_path / "model_int8.tflite").write_bytes((root / "model_int8.tflite").read_bytes())
    _cpu(monkeypatch, VNNI)
    choice = choose_precision("auto", retrained, gpu=False)
    assert choice.precision == "fp32" and "sha256 differs" in choice.reason
    with pytest.raises(PrecisionError, match="sha256 differs"):
        choose_precision("int8", retrained)


def test_explicit_choices(tmp_path, monkeypatch):
    model = tmp_path / "model.keras"
    _cpu(monkeypatch, AVX2)
    assert choose_precision("fp32", model).reason == "fp32: asked"
    slow = choose_precision("bf16", model)
    assert slow.precision == "bf16" and "several times slower than fp32" in slow.warning
    _cpu(monkeypatch, BF16)
    assert choose_precision("bf16", model).warning is None
    with pytest.raises(PrecisionError) as error:
        choose_precision("int8", model)
    assert str(tmp_path / "model_int8.tflite") in str(error.value)
    assert "\n" not in str(error.value)
    with pytest.raises(PrecisionError, match="one of auto, fp32, bf16, int8"):
        choose_precision("fp16", model)


def test_a_tflite_runs_at_its_own_precision():
    assert tflite_choice("auto", "m.tflite", "int8").precision == "int8"
    assert tflite_choice(None, "m.tflite", "fp16").precision == "fp16"
    assert tflite_choice("int8", "m.tflite", "qat").precision == "qat"
    with pytest.raises(PrecisionError, match=r"m.tflite: .*\(int8\), not fp32"):
        tflite_choice("fp32", "m.tflite", "int8")


def test_mixed_precision_auto(monkeypatch):
    _cpu(monkeypatch, AVX2)
    assert choose_mixed_precision(gpu=False)[0] is None  # never bfloat16 without native
    assert choose_mixed_precision(gpu=True)[0] == "float16"
    _cpu(monkeypatch, BF16)
    value, reason = choose_mixed_precision(gpu=False)
    assert value == "bfloat16" and "avx512_bf16" in reason
    monkeypatch.setattr(precision, "_gpu_visible", lambda: False)
    assert TrainConfig(cache="c", mixed_precision="auto").resolved().mixed_precision == "bfloat16"
    _cpu(monkeypatch, AVX2)
    assert TrainConfig(cache="c", mixed_precision="auto").resolved().mixed_precision is None
    args = build_parser().parse_args(["train", "--cache", "c", "--mixed-precision", "auto"])
    assert args.mixed_precision == "auto"


def test_cli_parses_precision():
    parser = build_parser()
    for command in (["enhance", "a.dng", "-o", "a.png"], ["evaluate", "--data", "d", "--list",
                                                          "l.txt"]):
        assert parser.parse_args(command).precision == "auto"
        assert parser.parse_args([*command, "--precision", "bf16"]).precision == "bf16"
        with pytest.raises(SystemExit):
            parser.parse_args([*command, "--precision", "fp16"])


def test_lsid_enhance_says_its_precision_and_refuses_a_missing_int8_file(exported, tmp_path,
                                                                         capsys, monkeypatch):
    root, _ = exported
    raw = root / "sid/Sony/short/00001_00_0.1s.dng"
    _cpu(monkeypatch, AVX2)
    model = tmp_path / "other.keras"
    model.write_bytes((root / "model.keras").read_bytes())
    assert main(["enhance", str(raw), "--model", str(model), "-o", str(tmp_path / "a.png"),
                 "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "precision fp32: this CPU (avx2 fma) has no native bfloat16" in out and not err
    assert main(["enhance", str(raw), "--model", str(model), "-o", str(tmp_path / "b.png"),
                 "--precision", "int8", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path / "other_int8.tflite") in err
    assert not (tmp_path / "b.png").exists()
    assert main(["enhance", str(raw), "--model", str(root / "model.keras"), "-o",
                 str(tmp_path / "c.png"), "--precision", "int8", "--halo", "8", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "precision int8: asked" in out and "no int8 dot product" in err  # a warning
    assert main(["enhance", str(raw), "--model", str(root / "model_int8.tflite"), "-o",
                 str(tmp_path / "d.png"), "--precision", "fp32", "--quiet"]) == 2
    assert "runs at the precision it was exported at (int8)" in capsys.readouterr().err


def test_bf16_gia_net_enhances_close_to_fp32(tmp_path):
    # A global model in bf16 keeps its frame-average passes: tiled agrees with whole-frame.
    keras.utils.set_random_seed(3)
    path = tmp_path / "gia.keras"
    get_model("gia_net", width=4).save(path)
    packed = np.random.default_rng(0).uniform(0, 1, (96, 144, 4)).astype(np.float32)
    fp32 = load_enhancer(path)
    bf16 = load_enhancer(path, precision="bf16")
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")
    reference = enhance_packed(fp32, packed, tile=WHOLE_FRAME)
    scale = float(reference.std()) or 1.0
    for tile in (WHOLE_FRAME, 2 * DEFAULT_HALO + 32):  # several tiles at the default halo
        error = np.abs(enhance_packed(bf16, packed, tile=tile) - reference)
        # bfloat16 has 8 significant bits: the error is rounding, far below the output's spread
        assert 0 < error.mean() < 0.05 * scale, (tile, error.mean(), scale)
    with pytest.raises(EnhanceError, match="cannot run int8"):
        load_enhancer(path, precision="int8")


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.path.exists("/dev/kfd")
                    or bool(glob.glob("/dev/nvidia[0-9]*")), reason="needs a GPU-less Linux")
def test_auto_does_not_import_tensorflow_to_find_no_gpu():
    """On a Linux machine without GPU device nodes, asking whether a GPU is visible costs no
    TensorFlow import (about 0.5 GB), so auto's int8 choice runs LiteRT alone."""
    code = ("import sys; from lsid_keras.precision import _gpu_visible; "
            "print(_gpu_visible(), 'tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.split() == ["False", "False"]
