"""atomic_output: all or nothing, the user's umask, and one clear error on a full disk."""

import os
import stat
import subprocess
import sys
import textwrap

import pytest

from lsid_keras.atomic import DiskFullError, atomic_output, current_umask, write_bytes_atomic


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_outputs_get_the_users_umask(tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        assert current_umask() == umask
        write_bytes_atomic(tmp_path / "a.bin", b"x")
        with atomic_output(tmp_path / "b.keras") as temporary:
            with open(temporary, "wb") as file:
                file.write(b"y")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a.bin") == expected
    assert _mode(tmp_path / "b.keras") == expected


def test_a_replaced_output_keeps_its_mode(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("old")
    os.chmod(path, 0o640)
    write_bytes_atomic(path, b"new")
    assert (path.read_bytes(), _mode(path)) == (b"new", 0o640)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="writer failed"):
        with atomic_output(path) as temporary:
            with open(temporary, "wb") as file:
                file.write(b"half")
            raise RuntimeError("writer failed")
    assert os.listdir(tmp_path) == ["a.bin"] and path.read_bytes() == b"old"


# A child process whose files may not grow past 4 KiB, as on a full disk. SIGXFSZ is ignored
# (Python does so at start-up too) so that write() fails with EFBIG instead of killing it.
_FULL_DISK = textwrap.dedent(
    """
    import resource, signal, sys
    import numpy as np
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    from lsid_keras.atomic import DiskFullError, write_json_atomic
    from lsid_keras.image_io import write_image
    noise = np.random.default_rng(0).random((128, 128, 3))
    for name in sys.argv[2:]:
        path = sys.argv[1] + "/" + name
        try:
            if name.endswith(".json"):
                write_json_atomic(path, {"values": noise.ravel().tolist()})
            else:
                write_image(path, noise)
        except DiskFullError as error:
            print(error)
    """
)


def test_a_full_disk_leaves_no_partial_output_and_says_which_file(tmp_path):
    names = ["night.png", "night.jpg", "night.tif", "report.json"]
    result = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(tmp_path), *names],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(names)
    for line, name in zip(lines, names, strict=True):
        assert line.startswith(f"{tmp_path}/{name}: not written: ")
        assert "File too large (errno 27)" in line or "bytes fit (the disk" in line
    assert os.listdir(tmp_path) == []


def test_disk_full_error_is_an_os_error_naming_the_file():
    error = DiskFullError("out/a.png", "not written: No space left on device (errno 28)", 28)
    assert isinstance(error, OSError) and error.errno == 28 and error.filename == "out/a.png"
    assert str(error) == "out/a.png: not written: No space left on device (errno 28)"


def test_a_writer_that_puts_a_directory_in_place_gets_a_usable_directory(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "saved_model", suffix="") as temporary:
            os.unlink(temporary)
            os.mkdir(temporary)
    finally:
        os.umask(old)
    assert _mode(tmp_path / "saved_model") == 0o755
