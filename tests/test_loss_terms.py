import csv
import json
import os

import keras
import numpy as np
import pytest
from sid_fixtures import write_sid_dataset

from lsid_keras.cli import main
from lsid_keras.data.cache import prepare_cache
from lsid_keras.data.sid_list import read_pair_list
from lsid_keras.losses import (
    JointLoss,
    LossTerm,
    MultiCriterionLoss,
    loss_term_metrics,
)


def images(seed, shape=(2, 32, 32, 3)):
    return np.random.default_rng(seed).uniform(0.0, 1.0, size=shape).astype("float32")


def tiny_model():
    inputs = keras.Input(shape=(None, None, 3))
    outputs = keras.layers.Conv2D(3, 3, padding="same", activation="sigmoid")(inputs)
    return keras.Model(inputs, outputs)


def expected_terms(loss, x, y, model):
    """Each term computed directly on the model's predictions, batch-averaged."""
    pred = model.predict(x, verbose=0)
    return {name: float(np.mean(value)) for name, value in loss.terms(y, pred).items()}


@pytest.mark.parametrize(
    "make", [lambda: JointLoss(), lambda: MultiCriterionLoss(vgg_weights=None)]
)
def test_fit_logs_each_term_as_the_loss_computed_it(make):
    keras.utils.set_random_seed(0)
    loss = make()
    model = tiny_model()
    metrics = loss_term_metrics(loss)
    assert [m.name for m in metrics] == list(loss.term_names)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss, metrics=metrics)
    x, y = images(1), images(2)
    logs = model.evaluate(x, y, batch_size=2, verbose=0, return_dict=True)
    expected = expected_terms(loss, x, y, model)
    for name in loss.term_names:
        assert logs[name] == pytest.approx(expected[name], rel=1e-4), name
    weights = loss.term_weights()
    total = sum(weights[name] * expected[name] for name in loss.term_names)
    assert logs["loss"] == pytest.approx(total, rel=1e-4)
    # A second batch of other images changes the recorded terms (they are not stale).
    other = model.evaluate(images(3), y, batch_size=2, verbose=0, return_dict=True)
    assert other["l1"] != pytest.approx(logs["l1"], rel=1e-3)


def test_restored_term_metric_computes_its_term_itself():
    loss = JointLoss(gamma=0.5, gamma_on="ms_ssim")
    (metric,) = [m for m in loss_term_metrics(loss) if m.term == "ms_ssim_loss"]
    restored = LossTerm.from_config(metric.get_config())
    assert not restored.linked and restored.loss.gamma_on == "ms_ssim"
    x, y = images(4), images(5)
    restored.update_state(x, y)
    expected = float(np.mean(loss.terms(x, y)["ms_ssim_loss"]))
    assert float(restored.result()) == pytest.approx(expected, rel=1e-5)


def test_single_term_losses_have_no_term_metrics():
    assert loss_term_metrics(keras.losses.MeanAbsoluteError()) == []
    with pytest.raises(ValueError, match="term='psnr'"):
        LossTerm(JointLoss(), "psnr")


def test_lsid_train_writes_each_term_to_the_csv_log(tmp_path):
    root = tmp_path
    pairs = read_pair_list(write_sid_dataset(root / "sid", scenes=2))
    prepare_cache(pairs, root / "cache", workers=1, progress=False)
    config = root / "zamir.json"
    config.write_text(json.dumps({"vgg_weights": None}))  # random VGG: offline
    out = str(root / "run")
    argv = ["train", "--cache", str(root / "cache"), "--out", out, "--model", "zamir",
            "--config", str(config), "--epochs", "1", "--width", "2", "--crop-size", "16",
            "--image-every", "0", "--seed", "0", "--verbose", "0"]
    assert main(argv) == 0
    with open(os.path.join(out, "training_log.csv")) as file:
        (row,) = list(csv.DictReader(file))
    terms = {name: float(row[name]) for name in ("l1", "ms_ssim_loss", "vgg_feature")}
    assert all(np.isfinite(v) and v > 0 for v in terms.values()), terms
    # The logged total is the paper's weighting of the logged terms (both are epoch means).
    total = 0.9 * (0.99 * terms["l1"] + 0.01 * terms["ms_ssim_loss"]) + 0.1 * terms["vgg_feature"]
    assert float(row["loss"]) == pytest.approx(total, rel=1e-3)
