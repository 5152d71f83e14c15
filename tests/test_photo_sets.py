"""Photo sets: copy from local folders, sha256 checks, resuming, the evaluation guard, the CLI.

No network: the sets these tests fetch are registry entries monkeypatched in, whose files are
written in tmp_path and whose URLs are file:// URLs.
"""

import hashlib
import os
import pathlib
import re
import subprocess
import sys

import pytest

from lsid_keras.cli import main
from lsid_keras.data import photo_sets
from lsid_keras.data.photo_sets import PhotoFile, PhotoSet, PhotoSetError

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _fake_set(tmp_path, name, purpose="train", count=3, remote=True):
    """A set of `count` small files; their 'remote' copies lie under tmp_path/remote/<name>."""
    remote_dir = tmp_path / "remote" / name
    remote_dir.mkdir(parents=True)
    files = []
    for i in range(count):
        data = f"{name} photo {i}".encode() * (i + 1)
        original = f"img{i}.png"
        if remote:
            (remote_dir / original).write_bytes(data)
        files.append(PhotoFile(
            name=f"{name}_{original}",
            url=(remote_dir / original).as_uri(),
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            path=f"photos/{original}",
        ))
    return PhotoSet(name=name, description="test set", purpose=purpose,
                    repository="https://github.com/example/photos", commit=COMMIT,
                    licence="test", image_size="tiny", files=tuple(files))


@pytest.fixture
def fake_sets(tmp_path, monkeypatch):
    sets = {"tiny": _fake_set(tmp_path, "tiny"),
            "tiny_eval": _fake_set(tmp_path, "tiny_eval", purpose="evaluation", count=2)}
    for name, photo_set in sets.items():
        monkeypatch.setitem(photo_sets.PHOTO_SETS, name, photo_set)
    return sets


def _snapshot(tmp_path, photo_set, corrupt=()):
    """A local folder laid out as the repository: photos/<original name>."""
    root = tmp_path / "snapshot"
    for f in photo_set.files:
        data = pathlib.Path(f.url.removeprefix("file://")).read_bytes()
        path = root / f.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"not the photo" if f.name in corrupt else data)
    return root


def _no_temporaries(folder):
    return [p for p in os.listdir(folder) if p.startswith(".") or ".tmp" in p]


def test_copies_from_a_local_folder_without_downloading(tmp_path, fake_sets, monkeypatch):
    source = _snapshot(tmp_path, fake_sets["tiny"])
    monkeypatch.setattr(photo_sets.urllib.request, "urlopen",
                        lambda *a, **k: pytest.fail("downloaded although a copy was local"))
    out = tmp_path / "photos"
    summary = photo_sets.download_photo_set("tiny", out, progress=False, source_dir=source)
    assert summary == {"set": "tiny", "folder": str(out), "photos": 3, "kept": 0,
                       "copied": 3, "downloaded": 0}
    assert sorted(os.listdir(out)) == sorted(f.name for f in fake_sets["tiny"].files)
    assert photo_sets.check_photo_set(out, "tiny") == []


def test_downloads_what_the_local_folder_lacks_or_has_wrong(tmp_path, fake_sets):
    bad = fake_sets["tiny"].files[1].name
    source = _snapshot(tmp_path, fake_sets["tiny"], corrupt={bad})
    out = tmp_path / "photos"
    summary = photo_sets.download_photo_set("tiny", out, progress=False, source_dir=[source])
    assert (summary["copied"], summary["downloaded"]) == (2, 1)
    assert photo_sets.check_photo_set(out, "tiny") == []


def test_a_wrong_hash_is_refused_with_one_line_naming_the_file(tmp_path, fake_sets):
    photo = fake_sets["tiny"].files[0]
    pathlib.Path(photo.url.removeprefix("file://")).write_bytes(b"tampered")
    out = tmp_path / "photos"
    with pytest.raises(PhotoSetError) as error:
        photo_sets.download_photo_set("tiny", out, progress=False)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(str(out / photo.name)) and photo.url in message
    assert photo.sha256 in message
    assert not (out / photo.name).exists() and _no_temporaries(out) == []


