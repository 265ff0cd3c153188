"""LUT exports in every size: .cube at --lut-size N, HaldCLUT PNGs, read back by imgot and by ffmpeg."""

import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import imgot
from imgot.cli import main
from imgot.cube import read_cube, write_cube
from imgot.exceptions import LUTFormatError
from imgot.hald import hald_image, read_hald, read_lut, resample_lut, write_hald
from imgot.mapping import ColorLUT, _lattice

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not on PATH")


@pytest.fixture(scope="module")
def fitted(request):
    """A real fitted map (rocket toward coffee) and a test image."""
    from tests.conftest import load_sample

    rocket, coffee = load_sample("rocket.jpg"), load_sample("coffee.jpg")
    model = imgot.ColorTransfer(method="emd", n_clusters=16, preserve_detail=False).fit(coffee)
    return model, rocket


@pytest.mark.parametrize("size", [2, 17, 32, 33, pytest.param(65, marks=pytest.mark.slow)])
def test_cube_at_each_size_reads_back_as_the_map_that_made_the_output(tmp_path, fitted, size):
    model, image = fitted
    model = imgot.ColorTransfer(method="emd", n_clusters=16, preserve_detail=False, lut_size=size).fit(image[::-1])
    lut = model.color_lut(image)
    assert lut.size == size
    write_cube(tmp_path / "a.cube", lut)
    again = read_cube(tmp_path / "a.cube")
    assert np.abs(again.table - lut.table).max() < 1e-6
    assert np.abs(imgot.apply_lut_to_image(again, image).astype(int) - model.transform(image)).max() <= 1


@pytest.mark.parametrize("level, mean_bound, max_bound", [
    (4, 1.0, 10), (8, 0.15, 5), pytest.param(12, 0.1, 5, marks=pytest.mark.slow)])
def test_hald_at_each_level_is_the_map_within_its_lattice_error(tmp_path, fitted, level, mean_bound, max_bound):
    """A HaldCLUT samples imgot's map on level^2 points: exact there, and the same map within lattice error.

    Between lattice points two trilinear interpolations of the map differ where the map bends; most
    near the sRGB gamut boundary, where the 33-point 8-bit path interpolates the clipped map (so a
    finer lattice is the closer one there). Level 4 (16 points) is coarse; 8 and 12 are within a
    tenth of a level on average.
    """
    model, image = fitted
    lut = model.color_lut(image)
    write_hald(tmp_path / "h.png", lut, level=level)
    with Image.open(tmp_path / "h.png") as png:
        assert png.size == (level**3, level**3)
    again = read_hald(tmp_path / "h.png")
    assert again.size == level * level
    # at the new lattice points: the map imgot applies, up to 16-bit rounding
    points = _lattice(again.size).reshape(-1, 1, 3).astype(np.float32)
    assert np.abs(again.apply_float(points, 1.0) - lut.apply_float(points, 1.0)).max() < 1e-4
    difference = np.abs(again.apply_uint8(image).astype(int) - lut.apply_uint8(image))
    assert difference.mean() < mean_bound and difference.max() <= max_bound


def test_hald_layout_is_ffmpegs_identity(tmp_path):
    """imgot's identity HaldCLUT equals the one ffmpeg's haldclutsrc generates (level 8, 8-bit)."""
    identity = ColorLUT(_lattice(2).reshape(2, 2, 2, 3))
    ours = hald_image(identity, 8)
    if FFMPEG is None:
        pytest.skip("ffmpeg is not on PATH")
    subprocess.run([FFMPEG, "-v", "error", "-f", "lavfi", "-i", "haldclutsrc=level=8", "-frames:v", "1",
                    "-pix_fmt", "rgb24", str(tmp_path / "id.png")], check=True, capture_output=True)
    theirs = np.asarray(Image.open(tmp_path / "id.png").convert("RGB")).astype(int)
    assert theirs.shape == ours.shape
    assert np.abs(theirs - ours / 257.0).max() <= 1


