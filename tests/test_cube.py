import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image
from scipy.interpolate import RegularGridInterpolator

from imgot import ColorTransfer, ImageReadError, LUTFormatError, OutputExistsError
from imgot.cube import read_cube, write_cube
from imgot.mapping import ColorLUT


def coded_lut(size=5):
    """table[r, g, b] = (r, g, b) / (S - 1) squeezed differently per channel: every entry tells its index."""
    r, g, b = np.meshgrid(*[np.arange(size)] * 3, indexing="ij")
    return ColorLUT(np.stack([r, g * 0.5, b * 0.25], axis=-1) / (size - 1))


def random_lut(size=9, seed=0):
    """A smooth but far-from-identity LUT: a channel mix plus a curve."""
    axis = np.linspace(0, 1, size)
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1)
    mix = np.random.default_rng(seed).dirichlet(np.ones(3), size=3)
    return ColorLUT(np.clip(grid @ mix.T, 0, 1) ** 0.8)


def data_lines(path):
    lines = [line.split() for line in path.read_text().splitlines()]
    return np.array([[float(v) for v in words] for words in lines if words and words[0][0] in "0123456789.-"])


def test_file_follows_the_format(tmp_path):
    size = 5
    write_cube(tmp_path / "coded.cube", coded_lut(size), title="coded")
    text = (tmp_path / "coded.cube").read_text().splitlines()
    assert 'TITLE "coded"' in text and f"LUT_3D_SIZE {size}" in text
    assert "DOMAIN_MIN 0.0 0.0 0.0" in text and "DOMAIN_MAX 1.0 1.0 1.0" in text
    data = data_lines(tmp_path / "coded.cube")
    assert data.shape == (size**3, 3)
    k = np.arange(size**3)
    expected = np.stack([k % size, (k // size) % size * 0.5, k // size**2 * 0.25], -1) / (size - 1)
    np.testing.assert_allclose(data, expected, atol=1e-6)  # red varies fastest


def test_round_trip(tmp_path):
    lut = random_lut(17)
    write_cube(tmp_path / "a.cube", lut)
    back = read_cube(tmp_path / "a.cube")
    assert back.size == 17
    np.testing.assert_allclose(back.table, lut.table, atol=1e-6)


def test_refuses_existing_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "a.cube"
    write_cube(path, coded_lut())
    with pytest.raises(OutputExistsError):
        write_cube(path, random_lut())
    write_cube(path, random_lut(), overwrite=True)
    assert read_cube(path).size == 9
    assert [p.name for p in tmp_path.iterdir()] == ["a.cube"]
    with pytest.raises(ValueError, match="title"):
        write_cube(tmp_path / "b.cube", coded_lut(), title='say "hi"')


def test_independent_trilinear_matches_imgot_8bit(tmp_path):
    lut = random_lut(9, seed=3)
    write_cube(tmp_path / "a.cube", lut)
    data = data_lines(tmp_path / "a.cube")
    size = round(len(data) ** (1 / 3))
    table = data.reshape(size, size, size, 3).transpose(2, 1, 0, 3)  # rows are [b][g][r]
    axis = np.linspace(0, 1, size)
    interpolate = RegularGridInterpolator((axis, axis, axis), table, method="linear")
    image = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    expected = interpolate(image.reshape(-1, 3) / 255.0).reshape(image.shape) * 255
    ours = lut.apply_uint8(image).astype(float)
    assert np.abs(ours - expected).max() <= 1.0


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not on PATH")
@pytest.mark.slow  # a subprocess
def test_ffmpeg_lut3d_agrees(tmp_path):
    lut = random_lut(9, seed=5)
    write_cube(tmp_path / "a.cube", lut)
    image = np.random.default_rng(1).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "in.png")
    command = ["ffmpeg", "-v", "error", "-y", "-i", "in.png", "-vf", "lut3d=file=a.cube:interp=trilinear",
               "-pix_fmt", "rgb24", "out.png"]
    subprocess.run(command, cwd=tmp_path, check=True, capture_output=True)
    theirs = np.asarray(Image.open(tmp_path / "out.png").convert("RGB")).astype(int)
    assert np.abs(theirs - lut.apply_uint8(image)).max() <= 2


@pytest.mark.parametrize("text, message", [
    ("LUT_1D_SIZE 2\n0 0 0\n1 1 1\n", "1-D"),
    ("LUT_3D_SIZE 2\nDOMAIN_MAX 2 2 2\n", "domain"),
    ("LUT_3D_SIZE 2\nDOMAIN_MIN -0.1 0 0\n", "domain"),
    ("LUT_3D_SIZE 2\nLUT_3D_INPUT_RANGE 0 4\n", "domain"),
    ("LUT_3D_SIZE 2\n" + "0 0 0\n" * 7, "8 data lines"),
    ("LUT_3D_SIZE 2\n" + "0 0\n" * 8, "3 numbers"),
    ("LUT_3D_SIZE 2\n" + "0 0 x\n" * 8, "3 numbers"),
    ("LUT_3D_SIZE 2\n" + "0 0 1.5\n" * 8, "outside"),
    ("LUT_3D_SIZE 1\n0 0 0\n", "2..256"),
    ("0 0 0\n" * 8, "no LUT_3D_SIZE"),
    ("LUT_3D_SIZE 2\nLUT_3D_SIZE 2\n", "twice"),
    ("LUT_3D_SIZE 2\nLUT_IN_VIDEO_RANGE\n", "unknown keyword"),
    ("LUT_3D_SIZE 2\n" + "0 0 0\n" * 8 + "TITLE \"late\"\n", "after the data"),
])
def test_malformed_files_raise_lut_format_error(tmp_path, text, message):
    (tmp_path / "bad.cube").write_text(text)
    with pytest.raises(LUTFormatError, match=message):
        read_cube(tmp_path / "bad.cube")


def test_comments_blank_lines_title_and_other_files(tmp_path):
    body = "".join(f"{r} {g} {b}  # point\n" for b in (0, 1) for g in (0, 1) for r in (0, 1))
    text = f'# a comment\n\nTITLE "x # y"\n  LUT_3D_SIZE 2 # lattice\nLUT_3D_INPUT_RANGE 0.0 1.0\n\n{body}\n'
    (tmp_path / "ok.cube").write_text(text)
    table = read_cube(tmp_path / "ok.cube").table
    assert table[1, 0, 1].tolist() == [1, 0, 1]
    (tmp_path / "binary.cube").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(LUTFormatError, match="text"):
        read_cube(tmp_path / "binary.cube")
    with pytest.raises(ImageReadError, match="no such file"):
        read_cube(tmp_path / "missing.cube")


def test_fitted_transfer_exports(tmp_path, warm, cool):
    lut = ColorTransfer(n_clusters=8).fit(cool).color_map(warm).lut
    write_cube(tmp_path / "t.cube", lut, title="warm to cool")
    np.testing.assert_allclose(read_cube(tmp_path / "t.cube").table, lut.table, atol=1e-6)
