import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from sid_fixtures import write_sid_dataset

from lsid_keras.cli import main
from lsid_keras.data.cache import prepare_cache
from lsid_keras.data.sid_list import read_pair_list
from lsid_keras.train import TrainConfig, learning_rate_schedule, load_config

TINY = ["--width", "2", "--crop-size", "16", "--image-every", "1", "--seed", "0",
        "--verbose", "0"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    pairs = read_pair_list(write_sid_dataset(root / "sid", scenes=2))
    prepare_cache(pairs, root / "cache", workers=1, progress=False)
    return str(root / "cache")


def _logged_epochs(out):
    with open(os.path.join(out, "training_log.csv")) as file:
        return [int(row["epoch"]) for row in csv.DictReader(file)]


def test_train_cli_writes_model_logs_and_config(cache, tmp_path, capsys):
    out = str(tmp_path / "run")
    argv = ["train", "--cache", cache, "--out", out, "--model", "gia_net", "--epochs", "2",
            *TINY]
    assert main(argv) == 0
    assert "trained 2 epochs" in capsys.readouterr().out
    model = keras.models.load_model(os.path.join(out, "model.keras"), compile=False)
    assert model.input_shape[-1] == 4
    assert _logged_epochs(out) == [0, 1]
    config = json.load(open(os.path.join(out, "config.json")))
    assert config["loss"] == "joint" and config["crop_size"] == 16 and config["lr_drop_epoch"] == 1
    assert any("events" in name for _, _, files in os.walk(os.path.join(out, "logs"))
               for name in files)


def test_killed_training_resumes_without_repeating_epochs(cache, tmp_path):
    out = str(tmp_path / "run")
    argv = [sys.executable, "-m", "lsid_keras", "train", "--cache", cache, "--out", out,
            "--model", "sid", "--epochs", "8", *TINY]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = os.path.join(out, "training_log.csv")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if os.path.exists(log) and len(_logged_epochs(out)) >= 2:
            break
        time.sleep(0.02)
    assert process.poll() is None, "training ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    first = _logged_epochs(out)
    assert 2 <= len(first) < 8
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    epochs = _logged_epochs(out)
    assert epochs[: len(first)] == first
    assert epochs == sorted(set(epochs)), f"epochs repeated after resume: {epochs}"
    assert epochs[-1] == 7 and epochs[len(first)] > first[-1]


def test_learning_rate_drops_at_half_the_epochs():
    config = TrainConfig(cache="x", epochs=10).resolved()
    schedule = learning_rate_schedule(config)
    assert [schedule(e) for e in (0, 4, 5, 9)] == [1e-4, 1e-4, 1e-5, 1e-5]
    finetune = TrainConfig(cache="x", finetune_contrast=True, init_model="m.keras").resolved()
    assert finetune.epochs == 100 and finetune.learning_rate == 1e-5


def test_recipes_follow_the_papers():
    assert TrainConfig(cache="x", model="sid").resolved().loss == "l1"
    zamir = TrainConfig(cache="x", model="zamir").resolved()
    assert (zamir.loss, zamir.crop_size, zamir.epochs) == ("multi_criterion", 512, 4000)
    gia = TrainConfig(cache="x", model="gia_net").resolved()
    assert (gia.loss, gia.crop_size) == ("joint", "gia")


def test_config_file_and_overrides(cache, tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text('model = "sid"\nepochs = 1\nwidth = 2\ncrop_size = 16\nverbose = 0\n')
    assert load_config(config)["model"] == "sid"
    out = str(tmp_path / "run")
    assert main(["train", "--config", str(config), "--cache", cache, "--out", out,
                 "--image-every", "0"]) == 0
    assert json.load(open(os.path.join(out, "config.json")))["loss"] == "l1"
    bad = tmp_path / "bad.toml"
    bad.write_text("modle = 'sid'\n")
    assert main(["train", "--config", str(bad), "--cache", cache]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown config key(s) modle" in err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--model", "unet9"], "unknown model 'unet9'"),
        (["--camera", "fuji"], "holds bayer frames but --camera='fuji'"),
        (["--crop-size", "100"], "multiple of 16"),
        (["--loss", "l3"], "unknown loss 'l3'"),
        (["--finetune-contrast"], "needs init_model"),
    ],
)
def test_bad_settings_are_one_line(cache, tmp_path, capsys, extra, message):
    argv = ["train", "--cache", cache, "--out", str(tmp_path / "r"), "--epochs", "1", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err


def test_missing_cache_is_one_line(tmp_path, capsys):
    assert main(["train", "--cache", str(tmp_path / "nope")]) == 2
    assert "no manifest.json" in capsys.readouterr().err


def test_nan_loss_stops_with_a_clear_message(cache, tmp_path, capsys):
    out = str(tmp_path / "run")
    argv = ["train", "--cache", cache, "--out", out, "--model", "sid", "--epochs", "3",
            "--learning-rate", "1e30", *TINY]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 1 and "loss became nan" in err.lower() and "learning_rate" in err


def test_bfloat16_mixed_precision_trains(cache, tmp_path):
    out = str(tmp_path / "run")
    argv = ["train", "--cache", cache, "--out", out, "--model", "sid", "--epochs", "1",
            "--mixed-precision", "bfloat16", *TINY]
    assert main(argv) == 0
    model = keras.models.load_model(os.path.join(out, "model.keras"), compile=False)
    x = np.zeros((1, 16, 16, 4), "float32")
    assert model(x).dtype == "float32"
    assert keras.mixed_precision.dtype_policy().name == "float32"


def test_finetune_contrast_starts_from_a_model_and_uses_improved_targets(cache, tmp_path):
    from lsid_keras.data.cache import load_manifest

    base = str(tmp_path / "base")
    assert main(["train", "--cache", cache, "--out", base, "--model", "zamir", "--epochs", "1",
                 "--vgg-weights", "none", *TINY]) == 0
    out = str(tmp_path / "finetune")
    argv = ["train", "--cache", cache, "--out", out, "--model", "zamir", "--finetune-contrast",
            "--init-model", os.path.join(base, "model.keras"), "--epochs", "1",
            "--vgg-weights", "none", *TINY]
    assert main(argv) == 0
    pairs = load_manifest(cache, target="contrast")
    improved = np.load(pairs[0].target_file).astype(float)
    plain = np.load(load_manifest(cache)[0].target_file).astype(float)
    assert improved.shape == plain.shape and not np.array_equal(improved, plain)
    config = json.load(open(os.path.join(out, "config.json")))
    assert config["learning_rate"] == 1e-5 and config["finetune_contrast"] is True


def test_mirrored_strategy_trains_on_the_local_devices(cache, tmp_path, capsys):
    out = str(tmp_path / "run")
    argv = ["train", "--cache", cache, "--out", out, "--model", "sid", "--epochs", "1",
            "--strategy", "mirrored", *TINY]
    assert main(argv) == 0
    assert "trained 1 epochs" in capsys.readouterr().out


def test_train_help_describes_every_setting(capsys):
    import pytest as _pytest

    with _pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    assert "Adam step size before the drop" in text and "--finetune-contrast" in text


def test_budget_progress_needs_a_budget():
    with pytest.raises(ValueError, match="needs max_minutes"):
        TrainConfig(cache="x", verbose="budget").resolved()
    assert TrainConfig(cache="x", verbose="budget", max_minutes=1).resolved().verbose == "budget"
    with pytest.raises(ValueError, match="verbose must be"):
        TrainConfig(cache="x", verbose="loud").resolved()


def _backup_epoch(out):
    with open(os.path.join(out, "backup", "training_metadata.json")) as file:
        return json.load(file)["epoch"]


def test_time_budget_is_a_pause_and_a_finished_run_is_left_alone(cache, tmp_path, capsys):
    out = str(tmp_path / "run")
    argv = ["train", "--cache", cache, "--out", out, "--model", "sid", "--epochs", "100000",
            "--max-minutes", "0.15", *TINY]
    assert main(argv) == 0
    first_message = capsys.readouterr().out
    assert "paused by the time budget after epoch" in first_message
    first = _logged_epochs(out)
    assert first == list(range(len(first))) and _backup_epoch(out) == len(first) >= 1
    weights_before = keras.models.load_model(os.path.join(out, "model.keras")).get_weights()

    assert main(argv) == 0  # the same command continues where the budget stopped
    second = _logged_epochs(out)
    assert second[: len(first)] == first and second == list(range(len(second)))
    assert len(second) > len(first) and _backup_epoch(out) == len(second)
    weights_after = keras.models.load_model(os.path.join(out, "model.keras")).get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(weights_before, weights_after, strict=True))

    # A run that reached its last epoch: the same command changes nothing.
    done = str(tmp_path / "done")
    finish = ["train", "--cache", cache, "--out", done, "--model", "sid", "--epochs", "2", *TINY]
    assert main(finish) == 0
    capsys.readouterr()
    model_file = os.path.join(done, "model.keras")
    stamp = (os.stat(model_file).st_mtime_ns, open(model_file, "rb").read())
    assert main(finish) == 0
    assert "already trained: 2 of 2 epochs" in capsys.readouterr().out
    assert (os.stat(model_file).st_mtime_ns, open(model_file, "rb").read()) == stamp
    assert _logged_epochs(done) == [0, 1]


