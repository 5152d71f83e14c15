import importlib.util
import json
import os

import numpy as np
import pytest
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
    # the random network at initialisation is far further from the truth than the truth with
    # noise of sigma 0.05 or a 3x3 blur (measured Lpix 0.83, 0.036 and 0.0025)
    for name in ("noise_0.05", "blur_3x3"):
        assert results["init"]["pixel_value"] > 5 * results[name]["pixel_value"], name
    assert np.isfinite(results["suggested_feature_scale"])
    assert results["suggested_feature_scale"] > 0
    assert "suggested feature_scale" in capsys.readouterr().out


def test_summary_of_known_terms():
    # Two crops per prediction; means: Lpix 0.1, normalised Lfeat 0.9, raw Lfeat 9 (values)
    # and 2, 18, 2 (gradient norms). At alpha = 0.9 the feature term's share
    # 0.1 F / (0.9 P + 0.1 F) is 0.09 / 0.18 = 1/2 normalised, 0.9 / 0.99 = 10/11 raw,
    # and scaled by 3: 0.27 / 0.36 = 3/4; in gradient 1.8 / 3.6 = 1/2, 0.2 / 2 = 1/10 and
    # 5.4 / 7.2 = 3/4. The suggested scale brings normalised Lfeat to Lpix: 0.1 / 0.9 = 1/9.
    rows = [({"pixel": 0.05, "feature_reference_energy": 0.8, "feature_raw": 8.1},
             {"pixel": 1.0, "feature_reference_energy": 18.0, "feature_raw": 1.0}),
            ({"pixel": 0.15, "feature_reference_energy": 1.0, "feature_raw": 9.9},
             {"pixel": 3.0, "feature_reference_energy": 18.0, "feature_raw": 3.0})]
    # the other predictions: the feature term alone (share 1) and the pixel term alone (0)
    alone = [({"pixel": 0.0, "feature_reference_energy": 1.0, "feature_raw": 1.0},
              {"pixel": 0.0, "feature_reference_energy": 1.0, "feature_raw": 1.0})]
    pixel_only = [({"pixel": 1.0, "feature_reference_energy": 0.0, "feature_raw": 0.0},
                   {"pixel": 1.0, "feature_reference_energy": 0.0, "feature_raw": 0.0})]
    results = load_script().summarise(
        {"init": rows, "noise_0.05": alone, "blur_3x3": pixel_only}, alpha=0.9,
        feature_scale=3.0)
    init = results["init"]
    expected = {"pixel_value": 0.1, "feature_reference_energy_value": 0.9,
                "feature_raw_value": 9.0, "feature_scaled_value": 2.7,
                "pixel_grad_norm": 2.0, "feature_reference_energy_grad_norm": 18.0,
                "feature_raw_grad_norm": 2.0, "feature_scaled_grad_norm": 54.0,
                "feature_share_reference_energy_value": 1 / 2,
                "feature_share_raw_value": 10 / 11, "feature_share_scaled_value": 3 / 4,
                "feature_share_reference_energy_grad_norm": 1 / 2,
                "feature_share_raw_grad_norm": 1 / 10, "feature_share_scaled_grad_norm": 3 / 4}
    assert set(init) == set(expected)
    for key, value in expected.items():
        assert init[key] == pytest.approx(value, rel=1e-12), key
    assert results["suggested_feature_scale"] == pytest.approx(1 / 9, rel=1e-12)
    for norm in ("reference_energy", "raw", "scaled"):
        assert results["noise_0.05"][f"feature_share_{norm}_value"] == 1.0
        assert results["blur_3x3"][f"feature_share_{norm}_value"] == 0.0