def test_a_failed_download_names_the_file_and_the_url(tmp_path, fake_sets):
    photo = fake_sets["tiny"].files[2]
    os.unlink(photo.url.removeprefix("file://"))
    out = tmp_path / "photos"
    with pytest.raises(PhotoSetError, match=re.escape(photo.url)) as error:
        photo_sets.download_photo_set("tiny", out, progress=False)
    assert str(error.value).startswith(str(out / photo.name) + ": could not download")
    # The photos before it were kept: a rerun continues from there.
    assert sorted(os.listdir(out)) == sorted(f.name for f in fake_sets["tiny"].files[:2])


def test_rerun_keeps_good_files_and_replaces_bad_ones(tmp_path, fake_sets):
    out = tmp_path / "photos"
    photo_sets.download_photo_set("tiny", out, progress=False)
    good, bad = fake_sets["tiny"].files[0], fake_sets["tiny"].files[1]
    (out / bad.name).write_bytes(b"half a file")
    before = os.stat(out / good.name).st_mtime_ns
    summary = photo_sets.download_photo_set("tiny", out, progress=False)
    assert (summary["kept"], summary["downloaded"]) == (2, 1)
    assert os.stat(out / good.name).st_mtime_ns == before
    assert photo_sets.check_photo_set(out, "tiny") == []
    assert _no_temporaries(out) == []


def test_check_and_paths_report_missing_and_wrong_photos(tmp_path, fake_sets):
    out = tmp_path / "photos"
    photo_sets.download_photo_set("tiny", out, progress=False)
    files = fake_sets["tiny"].files
    os.unlink(out / files[0].name)
    (out / files[1].name).write_bytes(b"x")
    problems = photo_sets.check_photo_set(out, "tiny")
    assert len(problems) == 2
    assert "missing" in problems[0] and "sha256" in problems[1]
    with pytest.raises(PhotoSetError, match=r"and 1 more.*lsid photos tiny --out"):
        photo_sets.photo_set_paths(out, ["tiny"])
    photo_sets.download_photo_set("tiny", out, progress=False)
    assert photo_sets.photo_set_paths(out, ["tiny"]) == [str(out / f.name) for f in files]


def test_reserved_for_evaluation_finds_evaluation_photos_by_content(tmp_path, fake_sets):
    eval_folder = tmp_path / "eval"
    photo_sets.download_photo_set("tiny_eval", eval_folder, progress=False)
    train_folder = tmp_path / "train"
    photo_sets.download_photo_set("tiny", train_folder, progress=False)
    renamed = train_folder / "innocent.png"
    renamed.write_bytes((eval_folder / fake_sets["tiny_eval"].files[1].name).read_bytes())
    paths = sorted(train_folder.iterdir()) + [tmp_path / "does_not_exist.png"]
    assert photo_sets.reserved_for_evaluation(paths) == [str(renamed)]
    assert photo_sets.reserved_for_evaluation(eval_folder.iterdir()) != []


def test_resolve_set_names_expands_groups_and_rejects_unknown(fake_sets):
    assert "tiny" in photo_sets.resolve_set_names(["train"])
    assert "tiny_eval" not in photo_sets.resolve_set_names(["train"])
    assert photo_sets.resolve_set_names(["tiny", "tiny"]) == ["tiny"]
    with pytest.raises(ValueError, match="unknown photo set 'nope'"):
        photo_sets.resolve_set_names(["nope"])


def test_cli_copies_with_from_and_reruns(tmp_path, fake_sets, capsys):
    source = _snapshot(tmp_path, fake_sets["tiny"])
    out = tmp_path / "photos"
    argv = ["photos", "tiny", "--out", str(out), "--from", str(source), "--quiet"]
    assert main(argv) == 0
    assert "tiny: 3 photos (0 kept, 3 copied, 0 downloaded)" in capsys.readouterr().out
    assert main(argv) == 0
    assert "(3 kept, 0 copied, 0 downloaded)" in capsys.readouterr().out