def test_other_settings_on_a_run_folder_are_refused_unless_overwrite(cache, tmp_path, capsys):
    out = str(tmp_path / "run")
    base = ["train", "--cache", cache, "--out", out, "--model", "sid", *TINY]
    assert main([*base, "--epochs", "1"]) == 0
    capsys.readouterr()
    model_file = os.path.join(out, "model.keras")
    before = open(model_file, "rb").read()
    assert main([*base, "--epochs", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "epochs: 1 -> 3" in err and "--overwrite" in err
    assert open(model_file, "rb").read() == before
    assert main([*base, "--epochs", "3", "--overwrite"]) == 0
    assert _logged_epochs(out) == [0, 1, 2]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--learning-rate", "abc"], "--learning-rate must be float or none"),
        (["--epochs", "0"], "--epochs must be >= 1"),
        (["--model", "zamir", "--vgg-weights", "missing_vgg.h5"], "missing_vgg.h5"),
    ],
)
def test_failed_validation_leaves_no_run_folder(cache, tmp_path, capsys, extra, message):
    out = tmp_path / "never"
    assert main(["train", "--cache", cache, "--out", str(out), *TINY, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err, err
    assert not out.exists()


class _Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.ended = []

    def on_epoch_end(self, epoch, logs=None):
        self.ended.append(epoch)


def test_an_epoch_cut_by_the_budget_is_hidden_from_persisting_callbacks():
    from lsid_keras.train_callbacks import TimeBudget, UnlessEpochCut

    budget, recorder = TimeBudget(minutes=1), _Recorder()
    wrapped = UnlessEpochCut(recorder, budget)
    wrapped.on_epoch_end(0)
    budget.cut_epoch = 1
    wrapped.on_epoch_end(1)
    assert recorder.ended == [0]


def test_gamma_can_weigh_ms_ssim_as_zhao_et_al_do():
    from lsid_keras.train import build_loss

    loss = build_loss(TrainConfig(cache="x", model="gia_net", gamma_on="ms_ssim").resolved())
    assert loss.gamma_on == "ms_ssim" and loss.gamma == 0.84
    assert build_loss(TrainConfig(cache="x", model="gia_net").resolved()).gamma_on == "l1"
    with pytest.raises(ValueError, match="gamma_on must be"):
        TrainConfig(cache="x", gamma_on="both").resolved()


def test_budget_progress_off_a_terminal_is_a_few_whole_lines(monkeypatch, capsys):
    import io

    from lsid_keras import progress
    from lsid_keras.train_callbacks import TimeBudget

    stream = io.StringIO()
    monkeypatch.setattr(progress.sys, "stderr", stream)
    budget = TimeBudget(minutes=1, progress=True)
    budget.set_model(keras.Sequential())
    budget.on_train_begin()
    budget.on_epoch_begin(0)
    for step in range(500):
        budget.on_train_batch_end(step, {"loss": 0.5})
    budget.on_train_end()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and 1 <= len(lines) <= 3, lines


def _weights(out):
    return keras.models.load_model(os.path.join(out, "model.keras"), compile=False).get_weights()


def test_resume_state_continues_on_a_new_machine_with_weights_and_optimiser(
    cache, tmp_path, capsys
):
    """A run paused after one epoch is saved with `save_resume_state`; a new run folder given
    `--resume-from` it (the run folder gone, as on a new machine) trains exactly what the
    original folder's own rerun trains, and not what a restart from the weights alone (no
    optimiser state) trains."""
    from lsid_keras.train import save_resume_state

    settings = ["--cache", cache, "--model", "sid", "--epochs", "3", *TINY]
    first = str(tmp_path / "first")
    # Epoch 0, then the budget pauses (it never cuts a training's first epoch).
    assert main(["train", "--out", first, "--max-minutes", "0.001", *settings]) == 0
    state = str(tmp_path / "state")
    assert save_resume_state(first, state) == 1
    shutil.copytree(first, str(tmp_path / "first-copy"))

    moved = str(tmp_path / "moved")
    assert main(["train", "--out", moved, "--resume-from", state, *settings]) == 0
    assert _logged_epochs(moved) == [0, 1, 2] and _backup_epoch(moved) == 3
    same = str(tmp_path / "first-copy")
    assert main(["train", "--out", same, *settings]) == 0  # the original folder's own rerun
    for a, b in zip(_weights(moved), _weights(same), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)

    fresh = str(tmp_path / "fresh")  # the same weights, a new optimiser
    assert main(["train", "--out", fresh, "--init-model", os.path.join(first, "model.keras"),
                 *settings]) == 0
    assert max(np.abs(a - b).max() for a, b in zip(_weights(moved), _weights(fresh),
                                                    strict=True)) > 1e-4
    capsys.readouterr()

    # A resume state of other settings is refused in one line, and nothing is created.
    other = str(tmp_path / "other")
    assert main(["train", "--out", other, "--resume-from", state, *settings, "--width",
                 "4"]) == 2
    assert "other settings (width: 2 -> 4)" in capsys.readouterr().err
    assert not os.path.exists(os.path.join(other, "backup"))


def test_a_finished_resume_state_gives_its_model_on_a_new_machine(cache, tmp_path, capsys):
    """A committed resume state whose epochs are all done (the finished v2 stage of the
    shipped model's recipe) gives `model.keras` in a new run folder without training: the
    weights of the last epoch, which the next stage starts from (`--init-model`)."""
    from lsid_keras.train import save_resume_state

    first = str(tmp_path / "first")
    settings = ["--cache", cache, "--model", "gia_net", "--epochs", "2", *TINY]
    assert main(["train", "--out", first, *settings]) == 0
    state = str(tmp_path / "state")
    assert save_resume_state(first, state) == 2

    moved = str(tmp_path / "moved")
    capsys.readouterr()
    assert main(["train", "--out", moved, "--resume-from", state, *settings]) == 0
    assert "nothing to do" in capsys.readouterr().out
    for a, b in zip(_weights(moved), _weights(first), strict=True):
        np.testing.assert_array_equal(a, b)
    # Unreadable weights in a finished state: one line naming the file, no model.keras.
    broken = str(tmp_path / "broken")
    shutil.copytree(state, broken)
    with open(os.path.join(broken, "latest.weights.h5"), "wb") as file:
        file.write(b"not an HDF5 file")
    capsys.readouterr()
    assert main(["train", "--out", str(tmp_path / "b"), "--resume-from", broken,
                 *settings]) == 2
    err = capsys.readouterr().err
    assert "latest.weights.h5: unreadable resume weights" in err and "Traceback" not in err
    assert not os.path.exists(tmp_path / "b")  # refused before anything was copied
    # A missing init_model is refused before the state is copied anywhere, so the corrected
    # rerun is not refused as another training.
    wrong = str(tmp_path / "wrong")
    assert main(["train", "--out", wrong, "--resume-from", state, "--init-model",
                 str(tmp_path / "missing.keras"), *settings]) == 2
    assert "missing.keras: model file not found" in capsys.readouterr().err
    assert not os.path.exists(wrong)
    # The next stage starts from it, with the detail term of the fine-tuning recipe.
    tuned = str(tmp_path / "tuned")
    assert main(["train", "--out", tuned, "--cache", cache, "--model", "gia_net", "--epochs",
                 "1", "--detail-weight", "1.0", "--low-ratio-share", "0.5", "--init-model",
                 os.path.join(moved, "model.keras"), *TINY]) == 0
    with open(os.path.join(tuned, "training_log.csv")) as file:
        row = next(csv.DictReader(file))
    assert float(row["gradient_l1"]) > 0
    assert json.load(open(os.path.join(tuned, "config.json")))["detail_weight"] == 1.0


def test_detail_weight_applies_to_the_joint_loss_only(cache):
    assert TrainConfig(cache=cache, detail_weight=0.5).resolved().detail_weight == 0.5
    with pytest.raises(ValueError, match="joint"):
        TrainConfig(cache=cache, model="sid", detail_weight=0.5).resolved()
    with pytest.raises(ValueError, match="detail_weight must be >= 0"):
        TrainConfig(cache=cache, detail_weight=-1.0).resolved()
    assert TrainConfig(cache=cache, low_ratio_share=0.5).resolved().low_ratio_share == 0.5
    with pytest.raises(ValueError, match="low_ratio_share must be in"):
        TrainConfig(cache=cache, low_ratio_share=2.0).resolved()
