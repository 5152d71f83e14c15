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

float16 keeps every packed value below 2048 DN above black within half a DN, so the 1-DN
quantisation of short exposures (whose useful range ends far below that) survives; above it the
relative error is below 1/2048. It halves the disk and read cost of float32.

Each file is written under a temporary name and renamed, so the cache never holds half a file.
A source whose size or modification time changed since it was cached is stale and is decoded
again by the next `prepare_cache`; `load_manifest` refuses stale entries.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np

from lsid_keras.atomic import atomic_output, write_json_atomic

MANIFEST = "manifest.json"
JOURNAL = "journal.jsonl"
CACHE_VERSION = 1


class CacheError(RuntimeError):
    """A cache that is missing, from another version, or stale; the message says what to do."""


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
    """Writes `array` to `path` as `.npy` under a temporary name, then renames it."""
    with atomic_output(path) as temporary:
        np.save(temporary, array)


def _decode(kind, source, cache_dir, relative):
    """Worker: decodes one source file into `cache_dir/relative`; returns its journal record."""
    from lsid_keras.raw import pack, read_raw
    from lsid_keras.raw.develop import develop

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


def _is_fresh(record, cache_dir):
    try:
        return record["signature"] == source_signature(record["source"]) and os.path.exists(
            os.path.join(cache_dir, record["file"])
        )
    except OSError:
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
    `workers` processes (default: all cores). A file that fails (corrupt RAW, ...) is reported
    in the summary and left out of the manifest; every other file is still cached.

    Args:
        pairs: sequence of `SidPair`.
        cache_dir: output folder (created).
        workers: int >= 1, decoding processes; 1 decodes in this process.
        progress: show a tqdm progress bar.

    Returns:
        `PrepareSummary`; `failed` lists `(source path, message)`.
    """
    from tqdm import tqdm

    cache_dir = os.path.abspath(cache_dir)
    for sub in ("inputs", "targets"):
        os.makedirs(os.path.join(cache_dir, sub), exist_ok=True)
    start = time.perf_counter()
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
    failed = []
    workers = workers or os.cpu_count() or 1
    bar = tqdm(total=len(todo), desc="decoding RAW", unit="file", disable=not progress)
    journal_path = os.path.join(cache_dir, JOURNAL)
    _end_cut_line(journal_path)
    with open(journal_path, "a", encoding="utf-8") as journal:

        def record(result):
            done[result["kind"], result["source"]] = result
            journal.write(json.dumps(result) + "\n")
            journal.flush()
            bar.update()

        if workers == 1:
            for task in todo:
                try:
                    record(_decode(*task))
                except Exception as error:  # noqa: BLE001 - reported per file below
                    failed.append((task[1], str(error)))
                    bar.update()
        else:
            # spawn, not fork: forking a process that has TensorFlow's threads running can hang.
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                futures = {pool.submit(_decode, *task): task for task in todo}
                for future in as_completed(futures):
                    try:
                        record(future.result())
                    except Exception as error:  # noqa: BLE001 - reported per file below
                        failed.append((futures[future][1], str(error)))
                        bar.update()
    bar.close()
    _write_manifest(cache_dir, pairs, done)
    return PrepareSummary(
        pairs=len(pairs),
        decoded=len(todo) - len(failed),
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
    the training loop. Existing files are kept, so a killed run continues.

    Returns:
        int, number of files written.
    """
    from tqdm import tqdm

    from lsid_keras.contrast import improve_contrast

    targets = sorted({p.target_file for p in load_manifest(cache_dir, check_sources=False)})
    todo = [t for t in targets if not os.path.exists(contrast_target_file(t))]
    if todo:
        os.makedirs(os.path.dirname(contrast_target_file(todo[0])), exist_ok=True)
    for target in tqdm(todo, desc="contrast targets", unit="file", disable=not progress):
        image = np.load(target).astype(np.float32) / 65535
        improved = improve_contrast(image)
        save_npy_atomic(
            contrast_target_file(target), np.rint(np.clip(improved, 0, 1) * 65535).astype(np.uint16)
        )
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
    with open(path, encoding="utf-8") as file:
        data = json.load(file)
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

