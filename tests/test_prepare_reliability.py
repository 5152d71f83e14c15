"""`lsid prepare` on hostile input: bad files, decoder crashes, two writers, a full disk."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap

import pytest
from sid_fixtures import write_sid_dataset

import lsid_keras.data.cache as cache
from lsid_keras.atomic import DiskFullError
from lsid_keras.cli import main
from lsid_keras.data.cache import CRASH_HOOK, CacheBusyError, load_manifest, prepare_cache
from lsid_keras.data.sid_list import read_pair_list

ERROR = "lsid prepare: error: "


def _run(args, env=None, timeout=180):
    """Runs `python <args>` in a child process with the test environment (plus `env`)."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture()
def hostile(tmp_path):
    """4 scenes (8 pairs, 12 files): a long exposure the crash hook aborts on, a truncated long
    exposure and a short exposure of random bytes; 3 pairs have only good files.

    The crashing file is the first task, so the second worker is decoding another file (its
    first, still importing the decoder) when the pool breaks: that one must not be blamed.
    """
    root = tmp_path / "sid"
    listing = write_sid_dataset(root, scenes=4)
    crashing = root / "Sony/long/00001_00_10s.dng"
    truncated = root / "Sony/long/00002_00_10s.dng"
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    garbage = root / "Sony/short/00003_00_0.1s.dng"
    garbage.write_bytes(os.urandom(garbage.stat().st_size))
    return {
        "root": root,
        "listing": listing,
        "bad": {
            str(crashing): "the decoder crashed on this file (exit code -6, SIGABRT)",
            str(truncated): "unexpected end of data",
            str(garbage): "not a RAW file",
        },
        "crash_on": "00001_00_10s",
        "good_pairs": {"00003_01_0.04s.dng", "00004_00_0.1s.dng", "00004_01_0.04s.dng"},
    }


def _check_hostile_run(dataset, cache_dir, code, stdout, stderr):
    """Exit code 2; one error line per bad file, naming it; every other file cached."""
    assert code == 2
    errors = [line[len(ERROR) :] for line in stderr.splitlines() if line.startswith(ERROR)]
    assert len(errors) == 3, stderr
    for path, reason in dataset["bad"].items():
        [line] = [e for e in errors if e.startswith(path + ": ")]
        assert reason in line, line
    assert "in the process pool was terminated abruptly" not in stderr
    assert "9 files decoded, 0 reused, 3 failed" in stdout
    pairs = load_manifest(cache_dir)
    assert {os.path.basename(p.short_path) for p in pairs} == dataset["good_pairs"]
    journal = (cache_dir / "journal.jsonl").read_text().splitlines()
    assert len(journal) == 9
    assert not set(dataset["bad"]) & {json.loads(record)["source"] for record in journal}


def test_prepare_caches_every_good_file_and_names_each_bad_one(hostile, tmp_path, capsys):
    """The user's report: one truncated file failed 13 of 24 files and left an empty manifest."""
    cache_dir = tmp_path / "cache"
    argv = ["prepare", str(hostile["root"]), "--list", str(hostile["listing"])]
    argv += ["--cache", str(cache_dir), "--workers", "2", "--quiet"]
    os.environ[CRASH_HOOK] = hostile["crash_on"]
    try:
        code = main(argv)
    finally:
        del os.environ[CRASH_HOOK]
    out, err = capsys.readouterr()
    _check_hostile_run(hostile, cache_dir, code, out, err)


def test_python_m_lsid_keras_prepare_in_a_subprocess(hostile, tmp_path):
    cache_dir = tmp_path / "cache"
    result = _run(
        ["-m", "lsid_keras", "prepare", str(hostile["root"]), "--list", str(hostile["listing"]),
         "--cache", str(cache_dir), "--workers", "2", "--quiet"],
        env={CRASH_HOOK: hostile["crash_on"]},
    )  # fmt: skip
    _check_hostile_run(hostile, cache_dir, result.returncode, result.stdout, result.stderr)
    assert len(result.stderr.splitlines()) == 3  # and nothing else (no LibRaw chatter)


def test_crash_message_names_the_signal():
    assert cache._crash_message("a.ARW", -11) == (
        "a.ARW: the decoder crashed on this file (exit code -11, SIGSEGV)"
    )
    assert "SIGKILL: out of memory?" in cache._crash_message("a.ARW", -9)
    assert cache._crash_message("a.ARW", 3).endswith("(exit code 3)")


@pytest.fixture()
def pairs(tmp_path):
    return read_pair_list(write_sid_dataset(tmp_path / "sid", scenes=2))


