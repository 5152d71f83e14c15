"""Public natural-photo sets for `lsid synth`, fetched at run time and checked by sha256.

The registry (`photo_sets.json` beside this module) names each set, its purpose, the public
repository and commit it comes from and every file's sha256 and size, so a download is
reproducible to the byte. Sets come in two purposes:

- "train": photos `lsid synth images=<folder>` may unprocess into training scenes.
- "evaluation": Set5, Set14 and Urban100, the photos super-resolution and denoising papers
  test on. They are reserved for independent evaluation (the cross-noise test set) and must
  never reach training; `reserved_for_evaluation` finds them in a list of photo paths by
  content, whatever their names.

`download_photo_set` fills a folder with one set: files already there with the right sha256
are kept, files found in local folders (an exported repository snapshot, another photo folder)
with the right sha256 are copied, the rest are downloaded. Every file is written under a
temporary name and renamed only once its sha256 matches, so an interrupted run leaves no
partial file and a rerun continues where it stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request

from lsid_keras.atomic import DiskFullError, atomic_output, copy_file_atomic
from lsid_keras.errors import PathError

#: The registry: sets, their sources and every file's sha256 (JSON, shipped as package data).
REGISTRY_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "photo_sets.json")
#: Purposes a set can have.
PURPOSES = ("train", "evaluation")
#: Seconds a download waits for the server before it gives up on a file.
DEFAULT_TIMEOUT = 60.0
#: Tries per file for downloads that fail on the network (not on a wrong sha256).
DOWNLOAD_TRIES = 3
_CHUNK = 1 << 16
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_RAW_URL = "https://raw.githubusercontent.com/{owner_repo}/{commit}/{path}"


class PhotoSetError(PathError):
    """A photo-set file that could not be fetched or verified; one line naming the file."""


@dataclasses.dataclass(frozen=True)
class PhotoFile:
    """One photo of a set.

    Attributes:
        name: file name in a photo folder (set name + original name, unique across sets).
        url: download URL, pinned to the set's commit.
        sha256: hex digest of the file's bytes.
        size: file size in bytes.
        path: the file's path inside the source repository (also looked for under `--from`).
    """

    name: str
    url: str
    sha256: str
    size: int
    path: str


@dataclasses.dataclass(frozen=True)
class PhotoSet:
    """A named set of photos from one public repository at one commit.

    Attributes:
        name: registry name ("sun_hays80", "set5", ...).
        description: what the photos are and where they were published.
        purpose: "train", or "evaluation" (reserved: never used for training).
        repository: the GitHub repository's URL.
        commit: the pinned commit (40 hex digits) every URL points at.
        licence: what is known of the photos' terms of use.
        image_size: typical width x height in pixels, in words.
        files: the photos.
    """

    name: str
    description: str
    purpose: str
    repository: str
    commit: str
    licence: str
    image_size: str
    files: tuple[PhotoFile, ...]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def raw_url(repository, commit, path):
    """The raw.githubusercontent.com URL of `path` in a GitHub `repository` at `commit`."""
    owner_repo = repository.rstrip("/").removeprefix("https://github.com/")
    return _RAW_URL.format(owner_repo=owner_repo, commit=commit, path=urllib.parse.quote(path))


def load_registry(path=REGISTRY_FILE) -> dict[str, PhotoSet]:
    """Reads a registry file: {set name: PhotoSet}, in the file's order.

    Raises:
        ValueError: a set or file entry is malformed (bad purpose, sha256, name or commit).
    """
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    sets = {}
    for name, entry in data["sets"].items():
        files = tuple(
            PhotoFile(
                name=f["name"],
                url=raw_url(entry["repository"], entry["commit"], f["path"]),
                sha256=f["sha256"],
                size=int(f["size"]),
                path=f["path"],
            )
            for f in entry["files"]
        )
        photo_set = PhotoSet(
            name=name,
            description=entry["description"],
            purpose=entry["purpose"],
            repository=entry["repository"],
            commit=entry["commit"],
            licence=entry.get("licence", "unknown"),
            image_size=entry.get("image_size", ""),
            files=files,
        )
        validate_photo_set(photo_set)
        sets[name] = photo_set
    return sets


def validate_photo_set(photo_set):
    """Checks one set's entry; raises ValueError naming the set and the bad value."""
    where = f"photo set {photo_set.name!r}"
    if photo_set.purpose not in PURPOSES:
        raise ValueError(f"{where}: purpose must be one of {PURPOSES}. "
                         f"Received: purpose={photo_set.purpose!r}")
    if not re.fullmatch(r"[0-9a-f]{40}", photo_set.commit):
        raise ValueError(f"{where}: commit must be 40 hex digits. "
                         f"Received: commit={photo_set.commit!r}")
    names = set()
    for f in photo_set.files:
        if not _SHA256.match(f.sha256):
            raise ValueError(f"{where}: {f.name}: sha256 must be 64 hex digits. "
                             f"Received: sha256={f.sha256!r}")
        if not f.name or os.path.basename(f.name) != f.name or f.name.startswith("."):
            raise ValueError(f"{where}: file names must be plain names. Received: {f.name!r}")
        if f.name in names:
            raise ValueError(f"{where}: file name {f.name!r} appears twice")
        names.add(f.name)