@pytest.mark.parametrize("shape, message", [
    ((64, 80, 3), "not a HaldCLUT"), ((100, 100, 3), "not a HaldCLUT"), ((64, 64), "RGB"),
])
def test_bad_hald_images_are_refused(tmp_path, shape, message):
    imgot.write_image(tmp_path / "bad.png", np.zeros(shape, np.uint8))
    with pytest.raises(LUTFormatError, match=message):
        read_lut(tmp_path / "bad.png")
    result = CliRunner().invoke(main, ["apply", str(tmp_path / "bad.png"), str(tmp_path / "bad.png"),
                                       "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "Traceback" not in result.output


def test_cli_sizes_levels_and_refusals(tmp_path, fitted):
    model, image = fitted
    imgot.write_image(tmp_path / "s.png", image)
    imgot.write_image(tmp_path / "r.png", image[::-1, ::-1, ::-1])
    runner = CliRunner()
    base = ["transfer", str(tmp_path / "s.png"), str(tmp_path / "r.png"), "--clusters", "8", "--no-detail"]
    done = runner.invoke(main, [*base, "-o", str(tmp_path / "a.png"), "--lut-size", "17",
                                "--save-lut", str(tmp_path / "a.cube")])
    assert done.exit_code == 0, done.output
    assert "LUT_3D_SIZE 17" in (tmp_path / "a.cube").read_text()
    done = runner.invoke(main, [*base, "-o", str(tmp_path / "b.png"), "--save-lut", str(tmp_path / "look.png"),
                                "--hald-level", "4"])
    assert done.exit_code == 0, done.output
    assert read_lut(tmp_path / "look.png").size == 16
    applied = runner.invoke(main, ["apply", str(tmp_path / "look.png"), str(tmp_path / "s.png"),
                                   "-o", str(tmp_path / "out")])
    assert applied.exit_code == 0, applied.output
    by_hald = imgot.load_image(tmp_path / "out" / "s.png").pixels.astype(int)
    assert np.abs(by_hald - imgot.load_image(tmp_path / "b.png").pixels).mean() < 1.0
    for extra, code in ((["--lut-size", "257"], 2), (["--lut-size", "1"], 2),
                        (["--save-lut", str(tmp_path / "x.cube"), "--hald-level", "8"], 2),
                        (["--save-lut", str(tmp_path / "x.txt")], 2), (["--hald-level", "17"], 2)):
        result = runner.invoke(main, [*base, "-o", str(tmp_path / "c.png"), *extra])
        assert result.exit_code == code, (extra, result.output)


def test_lut_sizes_up_to_256_and_resampling_is_exact_on_affine_maps():
    table = _lattice(5).reshape(5, 5, 5, 3) * 0.8 + 0.1
    big = resample_lut(ColorLUT(table), 100)
    assert np.abs(big.table - (_lattice(100).reshape(100, 100, 100, 3) * 0.8 + 0.1)).max() < 1e-6
    image = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert np.abs(big.apply_uint8(image).astype(int) - np.rint(image * 0.8 + 25.5)).max() <= 1  # past Pillow's 65
    imgot.ColorTransfer(lut_size=256)._validate_params()
    with pytest.raises(ValueError, match="256"):
        imgot.ColorTransfer(lut_size=257)._validate_params()


@pytest.mark.slow
@needs_ffmpeg
def test_ffmpeg_lut3d_reproduces_imgots_output(tmp_path, fitted):
    model, image = fitted
    write_cube(tmp_path / "a.cube", model.color_lut(image))
    Image.fromarray(image).save(tmp_path / "in.png")
    subprocess.run([FFMPEG, "-v", "error", "-y", "-i", "in.png", "-vf", "lut3d=file=a.cube:interp=trilinear",
                    "-pix_fmt", "rgb24", "out.png"], cwd=tmp_path, check=True, capture_output=True)
    theirs = np.asarray(Image.open(tmp_path / "out.png").convert("RGB")).astype(int)
    ours = imgot.apply_lut_to_image(read_cube(tmp_path / "a.cube"), image)
    assert np.abs(theirs - ours).max() <= 1


@pytest.mark.slow
@needs_ffmpeg
@pytest.mark.parametrize("level", [4, 8])
def test_ffmpeg_haldclut_reproduces_imgots_output(tmp_path, fitted, level):
    model, image = fitted
    write_hald(tmp_path / "look.png", model.color_lut(image), level=level)
    Image.fromarray(image).save(tmp_path / "in.png")
    subprocess.run([FFMPEG, "-v", "error", "-y", "-i", "in.png", "-i", "look.png", "-filter_complex",
                    "[0][1]haldclut=interp=trilinear", "-frames:v", "1", "-pix_fmt", "rgb24", "out.png"],
                   cwd=tmp_path, check=True, capture_output=True)
    theirs = np.asarray(Image.open(tmp_path / "out.png").convert("RGB")).astype(int)
    ours = imgot.apply_lut_to_image(read_hald(tmp_path / "look.png"), image)
    assert np.abs(theirs - ours).max() <= 1
