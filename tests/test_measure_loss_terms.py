import importlib.util
import json
import os

import numpy as np
from sid_fixtures import write_sid_dataset

from lsid_keras.data.cache import prepare_cache
from lsid_keras.data.sid_list import read_pair_list

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "scripts", "measure_loss_terms.py")


def load_script():
    spec = importlib.util.spec_from_file_location("measure_loss_terms", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_measures_both_terms_and_their_gradients_and_writes_json(tmp_path, capsys):
    pairs = read_pair_list(write_sid_dataset(tmp_path / "sid", scenes=2))
    prepare_cache(pairs, tmp_path / "cache", workers=1, progress=False)
    out = tmp_path / "terms.json"
    argv = ["--cache", str(tmp_path / "cache"), "--width", "4", "--crop-size", "16",
            "--batches", "1", "--json", str(out)]
    assert load_script().main(argv) == 0
    results = json.loads(out.read_text())["results"]
    for name in ("init", "noise_0.05", "blur_3x3"):
        entry = results[name]
        for key in ("pixel", "feature_reference_energy", "feature_raw", "feature_scaled"):
            assert np.isfinite(entry[f"{key}_value"]) and entry[f"{key}_value"] > 0, (name, key)
            assert entry[f"{key}_grad_norm"] > 0, (name, key)
        for norm in ("reference_energy", "raw", "scaled"):
            assert 0 < entry[f"feature_share_{norm}_value"] < 1, (name, norm)
    init = results["init"]
    suggested = results["suggested_feature_scale"]
    assert suggested == init["pixel_value"] / init["feature_reference_energy_value"]
    assert "suggested feature_scale" in capsys.readouterr().out