#: Every registered set by name.
PHOTO_SETS: dict[str, PhotoSet] = load_registry()
#: Sets whose photos may be used for training, in registry order.
TRAINING_SETS = tuple(n for n, s in PHOTO_SETS.items() if s.purpose == "train")
#: Sets reserved for evaluation (Set5, Set14, Urban100): never train on them.
EVALUATION_SETS = tuple(n for n, s in PHOTO_SETS.items() if s.purpose == "evaluation")


def get_photo_set(name) -> PhotoSet:
    """The registered set `name`; ValueError listing the known names if there is none."""
    try:
        return PHOTO_SETS[name]
    except KeyError:
        raise ValueError(
            f"unknown photo set {name!r}; known sets: {', '.join(PHOTO_SETS)}"
        ) from None


def resolve_set_names(names) -> list[str]:
    """Set names with the groups "train" and "evaluation" expanded, duplicates dropped."""
    resolved = []
    for name in names:
        if name in PURPOSES and name not in PHOTO_SETS:
            group = [n for n, s in PHOTO_SETS.items() if s.purpose == name]
        else:
            group = [get_photo_set(name).name]
        resolved += [n for n in group if n not in resolved]
    return resolved


def file_sha256(path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _matches(path, photo) -> bool:
    """True if `path` is a file with `photo`'s size and sha256."""
    try:
        if os.path.getsize(path) != photo.size:
            return False
    except OSError:
        return False
    return file_sha256(path) == photo.sha256


def _local_candidates(photo, source_dirs):
    """Where a copy of `photo` may lie under each source folder: the repository path, the
    registry name, or the original name."""
    for folder in source_dirs:
        for relative in (photo.path, photo.name, os.path.basename(photo.path)):
            yield os.path.join(folder, relative)


def _download(photo, target, timeout):
    """Downloads `photo` to `target` through a temporary file; PhotoSetError on failure."""
    last_error = None
    for _ in range(DOWNLOAD_TRIES):
        try:
            with atomic_output(target) as temporary:
                digest = hashlib.sha256()
                request = urllib.request.Request(photo.url, headers={"User-Agent": "lsid-keras"})
                with urllib.request.urlopen(request, timeout=timeout) as response, \
                        open(temporary, "wb") as out:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        digest.update(chunk)
                        out.write(chunk)
                if digest.hexdigest() != photo.sha256:
                    raise PhotoSetError(
                        target,
                        f"downloaded from {photo.url} with sha256 {digest.hexdigest()}, "
                        f"expected {photo.sha256}; not kept",
                    )
            return
        except (PhotoSetError, DiskFullError):
            raise
        except (urllib.error.URLError, OSError, ValueError) as error:
            if isinstance(error, urllib.error.HTTPError) and error.code < 500:
                last_error = error
                break  # a missing file or a refused request does not come back on retry
            last_error = error
    reason = getattr(last_error, "reason", None) or last_error
    raise PhotoSetError(target, f"could not download {photo.url}: {reason}")


def download_photo_set(name, folder, progress=True, source_dir=None,
                       timeout=DEFAULT_TIMEOUT) -> dict:
    """Fills `folder` with the photos of set `name`, each checked by sha256.

    Files already in `folder` with the right sha256 are kept; a file of the same name with
    other content is replaced. Each missing photo is copied from the first of `source_dir`'s
    folders that holds it with the right sha256 (under its repository path, its registry name
    or its original name), else downloaded from its pinned URL. Interrupted runs leave no
    partial files; running again continues where the last run stopped.

    Args:
        name: a registered set name (see `PHOTO_SETS`).
        folder: the photo folder, created if needed; may be shared by several sets of one
            purpose (names are unique across sets).
        progress: show a progress bar on stderr.
        source_dir: a local folder, or a list of folders, to copy photos from before
            downloading (for example a repository snapshot exported with `git archive`).
        timeout: seconds to wait for the server, per request.

    Returns:
        {"set", "folder", "photos", "kept", "copied", "downloaded"}: counts of photos.

    Raises:
        ValueError: unknown set name.
        PhotoSetError: a photo could not be downloaded or had the wrong sha256 (one line
            naming the file and the URL); photos fetched before it stay in `folder`.
    """
    photo_set = get_photo_set(name)
    folder = os.fspath(folder)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise PhotoSetError(folder, "not a folder")
    os.makedirs(folder, exist_ok=True)
    if source_dir is None:
        source_dirs = []
    elif isinstance(source_dir, (str, os.PathLike)):
        source_dirs = [os.fspath(source_dir)]
    else:
        source_dirs = [os.fspath(d) for d in source_dir]
    for source in source_dirs:
        if not os.path.isdir(source):
            raise PhotoSetError(source, "source folder not found")
    counts = {"kept": 0, "copied": 0, "downloaded": 0}
    from lsid_keras.progress import progress_bar

    with progress_bar(photo_set.files, desc=name, unit="photo", disable=not progress) as bar:
        for photo in bar:
            target = os.path.join(folder, photo.name)
            if _matches(target, photo):
                counts["kept"] += 1
                continue
            source = next(
                (c for c in _local_candidates(photo, source_dirs)
                 if os.path.abspath(c) != os.path.abspath(target) and _matches(c, photo)),
                None,
            )
            if source is not None:
                copy_file_atomic(source, target)
                counts["copied"] += 1
            else:
                _download(photo, target, timeout)
                counts["downloaded"] += 1
    return {"set": name, "folder": folder, "photos": len(photo_set.files), **counts}


def check_photo_set(folder, name) -> list[str]:
    """Problems with set `name` in `folder`, one line each ([] when every photo is there and
    has the right sha256)."""
    photo_set = get_photo_set(name)
    problems = []
    for photo in photo_set.files:
        path = os.path.join(os.fspath(folder), photo.name)
        if not os.path.exists(path):
            problems.append(f"{path}: missing (photo set {name})")
        elif not _matches(path, photo):
            problems.append(f"{path}: sha256 differs from photo set {name}'s {photo.sha256}")
    return problems


def photo_set_paths(folder, names) -> list[str]:
    """The paths of sets `names` (set names or "train"/"evaluation") in `folder`, checked.

    Raises:
        PhotoSetError: a photo is missing or has the wrong sha256 (the first problem, and
            how many there are); run `lsid photos NAME --out FOLDER` to complete the folder.
    """
    paths, problems = [], []
    for name in resolve_set_names(names):
        problems += check_photo_set(folder, name)
        paths += [os.path.join(os.fspath(folder), f.name) for f in PHOTO_SETS[name].files]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PhotoSetError(None, f"{problems[0]}{more}; run `lsid photos "
                            f"{' '.join(names)} --out {folder}` to complete it")
    return paths


def reserved_for_evaluation(paths) -> list[str]:
    """The paths among `paths` whose content is a photo of an evaluation set.

    Compares sha256 (only for files whose size matches an evaluation photo), so renamed
    copies are found too. Training must drop or refuse these photos.
    """
    reserved = {}
    for photo_set in PHOTO_SETS.values():
        if photo_set.purpose == "evaluation":
            for photo in photo_set.files:
                reserved.setdefault(photo.size, set()).add(photo.sha256)
    found = []
    for path in paths:
        path = os.fspath(path)
        try:
            size = os.path.getsize(path)
        except OSError:
            continue
        if size in reserved and file_sha256(path) in reserved[size]:
            found.append(path)
    return found


def describe_photo_sets() -> str:
    """A table of the registered sets: name, purpose, photos, size, MB, source."""
    rows = [("set", "purpose", "photos", "pixels", "MB", "source")]
    for s in PHOTO_SETS.values():
        source = f"{s.repository.removeprefix('https://github.com/')}@{s.commit[:7]}"
        rows.append((s.name, s.purpose, str(len(s.files)), s.image_size,
                     f"{s.total_bytes / 1e6:.0f}", source))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.rjust(w) if i in (2, 4) else c.ljust(w) for i, (c, w) in
                  enumerate(zip(row, widths, strict=True))).rstrip()
        for row in rows
    )


__all__ = [
    "EVALUATION_SETS", "PHOTO_SETS", "PhotoFile", "PhotoSet", "PhotoSetError", "TRAINING_SETS",
    "check_photo_set", "describe_photo_sets", "download_photo_set", "file_sha256",
    "get_photo_set", "load_registry", "photo_set_paths", "reserved_for_evaluation",
    "resolve_set_names",
]
