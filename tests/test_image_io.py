import numpy as np
import pytest

from lsid_keras.image_io import ImageWriteError, quantize, read_image, write_image


@pytest.mark.parametrize("name, bits", [("a.png", 16), ("a.tif", 16), ("a.jpg", 8)])
def test_images_round_trip_at_their_bit_depth(tmp_path, name, bits):
    yy, xx = np.mgrid[:17, :23]
    rgb = np.stack([yy / 16, xx / 22, (yy + xx) / 38], -1).astype(np.float32)
    path = write_image(tmp_path / name, rgb)
    back = read_image(path)
    assert back.shape == rgb.shape
    tolerance = 0.5 / 65535 + 1e-7 if bits == 16 else 0.06  # JPEG is lossy
    assert np.abs(back - rgb).max() <= tolerance


def test_eight_bit_png_matches_the_reference_quantisation(tmp_path):
    rgb = np.linspace(0, 1, 3 * 256).reshape(16, 16, 3)
    back = read_image(write_image(tmp_path / "a.png", rgb, bits=8))
    np.testing.assert_array_equal(np.rint(back * 255), quantize(rgb, 8))


def test_bad_paths_are_refused_and_nothing_is_left(tmp_path):
    rgb = np.zeros((4, 4, 3))
    with pytest.raises(ImageWriteError, match="does not exist"):
        write_image(tmp_path / "missing" / "a.png", rgb)
    with pytest.raises(ImageWriteError, match="unknown image format .bmp"):
        write_image(tmp_path / "a.bmp", rgb)
    with pytest.raises(ValueError, match="must be"):
        write_image(tmp_path / "a.png", np.zeros((4, 4)))
    assert list(tmp_path.iterdir()) == []