def test_a_second_writer_is_refused_with_one_line(pairs, tmp_path, monkeypatch):
    """Two processes: this one is writing the cache when `lsid prepare` starts on it."""
    cache_dir = tmp_path / "cache"
    listing = tmp_path / "sid" / "Sony_train_list.txt"
    real_decode = cache._decode
    second = []

    def decode_while_another_prepare_starts(*task):
        if not second:
            second.append(
                _run(["-m", "lsid_keras", "prepare", str(tmp_path / "sid"), "--list",
                      str(listing), "--cache", str(cache_dir), "--quiet"])
            )  # fmt: skip
        return real_decode(*task)

    monkeypatch.setattr(cache, "_decode", decode_while_another_prepare_starts)
    summary = prepare_cache(pairs, cache_dir, workers=0, progress=False)
    assert summary.decoded == 6 and not summary.failed
    [refused] = second
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        f"{ERROR}{cache_dir}: process {os.getpid()} is writing this cache (another lsid "
        "prepare?); wait until it finishes, or give another cache folder"
    ]
    journal = (cache_dir / "journal.jsonl").read_text().splitlines()
    assert len(journal) == 6  # each file once: the refused run decoded nothing


def test_a_killed_writer_leaves_no_stale_lock(pairs, tmp_path):
    cache_dir = tmp_path / "cache"
    listing = tmp_path / "sid" / "Sony_train_list.txt"
    # workers=0 decodes in the writer's own process: the crash hook kills the writer itself.
    writer = textwrap.dedent(
        f"""
        from lsid_keras.data.cache import prepare_cache
        from lsid_keras.data.sid_list import read_pair_list
        prepare_cache(read_pair_list({str(listing)!r}), {str(cache_dir)!r}, workers=0)
        """
    )
    killed = _run(["-c", writer], env={CRASH_HOOK: "00002_00_0.1s"})
    assert killed.returncode == -signal.SIGABRT
    assert (cache_dir / ".lock").exists()
    leftover = cache_dir / "inputs" / ".00002_00_0.1s-1234abcd.npy.x1y2z3.tmp.npy"
    leftover.write_bytes(b"half a file")  # what a kill in the middle of a write leaves
    summary = prepare_cache(pairs, cache_dir, workers=0, progress=False)
    assert summary.reused >= 1 and summary.reused + summary.decoded == 6 and not summary.failed
    assert len(load_manifest(cache_dir)) == 4
    assert not leftover.exists()


def test_busy_error_is_an_os_error_for_callers_that_catch_those():
    error = CacheBusyError("cache", "process 7 is writing this cache", 16)
    assert isinstance(error, OSError) and error.strerror == "process 7 is writing this cache"


# `lsid prepare` in a child whose files may not grow past 20 kB: the packed inputs (12 kB)
# fit, the developed targets (37 kB) do not. SIGXFSZ is ignored so write() fails with EFBIG.
_FULL_DISK = textwrap.dedent(
    """
    import resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
    from lsid_keras.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.mark.parametrize("workers", ["1", "2"])  # in worker processes, as the CLI always does
def test_a_full_disk_stops_with_one_line_and_the_rerun_completes(pairs, tmp_path, capsys, workers):
    cache_dir = tmp_path / "cache"
    argv = ["prepare", str(tmp_path / "sid"), "--list", str(tmp_path / "sid/Sony_train_list.txt")]
    argv += ["--cache", str(cache_dir), "--workers", workers, "--quiet"]
    full = _run(["-c", _FULL_DISK, *argv])
    assert full.returncode == 2 and full.stdout == ""
    [line] = full.stderr.splitlines()
    target = r"targets/0000[12]_00_10s-\w+\.npy"  # either target may be the first to not fit
    assert re.match(rf"{re.escape(ERROR + str(cache_dir))}: {target}: not written", line)
    assert "the next run resumes" in line
    leftovers = [n for _, _, names in os.walk(cache_dir) for n in names if ".tmp" in n]
    assert leftovers == []
    for record in (cache_dir / "journal.jsonl").read_text().splitlines():
        assert os.path.exists(cache_dir / json.loads(record)["file"])

    assert main(argv) == 0
    assert "0 failed" in capsys.readouterr().out
    assert len(load_manifest(cache_dir)) == 4
    assert len((cache_dir / "journal.jsonl").read_text().splitlines()) == 6


_JOURNAL_LIMIT = textwrap.dedent(
    """
    import os, resource, signal, sys
    from lsid_keras.data.cache import _append_journal_line
    from lsid_keras.atomic import DiskFullError
    path = sys.argv[1]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(path) + 10,) * 2)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        _append_journal_line(descriptor, path, {"kind": "input", "source": "x" * 100})
    except DiskFullError as error:
        print(error)
    """
)


def test_a_journal_line_that_does_not_fit_leaves_no_part_of_itself(tmp_path):
    journal = tmp_path / "journal.jsonl"
    journal.write_text('{"kind": "target"}\n')
    result = _run(["-c", _JOURNAL_LIMIT, str(journal)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{journal}: not written")
    assert journal.read_text() == '{"kind": "target"}\n'


def test_disk_full_reaches_prepare_callers_as_one_error(pairs, tmp_path, monkeypatch):
    def no_space(*task):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache, "_decode", no_space)
    with pytest.raises(DiskFullError, match=r"No space left on device \(errno 28\).*0 file"):
        prepare_cache(pairs, tmp_path / "cache", workers=0, progress=False)
