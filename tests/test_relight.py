"""Luminance finishing: preserve_luminance keeps L* on every pixel, inside the gamut."""

import numpy as np
import pytest
from skimage.color import rgb2lab

from imgot import transfer
from imgot.colorspace import relative_luminance
from imgot.methods import METHOD_NAMES
from imgot.relight import keep_lightness, relight

from .conftest import load_sample


def lightness(image):
    """scikit-image's L*, the independent truth."""
    scale = 255.0 if image.dtype == np.uint8 else 65535.0
    return rgb2lab(image / scale)[..., 0]


@pytest.fixture(scope="module")
def photos():
    # Real photos with dark saturated areas (rocket's night sky against a warm coffee reference).
    return load_sample("rocket.jpg", (200, 134)), load_sample("coffee.jpg", (180, 120))


@pytest.mark.parametrize("method", METHOD_NAMES)
@pytest.mark.parametrize("bits", [8, 16])
def test_preserve_luminance_keeps_lightness_on_every_pixel(photos, method, bits):
    source, reference = photos
    if bits == 16:
        source, reference = source.astype(np.uint16) * 257, reference.astype(np.uint16) * 257
    out = transfer(source, reference, method=method, preserve_luminance=True, n_clusters=16, n_samples=3000)
    assert out.dtype == source.dtype
    assert np.abs(lightness(out) - lightness(source)).max() <= 0.5
    # ... and it still moved the colors (chroma/hue), it did not just return the source.
    assert np.abs(out.astype(int) - source).mean() > 2


def test_out_of_gamut_colors_lose_chroma_not_lightness():
    # A saturated blue cannot take the lightness of white-ish gray; a dark red cannot get darker chroma.
    mapped = np.array([[[20, 30, 250], [200, 10, 10], [0, 0, 0]]], np.uint8)
    target = np.array([[0.8, 0.01, 0.3]], np.float32)
    out = relight(mapped, 255, target)
    np.testing.assert_allclose(relative_luminance(out, 255), target, atol=2e-3)
    lab_in, lab_out = rgb2lab(mapped / 255.0), rgb2lab(out / 255.0)
    hue = lambda lab: np.arctan2(lab[..., 2], lab[..., 1])
    assert abs(hue(lab_out)[0, 0] - hue(lab_in)[0, 0]) < 0.35  # still blue, less chroma
    assert np.hypot(*lab_out[0, 0, 1:]) < np.hypot(*lab_in[0, 0, 1:])
    assert out[0, 2, 0] == out[0, 2, 1] == out[0, 2, 2]  # black becomes the gray of its target


def test_keep_lightness_on_gray_and_float_images():
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (16, 16), dtype=np.uint8)
    np.testing.assert_array_equal(keep_lightness(gray, 255 - gray, 255), gray)
    color = rng.random((8, 8, 3))
    kept = keep_lightness(color, color[::-1], 1.0)
    assert kept.dtype == np.float64
    np.testing.assert_allclose(rgb2lab(kept)[..., 0], rgb2lab(color)[..., 0], atol=0.05)
