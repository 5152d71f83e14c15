"""scripts/fuzz_raw.py: hostile RAW files give a package error, never a crash of the caller."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fuzz_raw.py"


@pytest.fixture(scope="module")
def fuzz_raw():
    spec = importlib.util.spec_from_file_location("fuzz_raw", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_raw"] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    yield module
    del sys.modules["fuzz_raw"]


def test_fixed_seed_run_has_only_decoded_files_and_clean_errors(fuzz_raw, tmp_path):
    keep = tmp_path / "kept"
    summary = fuzz_raw.fuzz(
        seed=20261130, count=200, keep=str(keep), timeout=60, json_out=str(tmp_path / "f.json")
    )
    counts = summary["counts"]
    assert sum(counts.values()) == 200
    assert counts["other exception"] == 0, summary["findings"]
    assert counts["timeout"] == 0, summary["findings"]
    # The run exercises both paths: valid mutants decode, broken ones are refused.
    assert counts["decoded"] > 20 and counts["clean error"] > 20
    assert len(summary["error_types"]) >= 3
    # LibRaw's own stderr lines never reach the terminal beside the package's message.
    assert summary["stderr_leaks"] == 0, summary["stderr_leak_examples"]
    # LibRaw crashes cannot be fixed in Python, but each must be kept for triage.
    crashes = sorted(f["index"] for f in summary["findings"] if f["outcome"] == "child crash")
    assert len(crashes) == counts["child crash"]
    listing = keep / "kept.jsonl"
    kept = [json.loads(line) for line in listing.read_text().splitlines()] if crashes else []
    assert sorted(k["index"] for k in kept) == crashes
    assert all((keep / k["file"]).is_file() for k in kept)
    assert json.loads((tmp_path / "f.json").read_text())["counts"] == counts


_FAKE_WORKER = """
import json, os, re, sys, time
print("ready", flush=True)
for line in sys.stdin:
    index = int(re.search(r"mutant(\\d+)", line).group(1))
    answer = {"outcome": "decoded", "seconds": 0}
    if index in (1, 6):
        os.abort()
    if index == 3:
        time.sleep(60)
    if index == 4:
        os.write(2, b"noise from C\\n")
    if index == 7:
        answer = {"outcome": "other exception", "type": "builtins.ValueError", "message": "m",
                  "stage": "develop", "where": "x.py:1", "seconds": 0}
    print(json.dumps(answer), flush=True)
"""


def test_crashes_timeouts_and_bugs_are_kept_and_workers_replaced(
    fuzz_raw, tmp_path, monkeypatch, capsys
):
    # A stand-in worker that aborts, hangs, prints or reports a bug on given mutants, to check
    # the parent's side: classification, worker replacement, --keep, table, exit status.
    worker = tmp_path / "worker.py"
    worker.write_text(_FAKE_WORKER)
    monkeypatch.setattr(fuzz_raw, "worker_command", lambda memory_mb: [sys.executable, worker])
    keep = tmp_path / "kept"
    code = fuzz_raw.main(
        ["--seed", "3", "--count", "9", "--timeout", "2", "--keep", str(keep),
         "--json", str(tmp_path / "f.json")]
    )
    assert code == 1
    summary = json.loads((tmp_path / "f.json").read_text())
    assert summary["counts"] == {"decoded": 5, "clean error": 0, "other exception": 1,
                                 "child crash": 2, "timeout": 1}
    assert summary["stderr_leaks"] == 1
    assert summary["stderr_leak_examples"][0]["stderr"] == "noise from C\n"
    findings = {f["index"]: f for f in summary["findings"]}
    assert sorted(findings) == [1, 3, 6, 7]
    assert findings[1]["signal"] == findings[6]["signal"] == "SIGABRT"
    kept = [json.loads(line) for line in (keep / "kept.jsonl").read_text().splitlines()]
    assert sorted(k["index"] for k in kept) == [1, 3, 6, 7]
    for record in kept:
        data, recipe = fuzz_raw.make_mutant(fuzz_raw.make_seeds(), 3, record["index"])
        assert (keep / record["file"]).read_bytes() == data  # kept file = its recipe, replayed
        assert record["mutations"] == recipe["mutations"]
    assert "child crash" in capsys.readouterr().out


def test_mutants_are_reproducible_and_reach_the_header_fields(fuzz_raw):
    seeds = fuzz_raw.make_seeds()
    assert any("XTRANS" in name for name in seeds) and any("strips" in name for name in seeds)
    first = [fuzz_raw.make_mutant(seeds, 5, i) for i in range(40)]
    assert first == [fuzz_raw.make_mutant(seeds, 5, i) for i in range(40)]
    assert len({data for data, _ in first}) > 35
    fields = {
        step["field"]
        for i in range(600)
        for step in fuzz_raw.make_mutant(seeds, 5, i)[1]["mutations"]
        if "field" in step
    }
    assert set(fuzz_raw.FIELDS.values()) - fields <= {"SubIFDs", "ActiveArea"}, fields
    layout = fuzz_raw.TiffLayout(seeds["RGGB-tagged-tiles"])
    assert len(layout.values_of(layout.find(324)[0])) == 6  # 64x96 in 32x32 tiles


def test_fuzz_path_imports_no_tensorflow(tmp_path):
    code = (
        "import sys, importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('f', {str(SCRIPT)!r})\n"
        "m = importlib.util.module_from_spec(spec); sys.modules['f'] = m\n"
        "spec.loader.exec_module(m)\n"
        f"open({str(tmp_path / 'a.dng')!r}, 'wb').write(m.make_seeds()['RGGB-tagged'])\n"
        f"print(m.check_file({str(tmp_path / 'a.dng')!r})['outcome'])\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('tensorflow', 'keras')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(SCRIPT.parents[1])},
    ).stdout.split("\n")
    assert out[:2] == ["decoded", "[]"]
