import functools
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from imgot import ImageReadError, OutputExistsError, load_image, read_image, write_image


@functools.lru_cache
def srgb_icc():
    """An sRGB ICC profile (cached: each creation stamps a new date)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def bomb_png(path, side=20000):
    """A valid PNG header declaring side x side pixels: Pillow refuses it on open."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("shape,dtype", [((6, 7, 3), np.uint8), ((6, 7, 4), np.uint8), ((6, 7), np.uint8),
                                         ((6, 7, 2), np.uint8), ((6, 7, 3), np.uint16), ((6, 7, 4), np.uint16),
                                         ((6, 7), np.uint16)])
def test_lossless_round_trip(tmp_path, suffix, shape, dtype):
    if suffix == ".tif" and shape == (6, 7, 2):
        pytest.skip("Pillow writes no gray+alpha TIFF")
    pixels = np.random.default_rng(0).integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)
    write_image(tmp_path / f"x{suffix}", pixels)
    back = read_image(tmp_path / f"x{suffix}")
    assert back.dtype == dtype
    np.testing.assert_array_equal(back, pixels)


def test_exif_orientation_is_applied_like_pillow(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (10, 20, 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[274] = 6
    image.save(tmp_path / "r.png", exif=exif.tobytes())
    expected = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "r.png")))
    loaded = load_image(tmp_path / "r.png")
    np.testing.assert_array_equal(loaded.pixels, expected)
    assert loaded.pixels.shape == (20, 10, 3)


def test_numpy_orientation_matches_pillow_for_all_eight(tmp_path):
    from imgot.io import _orient

    pixels = np.arange(6 * 4 * 3, dtype=np.uint8).reshape(6, 4, 3)
    for orientation in range(1, 9):
        image = Image.fromarray(pixels)
        exif = image.getexif()
        exif[274] = orientation
        image.info["exif"] = exif.tobytes()
        expected = np.asarray(ImageOps.exif_transpose(image))
        np.testing.assert_array_equal(_orient(pixels, orientation), expected, err_msg=str(orientation))


def test_icc_profile_and_exif_survive(tmp_path):
    icc = srgb_icc()
    pixels = np.full((8, 8, 3), 120, np.uint8)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x010F] = "imgot-camera"
    image.save(tmp_path / "in.jpg", icc_profile=icc, exif=exif.tobytes())
    loaded = load_image(tmp_path / "in.jpg")
    assert loaded.icc_profile == icc
    write_image(tmp_path / "out.jpg", loaded.pixels, icc_profile=loaded.icc_profile, exif=loaded.exif)
    with Image.open(tmp_path / "out.jpg") as out:
        assert out.info["icc_profile"] == icc
        assert out.getexif()[0x010F] == "imgot-camera"


def test_16bit_to_jpeg_warns_and_rounds(tmp_path):
    pixels = np.full((4, 4, 3), 257 * 100 + 120, np.uint16)
    with pytest.warns(UserWarning, match="8 bits"):
        write_image(tmp_path / "x.jpg", pixels)
    assert abs(int(read_image(tmp_path / "x.jpg").mean()) - 100) <= 1


def test_refuses_existing_output_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "x.png"
    write_image(target, np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(OutputExistsError):
        write_image(target, np.ones((2, 2, 3), np.uint8))
    assert read_image(target).max() == 0
    write_image(target, np.ones((2, 2, 3), np.uint8), overwrite=True)
    assert read_image(target).max() == 1
    with pytest.raises(ValueError, match="alpha"):
        write_image(tmp_path / "a.jpg", np.zeros((2, 2, 4), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="format"):
        write_image(tmp_path / "x.unknown", np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(TypeError, match="int32"):
        write_image(tmp_path / "x.png", np.zeros((2, 2, 3), np.int32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        write_image(tmp_path / "x.tif", np.full((2, 2, 3), 2.0))
    with pytest.raises(ValueError, match="not write it"):
        write_image(tmp_path / "x.psd", np.zeros((2, 2, 3), np.uint8))


def test_read_errors_are_image_read_errors(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "missing.jpg")
    (tmp_path / "notes.jpg").write_text("not an image")
    with pytest.raises(ImageReadError, match="not an image"):
        read_image(tmp_path / "notes.jpg")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "t.jpg")
    data = (tmp_path / "t.jpg").read_bytes()
    (tmp_path / "t.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="(?i)truncated"):
        read_image(tmp_path / "t.jpg")
    bomb_png(tmp_path / "bomb.png")
    with pytest.raises(ImageReadError, match="too large"):
        read_image(tmp_path / "bomb.png")


def test_palette_and_cmyk_images_become_rgb(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(pixels).quantize(8).save(tmp_path / "p.png")
    assert read_image(tmp_path / "p.png").shape == (8, 8, 3)
    Image.fromarray(pixels).convert("CMYK").save(tmp_path / "c.jpg")
    assert read_image(tmp_path / "c.jpg").shape == (8, 8, 3)
