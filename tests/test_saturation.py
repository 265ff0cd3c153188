"""Color intensity: CIELAB chroma scaled exactly, L* and hue kept (checked with scikit-image's rgb2lab)."""

import numpy as np
import pytest
from click.testing import CliRunner
from skimage.color import rgb2lab

import imgot
from imgot.cli import main
from imgot.saturation import scale_chroma


def lch(image):
    scale = 255.0 if image.dtype == np.uint8 else 65535.0
    lab = rgb2lab(image / scale)
    return lab[..., 0], np.hypot(lab[..., 1], lab[..., 2]), np.degrees(np.arctan2(lab[..., 2], lab[..., 1]))


def hue_difference(a, b):
    return np.abs((a - b + 180) % 360 - 180)


@pytest.fixture
def colors():
    """Mid-tone 16-bit colors of every hue, chroma 15-40: rounding moves L* and hue by far less than 0.5."""
    rng = np.random.default_rng(0)
    lab = np.stack([rng.uniform(40, 75, 4000), *(rng.uniform(-1, 1, (2, 4000)))], -1)
    lab[:, 1:] *= (rng.uniform(15, 40, 4000) / np.hypot(lab[:, 1], lab[:, 2]))[:, None]
    from skimage.color import lab2rgb

    rgb = lab2rgb(lab.reshape(40, 100, 3))
    inside = np.abs(rgb2lab(rgb) - lab.reshape(40, 100, 3)).max(-1) < 0.5  # drop what lab2rgb clipped
    rgb[~inside] = 0.5
    return np.round(rgb * 65535).astype(np.uint16)


@pytest.mark.parametrize("factor", [0.0, 0.5, 0.8, 1.3, 2.0])
def test_chroma_scales_exactly_and_lightness_and_hue_stay(colors, factor):
    out = scale_chroma(colors, 65535, factor)
    (l0, c0, h0), (l1, c1, h1) = lch(colors), lch(out)
    assert np.abs(l1 - l0).max() < 0.5
    colorful = (c0 > 5) & (c1 > 5)
    assert hue_difference(h1, h0)[colorful].max(initial=0.0) < 0.5
    target = factor * c0
    fits = np.abs(c1 - target) < 0.05  # the asked chroma, where sRGB holds it
    if factor <= 1:
        assert fits.all()  # less chroma always fits
    else:
        assert fits.mean() > 0.3
        assert (c1[~fits] < target[~fits]).all() and (c1[~fits] >= c0[~fits] - 0.05).all()  # gamut-mapped: less, never below the map's


def test_one_is_the_identity_bytes_equal(warm, cool):
    assert scale_chroma(warm, 255, 1.0) is warm
    assert np.array_equal(imgot.transfer(warm, cool, n_clusters=8, saturation=1.0),
                          imgot.transfer(warm, cool, n_clusters=8))


@pytest.mark.parametrize("detail", [False, True])
def test_the_result_is_the_maps_with_its_chroma_scaled(warm, cool, detail):
    """Relative to the map's result: same L* and hue, chroma times the factor (8-bit rounding aside)."""
    base = imgot.transfer(warm, cool, n_clusters=8, preserve_detail=detail)
    less = imgot.transfer(warm, cool, n_clusters=8, preserve_detail=detail, saturation=0.6)
    (l0, c0, h0), (l1, c1, h1) = lch(base), lch(less)
    assert np.abs(l1 - l0).max() < 0.6
    colorful = c1 > 12
    assert colorful.mean() > 0.2
    assert hue_difference(h1, h0)[colorful].max() < 2.0  # 8-bit rounding: half a level at L* 22, chroma 12
    assert np.abs(c1 - 0.6 * c0).max() < 1.0


def test_cli_apply_and_gray(tmp_path, warm, cool):
    imgot.write_image(tmp_path / "w.png", warm)
    imgot.write_image(tmp_path / "c.png", cool)
    runner = CliRunner()
    result = runner.invoke(main, ["transfer", str(tmp_path / "w.png"), str(tmp_path / "c.png"), "-o",
                                  str(tmp_path / "o.png"), "--clusters", "8", "--saturation", "1.4"])
    assert result.exit_code == 0, result.output
    expected = imgot.transfer(warm, cool, n_clusters=8, saturation=1.4)
    assert np.array_equal(imgot.load_image(tmp_path / "o.png").pixels, expected)
    assert "Color Intensity" in runner.invoke(main, ["transfer", "--help"]).output
    assert runner.invoke(main, ["transfer", str(tmp_path / "w.png"), str(tmp_path / "c.png"), "-o",
                                str(tmp_path / "p.png"), "--saturation", "nan"]).exit_code == 2
    gray = np.full((4, 4), 99, np.uint8)
    assert scale_chroma(gray, 255, 2.0) is gray
