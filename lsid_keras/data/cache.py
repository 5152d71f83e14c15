"""The on-disk cache of decoded SID pairs: packed inputs and 16-bit ground truth, memory-mapped.

Decoding a 12-24 MP RAW file and developing its ground truth takes seconds, and keeping a
decoded dataset in RAM takes 64-128 GB. `prepare_cache` decodes every file once into `.npy`
files that training reads crop by crop through `np.load(mmap_mode="r")`:

    CACHE/
      inputs/<short stem>.npy    packed short exposure, float16 in [0, 1] (not amplified)
      targets/<long stem>.npy    developed long exposure, uint16 sRGB (H*b, W*b, 3)
      journal.jsonl              one line per finished file (append-only: a killed run loses at
                                 most the files in flight)
      manifest.json              the pairs (file names, ratios, shapes) for the pipeline
      .lock                      held (flock) by the one process writing the cache

float16 keeps every packed value below 2048 DN above black within half a DN, so the 1-DN
quantisation of short exposures (whose useful range ends far below that) survives; above it the
relative error is below 1/2048. It halves the disk and read cost of float32.

Each file is written under a temporary name and renamed, so the cache never holds half a file;
each journal line is one `write()`, cut back if the disk is full. Files are decoded in worker
processes, and a worker that dies (LibRaw crashing on a hostile file) fails that file only.
A source whose size or modification time changed since it was cached is stale and is decoded
again by the next `prepare_cache`; `load_manifest` refuses stale entries.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import multiprocessing
import os
import signal
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import numpy as np

from lsid_keras.atomic import (
    DiskFullError,
    atomic_output,
    disk_full_error,
    is_disk_full,
    short_write_error,
    write_json_atomic,
)
from lsid_keras.errors import LsidError, PathError

MANIFEST = "manifest.json"
JOURNAL = "journal.jsonl"
LOCK = ".lock"
#: Test hook: a worker decoding a source whose path contains this value aborts (SIGABRT), as
#: LibRaw would on a hostile file, so tests can check that a decoder crash fails one file only.
CRASH_HOOK = "LSID_TEST_CRASH_ON"
CACHE_VERSION = 1


class CacheError(LsidError, RuntimeError):
    """A cache that is missing, from another version, or stale; the message says what to do."""


class CacheBusyError(PathError, OSError):
    """Another process is writing the cache (`lsid prepare` refuses to share it)."""


@dataclass(frozen=True)
class CachedPair:
    """One pair of the cache, as the pipeline reads it.

    Attributes:
        input_file, target_file: absolute paths of the `.npy` files.
        ratio: amplification ratio for the input.
        cfa_kind: "bayer" or "xtrans".
        scene, burst: SID scene id and burst index.
        short_path: the short-exposure RAW file it came from.
    """

    input_file: str
    target_file: str
    ratio: float
    cfa_kind: str
    scene: int
    burst: int
    short_path: str


def source_signature(path):
    """(size in bytes, modification time in ns) of a source file; changes mean re-decode."""
    stat = os.stat(path)
    return [stat.st_size, stat.st_mtime_ns]


def _cache_name(path):
    """`<stem>-<hash of the absolute path>.npy`: readable, and unique across cameras/folders."""
    stem = os.path.splitext(os.path.basename(path))[0]
    digest = hashlib.sha1(os.path.abspath(path).encode("utf-8")).hexdigest()[:8]
    return f"{stem}-{digest}.npy"


def save_npy_atomic(path, array):
    """Writes `array` to `path` as `.npy` under a temporary name, then renames it.

    The data goes through Python's file writes rather than `np.save`, whose `tofile` reports a
    full disk as "N requested and M written" with no errno; here it is an `OSError` with
    ENOSPC / EFBIG, which `atomic_output` turns into `DiskFullError`.
    """
    array = np.ascontiguousarray(array)
    with atomic_output(path) as temporary, open(temporary, "wb") as file:
        np.lib.format.write_array_header_1_0(file, np.lib.format.header_data_from_array_1_0(array))
        if array.size:
            file.write(array.reshape(-1).data.cast("B"))


def _decode(kind, source, cache_dir, relative):
    """Worker: decodes one source file into `cache_dir/relative`; returns its journal record."""
    from lsid_keras.raw import pack, read_raw
    from lsid_keras.raw.develop import develop

    crash_on = os.environ.get(CRASH_HOOK)
    if crash_on and crash_on in source:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a test crash leaves no core file
        os.abort()
    signature = source_signature(source)
    if kind == "input":
        frame = read_raw(source)
        array = pack(frame).astype(np.float16)
        extra = {"cfa_kind": frame.cfa_kind}
    else:
        array = develop(source)
        extra = {}
    save_npy_atomic(os.path.join(cache_dir, relative), array)
    return {
        "kind": kind,
        "source": source,
        "signature": signature,
        "file": relative,
        "shape": list(array.shape),
        **extra,
    }


@dataclass(frozen=True)
class _Outcome:
    """What became of one task: its journal record, or one line saying why it failed.

    Only plain data crosses the process boundary, whatever the worker raised.
    """

    source: str
    record: dict | None = None
    message: str | None = None
    disk_full: tuple | None = None  # (path, reason, errno) when the disk was full


def _failure_message(source, error):
    """One line naming `source`: a package error's own message, else the exception's type too."""
    message = str(error) if isinstance(error, LsidError) else f"{type(error).__name__}: {error}"
    return message if message.startswith(source) else f"{source}: {message}"


def _decode_outcome(task):
    """Worker entry: `_decode(*task)` as an `_Outcome`; any exception fails this task only."""
    source = task[1]
    try:
        return _Outcome(source, record=_decode(*task))
    except Exception as error:  # noqa: BLE001 - every failure is reported for its own file
        full = None
        if is_disk_full(error):
            error = disk_full_error(error.filename or source, error)
            full = (error.path, error.reason, error.errno)
        return _Outcome(source, message=_failure_message(source, error), disk_full=full)


def _crash_message(source, exitcode):
    """`"<source>: the decoder crashed on this file (exit code -11, SIGSEGV)"`."""
    detail = f"exit code {exitcode}"
    if exitcode is not None and exitcode < 0:
        with contextlib.suppress(ValueError):
            name = signal.Signals(-exitcode).name
            detail += f", {name}" + (": out of memory?" if name == "SIGKILL" else "")
    return f"{source}: the decoder crashed on this file ({detail})"


def _outcome_to_pipe(connection, task):
    """Child of `_decode_alone`: says it started, then sends the outcome (unless it dies)."""
    connection.send(None)
    connection.send(_decode_outcome(task))
    connection.close()


def _decode_alone(task, context):
    """Decodes one task in a process of its own; a crash of that process fails this task.

    Raises:
        CacheError: the process died before it started decoding (a broken installation, not
            a bad file), so no file is blamed.
    """
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_outcome_to_pipe, args=(sender, task), daemon=True)
    process.start()
    sender.close()  # the child holds the only write end: its death ends `recv` with EOFError
    started, outcome = False, None
    try:
        started = receiver.recv() is None
        outcome = receiver.recv()
    except EOFError:
        pass
    finally:
        receiver.close()
        process.join()
    if not started:
        raise CacheError(
            f"{task[2]}: a decoding process died before it started (exit code "
            f"{process.exitcode}); decode in this process (workers=0) to see why"
        )
    return outcome or _Outcome(task[1], message=_crash_message(task[1], process.exitcode))


def _decode_in_processes(todo, workers, report):
    """Runs `_decode_outcome` on every task in `workers` spawned processes; calls `report`.

    A worker that dies (a segfault or abort inside LibRaw, the out-of-memory killer) breaks a
    `ProcessPoolExecutor` and every task in flight with it. At most `workers` tasks are in
    flight, so only those are suspects: each is decoded again alone, in a process of its own,
    which finds the one that crashes and spares the others; the rest go on in a fresh pool.
    `report(outcome)` returns False to stop starting new tasks (the disk is full).
    """
    # spawn, not fork: forking a process that has TensorFlow's threads running can hang.
    context = multiprocessing.get_context("spawn")
    pending = deque(todo)
    going = True
    while pending and going:
        suspects = []
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        try:
            in_flight = {}
            while (pending and going and not suspects) or in_flight:
                while pending and going and not suspects and len(in_flight) < workers:
                    task = pending.popleft()
                    try:
                        in_flight[pool.submit(_decode_outcome, task)] = task
                    except BrokenProcessPool:
                        suspects.append(task)
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    task = in_flight.pop(future)
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        suspects.append(task)
                        continue
                    going = report(outcome) and going
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        for task in suspects:
            if going:
                going = report(_decode_alone(task, context))


def read_journal(cache_dir):
    """Finished files by (kind, source): the last complete journal line for each wins."""
    records = {}
    path = os.path.join(cache_dir, JOURNAL)
    if not os.path.exists(path):
        return records
    with open(path, encoding="utf-8") as file:
        for line in file:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill
            records[record["kind"], record["source"]] = record
    return records


def _end_cut_line(journal_path):
    """Ends a last line cut short by a kill, so the next record starts on a line of its own."""
    if not os.path.exists(journal_path) or os.path.getsize(journal_path) == 0:
        return
    with open(journal_path, "rb+") as file:
        file.seek(-1, os.SEEK_END)
        if file.read(1) != b"\n":
            file.write(b"\n")


def _append_journal_line(descriptor, path, record):
    """Appends `record` as one JSON line in one `write()`; a full disk leaves no part of it.

    Raises:
        DiskFullError: the line did not fit; the journal is cut back to where it was.
    """
    line = (json.dumps(record) + "\n").encode("utf-8")
    size = os.fstat(descriptor).st_size
    try:
        written = os.write(descriptor, line)
    except OSError as error:
        if is_disk_full(error):
            raise disk_full_error(path, error) from error
        raise
    if written != len(line):  # a short write: the disk or the file-size limit is full
        os.ftruncate(descriptor, size)
        raise short_write_error(path, len(line), written)


@contextlib.contextmanager
def _sole_writer(cache_dir):
    """Holds an advisory lock on `cache_dir/.lock` for the block, or refuses at once.

    `flock` locks die with their process, so a killed writer never leaves a stale lock. The
    holder's process id is written in the file for the refusal message.

    Raises:
        CacheBusyError: another process holds the lock.
    """
    path = os.path.join(cache_dir, LOCK)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
            who = f"process {holder}" if holder.isdigit() else "another process"
            raise CacheBusyError(
                cache_dir,
                f"{who} is writing this cache (another lsid prepare?); wait until it "
                "finishes, or give another cache folder",
                errno.EBUSY,
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _remove_leftover_temporaries(cache_dir):
    """Deletes temporaries a killed writer left (`.<name>.<random>.tmp.npy`); needs the lock."""
    for sub in ("inputs", "targets", "targets_contrast"):
        folder = os.path.join(cache_dir, sub)
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                if name.startswith(".") and ".tmp" in name:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(folder, name))


def _is_fresh(record, cache_dir):
    """The source is unchanged and its cache file is whole (a damaged one is decoded again)."""
    try:
        if record["signature"] != source_signature(record["source"]):
            return False
        np.load(os.path.join(cache_dir, record["file"]), mmap_mode="r")
        return True
    except (OSError, ValueError):
        return False


@dataclass
class PrepareSummary:
    """What `prepare_cache` did: counts of files decoded, reused and failed, and seconds."""

    pairs: int
    decoded: int
    reused: int
    failed: list
    seconds: float


def prepare_cache(pairs, cache_dir, workers=None, progress=True):
    """Decodes the files of `pairs` (from `read_pair_list`) into `cache_dir`; resumable.

    Files already cached with an unchanged source are reused; the rest are decoded by
    `workers` processes (default: all cores). A file that fails is reported in the summary and
    left out of the manifest, with its pairs; every other file is still cached. That holds for
    a worker process that crashes (a segfault or abort inside LibRaw on a hostile file, the
    out-of-memory killer): the file it was decoding fails with "the decoder crashed on this
    file", and the others go on in fresh processes.

    One writer per cache: a second `prepare_cache` on a cache that another process is writing
    refuses at once (`CacheBusyError`) instead of decoding everything a second time. A full
    disk stops the run (`DiskFullError`): every file finished before it is kept, no partial
    file or journal line is left, and the next run resumes.

    Args:
        pairs: sequence of `SidPair`.
        cache_dir: output folder (created).
        workers: int >= 0, decoding processes (None: one per core). 0 decodes in this process
            instead, without crash isolation (a decoder crash ends it; the next run resumes
            after the finished files): for debugging, and for tests that patch `_decode`.
        progress: show a tqdm progress bar.

    Returns:
        `PrepareSummary`; `failed` lists `(source path, message)`, one per failed file; each
        message starts with the source path.

    Raises:
        CacheBusyError: another process is writing `cache_dir`.
        DiskFullError: a cache file or the journal did not fit on the disk.
    """
    from lsid_keras.progress import progress_bar

    if workers is None:
        workers = os.cpu_count() or 1
    if not isinstance(workers, int) or workers < 0:
        raise ValueError(f"workers must be an int >= 0. Received: workers={workers!r}")
    cache_dir = os.path.abspath(cache_dir)
    for sub in ("inputs", "targets"):
        os.makedirs(os.path.join(cache_dir, sub), exist_ok=True)
    start = time.perf_counter()
    with _sole_writer(cache_dir):
        _remove_leftover_temporaries(cache_dir)
        done = {key: r for key, r in read_journal(cache_dir).items() if _is_fresh(r, cache_dir)}
        wanted = {}
        for pair in pairs:
            wanted.setdefault(("target", pair.long_path), "targets")
            wanted.setdefault(("input", pair.short_path), "inputs")
        todo = [
            (kind, source, cache_dir, os.path.join(sub, _cache_name(source)))
            for (kind, source), sub in wanted.items()
            if (kind, source) not in done
        ]
        failed, decoded, disk_full = [], [], []
        bar = progress_bar(total=len(todo), desc="decoding RAW", unit="file", disable=not progress)
        journal_path = os.path.join(cache_dir, JOURNAL)
        _end_cut_line(journal_path)
        journal = os.open(journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:

            def report(outcome):
                """Journals one outcome; False (stop) once the disk is full."""
                bar.update()
                if outcome.disk_full:
                    disk_full.append(outcome)
                    return False
                if outcome.record is None:
                    failed.append((outcome.source, outcome.message))
                    return True
                _append_journal_line(journal, journal_path, outcome.record)
                done[outcome.record["kind"], outcome.source] = outcome.record
                decoded.append(outcome.source)
                return True

            if workers == 0:
                for task in todo:
                    if not report(_decode_outcome(task)):
                        break
            else:
                _decode_in_processes(todo, workers, report)
        finally:
            os.close(journal)
            bar.close()
        _write_manifest(cache_dir, pairs, done)
    if disk_full:
        path, reason, number = disk_full[0].disk_full
        kept = f"{len(decoded)} file(s) decoded before it are kept; the next run resumes"
        inside = os.path.commonpath([cache_dir, os.path.abspath(path)]) == cache_dir
        where = os.path.relpath(path, cache_dir) if inside else path
        raise DiskFullError(cache_dir, f"{where}: {reason} ({kept})", number)
    return PrepareSummary(
        pairs=len(pairs),
        decoded=len(decoded),
        reused=len(wanted) - len(todo),
        failed=failed,
        seconds=time.perf_counter() - start,
    )


def _write_manifest(cache_dir, pairs, done):
    entries = []
    for pair in pairs:
        short = done.get(("input", pair.short_path))
        long = done.get(("target", pair.long_path))
        if short is None or long is None:
            continue
        entries.append(
            {
                "input": short["file"],
                "target": long["file"],
                "input_shape": short["shape"],
                "target_shape": long["shape"],
                "cfa_kind": short["cfa_kind"],
                "ratio": pair.ratio,
                "scene": pair.scene,
                "burst": pair.burst,
                "short_path": pair.short_path,
                "long_path": pair.long_path,
                "short_signature": short["signature"],
                "long_signature": long["signature"],
            }
        )
    write_json_atomic(
        os.path.join(cache_dir, MANIFEST), {"version": CACHE_VERSION, "pairs": entries}
    )


def contrast_target_file(target_file):
    """Where the contrast-improved version of a cached target lives (`targets_contrast/`)."""
    directory, name = os.path.split(target_file)
    return os.path.join(os.path.dirname(directory), "targets_contrast", name)


def add_contrast_targets(cache_dir, progress=True):
    """Writes the contrast-improved ground truth of every cached target (resumable).

    Zamir et al. fine-tune on ground truth passed through the same contrast improvement as
    their outputs (`lsid_keras.contrast.improve_contrast`); computing it once here keeps it off
    the training loop. Existing files are kept, so a killed run continues. Like
    `prepare_cache`, it refuses a cache that another process is writing (`CacheBusyError`).

    Returns:
        int, number of files written.
    """
    from lsid_keras.contrast import improve_contrast
    from lsid_keras.progress import progress_bar

    targets = sorted({p.target_file for p in load_manifest(cache_dir, check_sources=False)})
    todo = [t for t in targets if not os.path.exists(contrast_target_file(t))]
    if not todo:
        return 0
    with _sole_writer(os.path.abspath(cache_dir)):
        os.makedirs(os.path.dirname(contrast_target_file(todo[0])), exist_ok=True)
        for target in progress_bar(todo, desc="contrast targets", unit="file",
                                   disable=not progress):
            image = np.load(target).astype(np.float32) / 65535
            improved = np.rint(np.clip(improve_contrast(image), 0, 1) * 65535)
            save_npy_atomic(contrast_target_file(target), improved.astype(np.uint16))
    return len(todo)


def _target_file(cache_dir, relative, target):
    path = os.path.join(cache_dir, relative)
    if target == "contrast":
        path = contrast_target_file(path)
        if not os.path.exists(path):
            raise CacheError(f"{path}: no contrast target; run add_contrast_targets first")
    return path


def load_manifest(cache_dir, check_sources=True, target="ground_truth"):
    """The cached pairs of `cache_dir`, as `CachedPair`s.

    Args:
        cache_dir: a folder written by `prepare_cache`.
        target: "ground_truth" (developed long exposures) or "contrast" (their
            contrast-improved versions, written by `add_contrast_targets`).
        check_sources: refuse entries whose source RAW file changed since it was cached (sources
            that no longer exist, e.g. a cache copied to another machine, are not checked).

    Raises:
        CacheError: no manifest, another cache version, or stale entries.
    """
    cache_dir = os.path.abspath(cache_dir)
    path = os.path.join(cache_dir, MANIFEST)
    if not os.path.exists(path):
        raise CacheError(
            f"{cache_dir}: no {MANIFEST}; run `lsid prepare ROOT --list LIST "
            f"--cache {cache_dir}` first"
        )
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
        if not isinstance(data, dict) or not isinstance(data.get("pairs"), list):
            raise ValueError("no list of pairs")
    except (OSError, ValueError) as error:  # JSONDecodeError and UnicodeDecodeError included
        raise CacheError(
            f"{path}: unreadable manifest ({error}); run `lsid prepare` again to rebuild it"
        ) from None
    if data.get("version") != CACHE_VERSION:
        raise CacheError(
            f"{path}: cache version {data.get('version')} is not {CACHE_VERSION}; "
            "prepare it again"
        )
    if target not in ("ground_truth", "contrast"):
        raise ValueError(f"target must be 'ground_truth' or 'contrast'. Received: {target!r}")
    pairs, stale = [], []
    for entry in data["pairs"]:
        if check_sources:
            for key in ("short", "long"):
                source = entry[f"{key}_path"]
                signature = entry[f"{key}_signature"]
                if os.path.exists(source) and source_signature(source) != signature:
                    stale.append(source)
        pairs.append(
            CachedPair(
                input_file=os.path.join(cache_dir, entry["input"]),
                target_file=_target_file(cache_dir, entry["target"], target),
                ratio=float(entry["ratio"]),
                cfa_kind=entry["cfa_kind"],
                scene=int(entry["scene"]),
                burst=int(entry["burst"]),
                short_path=entry["short_path"],
            )
        )
    if stale:
        raise CacheError(
            f"{cache_dir}: {len(stale)} source file(s) changed since they were cached (first: "
            f"{stale[0]}); run `lsid prepare` again to refresh them"
        )
    return pairs