def test_cli_errors_are_one_line_with_exit_2(tmp_path, fake_sets, capsys):
    photo = fake_sets["tiny"].files[0]
    pathlib.Path(photo.url.removeprefix("file://")).write_bytes(b"tampered")
    cases = [
        (["photos", "tiny", "--out", str(tmp_path / "a"), "--quiet"], photo.name),
        (["photos", "nope", "--out", str(tmp_path / "b")], "unknown photo set"),
        (["photos", "tiny", "tiny_eval", "--out", str(tmp_path / "c")], "separate --out"),
        (["photos", "tiny"], "--out DIR is required"),
        (["photos", "tiny", "--out", str(tmp_path / "f"), "--timeout", "0"], "--timeout"),
        (["photos", "--out", str(tmp_path / "d")], "name the photo sets"),
        (["photos", "tiny", "--out", str(tmp_path / "e"), "--from", str(tmp_path / "no")],
         "source folder not found"),
    ]
    for argv, expected in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("lsid photos: error: ") and "\n" not in err, err
        assert expected in err, err


def test_cli_list_shows_every_set_with_purpose_and_count(capsys):
    assert main(["photos", "--list"]) == 0
    out = capsys.readouterr().out
    for name, photo_set in photo_sets.PHOTO_SETS.items():
        row = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert photo_set.purpose in row and f" {len(photo_set.files)} " in row


def test_photos_help_imports_no_tensorflow():
    code = (
        "import sys\n"
        "from lsid_keras.cli import main\n"
        "try:\n"
        "    main(['photos', '--help'])\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0\n"
        "main(['photos', '--list'])\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "--from DIR" in result.stdout and "evaluation" in result.stdout


# The committed registry.

def test_registry_training_and_evaluation_photos_do_not_overlap():
    training = {f.sha256 for n in photo_sets.TRAINING_SETS
                for f in photo_sets.PHOTO_SETS[n].files}
    evaluation = {f.sha256 for n in photo_sets.EVALUATION_SETS
                  for f in photo_sets.PHOTO_SETS[n].files}
    assert training and evaluation
    assert training.isdisjoint(evaluation)


def test_registry_reserves_set5_set14_and_urban100():
    assert {"set5", "set14", "urban100"} <= set(photo_sets.EVALUATION_SETS)
    assert len(photo_sets.PHOTO_SETS["set5"].files) == 5
    assert len(photo_sets.PHOTO_SETS["set14"].files) == 14
    assert not {"set5", "set14", "urban100"} & set(photo_sets.TRAINING_SETS)


def test_registry_entries_are_pinned_and_hashed():
    names = set()
    for photo_set in photo_sets.PHOTO_SETS.values():
        assert re.fullmatch(r"[0-9a-f]{40}", photo_set.commit)
        assert photo_set.repository.startswith("https://github.com/")
        assert photo_set.description and photo_set.licence
        for f in photo_set.files:
            assert re.fullmatch(r"[0-9a-f]{64}", f.sha256)
            assert f.size > 0
            assert f.url.startswith("https://raw.githubusercontent.com/")
            assert f"/{photo_set.commit}/" in f.url
            assert f.name not in names  # one flat folder can hold every set of a purpose
            names.add(f.name)


def test_registry_is_package_data():
    import configparser

    config = configparser.ConfigParser()
    config.read(pathlib.Path(__file__).parents[1] / "setup.cfg")
    assert "*.json" in config["options.package_data"]["lsid_keras.data"]


def test_registry_leaves_out_training_photos_that_are_evaluation_photos():
    # BSDS500's 302003 is Set5's "woman" at another size and encoding: sha256 cannot see it.
    names = {f.name for f in photo_sets.PHOTO_SETS["bsds500"].files}
    assert "bsds500_302003.jpg" not in names and len(names) == 499
