import pytest

from lsid_keras.data.sid_list import (
    MISALIGNED_SCENES,
    SidListError,
    amplification_ratio,
    parse_exposure_name,
    read_pair_list,
)


@pytest.mark.parametrize(
    "name, scene, burst, exposure, subset",
    [
        ("./Sony/short/10003_00_0.04s.ARW", 10003, 0, 0.04, "test"),
        ("00001_03_0.1s.dng", 1, 3, 0.1, "train"),
        ("/data/Fuji/long/20211_00_10s.RAF", 20211, 0, 10.0, "val"),
    ],
)
def test_exposure_names_parse(name, scene, burst, exposure, subset):
    parsed = parse_exposure_name(name)
    assert (parsed.scene, parsed.burst, parsed.exposure, parsed.subset) == (
        scene, burst, exposure, subset
    )


@pytest.mark.parametrize("name", ["IMG_0001.ARW", "10003_00_0s.ARW", "1003_00_0.1s.ARW"])
def test_bad_names_are_refused(name):
    with pytest.raises(SidListError, match="not a SID file name"):
        parse_exposure_name(name)


@pytest.mark.parametrize(
    "short, long, ratio", [(0.1, 10, 100), (0.04, 10, 250), (0.033, 10, 300), (0.1, 30, 300)]
)
def test_ratio_is_capped_at_300(short, long, ratio):
    assert amplification_ratio(short, long) == pytest.approx(ratio)


def _write_dataset(tmp_path, lines, files):
    for name in files:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    listing = tmp_path / "Sony_test_list.txt"
    listing.write_text("\n".join(lines) + "\n")
    return listing


def test_list_reads_pairs_and_protocol_switches(tmp_path):
    lines = [
        "./Sony/short/10003_00_0.04s.ARW ./Sony/long/10003_00_10s.ARW ISO200 F9",
        "./Sony/short/10003_01_0.1s.ARW ./Sony/long/10003_00_10s.ARW ISO200 F9",
        "",
        "./Sony/short/10034_00_0.033s.ARW ./Sony/long/10034_00_30s.ARW ISO1000 F4",
    ]
    files = [f for line in lines for f in line.split()[:2]]
    listing = _write_dataset(tmp_path, lines, files)
    pairs = read_pair_list(listing)
    assert [(p.scene, p.burst, p.ratio) for p in pairs] == [
        (10003, 0, 250), (10003, 1, 100), (10034, 0, 300)
    ]
    assert pairs[0].short_path == str(tmp_path / "Sony/short/10003_00_0.04s.ARW")
    assert pairs[0].iso == "ISO200" and pairs[0].aperture == "F9"
    assert [p.burst for p in read_pair_list(listing, first_burst_only=True)] == [0, 0]
    kept = read_pair_list(listing, drop_misaligned=True)
    assert 10034 in MISALIGNED_SCENES and all(p.scene != 10034 for p in kept)


def test_list_errors_name_file_and_line(tmp_path):
    listing = _write_dataset(
        tmp_path,
        ["./Sony/short/10003_00_0.04s.ARW ./Sony/long/10003_00_10s.ARW", "garbage"],
        ["Sony/short/10003_00_0.04s.ARW", "Sony/long/10003_00_10s.ARW"],
    )
    with pytest.raises(SidListError, match=r"Sony_test_list.txt:2: expected"):
        read_pair_list(listing)
    listing.write_text("./Sony/short/10003_00_0.04s.ARW ./Sony/long/10009_00_10s.ARW\n")
    with pytest.raises(SidListError, match=r":1: short scene 10003 != long scene 10009"):
        read_pair_list(listing)
    listing.write_text("./Sony/short/10003_00_0.04s.ARW ./Sony/long/10003_00_30s.ARW\n")
    with pytest.raises(SidListError, match=r":1: .*10003_00_30s.ARW: file not found"):
        read_pair_list(listing)
    assert read_pair_list(listing, check_files=False)[0].ratio == 300
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_pair_list(tmp_path / "nope.txt")
