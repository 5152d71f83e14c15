import json
import os

import numpy as np
import pytest
from sid_fixtures import write_sid_dataset

import lsid_keras.data.cache as cache
from lsid_keras.data.cache import CacheError, load_manifest, prepare_cache
from lsid_keras.data.sid_list import read_pair_list
from lsid_keras.raw import pack, read_raw
from lsid_keras.raw.develop import develop


@pytest.fixture()
def dataset(tmp_path):
    listing = write_sid_dataset(tmp_path / "sid")
    return read_pair_list(listing)


def test_cache_holds_packed_inputs_and_developed_targets(dataset, tmp_path):
    summary = prepare_cache(dataset, tmp_path / "cache", workers=0, progress=False)
    assert (summary.pairs, summary.decoded, summary.reused, summary.failed) == (4, 6, 0, [])
    cached = load_manifest(tmp_path / "cache")
    assert [(c.scene, c.burst, c.ratio) for c in cached] == [
        (p.scene, p.burst, p.ratio) for p in dataset
    ]
    for entry, pair in zip(cached, dataset, strict=True):
        packed = np.load(entry.input_file, mmap_mode="r")
        assert packed.dtype == np.float16
        exact = pack(read_raw(pair.short_path))
        np.testing.assert_allclose(packed, exact, rtol=2**-11, atol=1e-7)
        np.testing.assert_array_equal(np.load(entry.target_file), develop(pair.long_path))
        assert entry.cfa_kind == "bayer"


def test_worker_processes_give_the_same_cache_as_this_process(dataset, tmp_path):
    prepare_cache(dataset, tmp_path / "one", workers=0, progress=False)
    summary = prepare_cache(dataset, tmp_path / "two", workers=2, progress=False)
    assert summary.decoded == 6 and not summary.failed
    for a, b in zip(load_manifest(tmp_path / "one"), load_manifest(tmp_path / "two"), strict=True):
        np.testing.assert_array_equal(np.load(a.input_file), np.load(b.input_file))
        np.testing.assert_array_equal(np.load(a.target_file), np.load(b.target_file))


def test_killed_run_resumes_without_redoing_finished_files(dataset, tmp_path, monkeypatch):
    real_decode = cache._decode
    calls = []

    def dies_on_third_file(*task):
        calls.append(task[1])
        if len(calls) == 3:
            raise KeyboardInterrupt  # the user pressed Ctrl-C, or the job was killed here
        return real_decode(*task)

    monkeypatch.setattr(cache, "_decode", dies_on_third_file)
    with pytest.raises(KeyboardInterrupt):
        prepare_cache(dataset, tmp_path / "cache", workers=0, progress=False)
    journal = tmp_path / "cache" / "journal.jsonl"
    with open(journal, "a") as file:
        file.write('{"kind": "input", "sou')  # a line cut short by a kill -9
    leftovers = [n for d in ("inputs", "targets") for n in os.listdir(tmp_path / "cache" / d)]
    assert len(leftovers) == 2 and not any(n.startswith(".tmp") for n in leftovers)

    calls.clear()
    monkeypatch.setattr(cache, "_decode", lambda *task: calls.append(task[1]) or real_decode(*task))
    summary = prepare_cache(dataset, tmp_path / "cache", workers=0, progress=False)
    assert (summary.decoded, summary.reused) == (4, 2) and len(calls) == 4
    assert len(load_manifest(tmp_path / "cache")) == 4
    calls.clear()
    assert prepare_cache(dataset, tmp_path / "cache", workers=0, progress=False).decoded == 0
    assert calls == []


def test_changed_source_is_stale_and_decoded_again(dataset, tmp_path):
    prepare_cache(dataset, tmp_path / "cache", workers=0, progress=False)
    changed = dataset[0].short_path
    stat = os.stat(changed)
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(CacheError, match="changed since they were cached.*00001_00_0.1s.dng"):
        load_manifest(tmp_path / "cache")
    summary = prepare_cache(dataset, tmp_path / "cache", workers=0, progress=False)
    assert (summary.decoded, summary.reused) == (1, 5)
    assert len(load_manifest(tmp_path / "cache")) == 4


@pytest.mark.parametrize("workers", [0, 1])
def test_a_corrupt_file_is_reported_and_the_rest_cached(dataset, tmp_path, workers):
    with open(dataset[1].short_path, "r+b") as file:
        file.truncate(100)
    summary = prepare_cache(dataset, tmp_path / "cache", workers=workers, progress=False)
    assert [source for source, _ in summary.failed] == [dataset[1].short_path]
    assert "00001_01_0.04s.dng" in summary.failed[0][1]
    cached = load_manifest(tmp_path / "cache")
    assert len(cached) == 3 and all(c.short_path != dataset[1].short_path for c in cached)


def test_missing_or_foreign_cache_is_refused(tmp_path):
    with pytest.raises(CacheError, match="no manifest.json; run `lsid prepare"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"version": 99, "pairs": []}))
    with pytest.raises(CacheError, match="cache version 99"):
        load_manifest(tmp_path)


def test_workers_must_be_a_count(dataset, tmp_path):
    with pytest.raises(ValueError, match=r"workers must be an int >= 0. Received: workers=-1"):
        prepare_cache(dataset, tmp_path / "cache", workers=-1, progress=False)
