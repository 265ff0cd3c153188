import numpy as np
import pytest
from skimage.exposure import match_histograms as skimage_match
from skimage.exposure.histogram_matching import _match_cumulative_cdf

from imgot import transfer
from imgot.histogram import match_histograms
from imgot.metrics import color_distance, lightness


@pytest.fixture
def pair(rocket, coffee):
    return rocket, coffee[:100, :140]


def test_uint8_equals_scikit_image_rounded(pair):
    image, reference = pair
    exact = np.stack([_match_cumulative_cdf(image[..., c], reference[..., c]) for c in range(3)], axis=-1)
    out = transfer(image, reference, method="histogram", preserve_detail=False)
    np.testing.assert_array_equal(out, np.rint(exact).astype(np.uint8))
    # scikit-image truncates: within one level of it.
    assert np.abs(out.astype(int) - skimage_match(image, reference, channel_axis=-1)).max() <= 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_equals_scikit_image(pair, dtype):
    image, reference = (x.astype(dtype) / 255 for x in pair)
    out = transfer(image, reference, method="histogram", preserve_detail=False)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, skimage_match(image, reference, channel_axis=-1), atol=1e-6)


def _cdf(channel, levels):
    return np.cumsum(np.bincount(channel.ravel(), minlength=levels)) / channel.size


def test_matched_cdf_is_close_to_the_reference_and_maps_are_monotone(pair):
    # scikit-image's own checks: the matched CDF follows the reference's, and
    # per channel the map is monotone.
    image, reference = pair
    out = match_histograms(image, reference)
    for c in range(3):
        assert np.abs(_cdf(out[..., c], 256) - _cdf(reference[..., c], 256)).max() < 0.05
        order = np.argsort(image[..., c].ravel(), kind="stable")
        assert np.all(np.diff(out[..., c].ravel()[order].astype(int)) >= 0)


def test_lab_matching_matches_lightness_quantiles(pair):
    image, reference = pair
    out = match_histograms(image, reference, color_space="lab")
    q = np.linspace(0.05, 0.95, 19)
    gap = np.abs(np.quantile(lightness(out), q) - np.quantile(lightness(reference), q)).max()
    assert gap < 6  # matched exactly in Lab; clipping to the sRGB gamut moves some L*
    assert color_distance(out, reference) < 0.3 * color_distance(image, reference)


def test_16bit_uses_all_levels_and_stays_16bit(pair):
    image, reference = pair
    rng = np.random.default_rng(0)
    image16 = image.astype(np.uint16) * 257 + rng.integers(0, 257, image.shape).astype(np.uint16)
    reference16 = reference.astype(np.uint16) * 257 + rng.integers(0, 257, reference.shape).astype(np.uint16)
    out = transfer(image16, reference16, method="histogram", preserve_detail=False)
    assert out.dtype == np.uint16 and np.unique(out[..., 0]).size > 1000
    exact = np.stack([_match_cumulative_cdf(image16[..., c], reference16[..., c]) for c in range(3)], -1)
    assert np.abs(out.astype(np.int64) - exact).max() <= 0.51  # float32 quantization: nearest level


def test_alpha_is_kept_and_transparent_pixels_do_not_count(pair):
    image, reference = pair
    rgba = np.concatenate([image, np.full(image.shape[:2] + (1,), 255, np.uint8)], axis=-1)
    rgba[:10, :, 3] = 0
    rgba[:10, :, :3] = 255  # hidden white must not shift the histogram
    out = transfer(rgba, reference, method="histogram", preserve_detail=False)
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    expected = transfer(image[10:], reference, method="histogram", preserve_detail=False)
    np.testing.assert_array_equal(out[10:, :, :3], expected)


def test_gray_image_stays_gray_and_matches_lightness(pair):
    image, reference = pair
    out = transfer(image[..., 1], reference, method="histogram", preserve_detail=False, color_space="lab")
    assert out.shape == image.shape[:2] and out.dtype == np.uint8
    assert abs(float(np.median(out)) - float(np.median(reference.mean(-1)))) < 25
