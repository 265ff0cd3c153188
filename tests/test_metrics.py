import numpy as np
import ot
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter
from skimage.color import rgb2lab

from imgot.colorspace import lab_to_srgb, srgb_to_lab
from imgot.metrics import color_distance, grain, lightness, structure_similarity


def noisy(image, amount=12, seed=3):
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0, amount, image.shape), 0, 255).astype(np.uint8)


def gray_of_lightness(levels):
    """Float gray levels in [0, 1] whose CIELAB L* are `levels` (a*, b* = 0)."""
    lab = np.stack([levels, np.zeros_like(levels), np.zeros_like(levels)], axis=-1)
    return lab_to_srgb(lab).mean(axis=-1)


# lightness ------------------------------------------------------------------


def test_lightness_matches_skimage(warm):
    expected = rgb2lab(warm)[..., 0]
    got = lightness(warm)
    assert got.dtype == np.float32 and got.shape == warm.shape[:2]
    np.testing.assert_allclose(got, expected, atol=1e-3)


def test_lightness_of_dark_levels_matches_skimage():
    levels = np.arange(0, 16, dtype=np.uint8)[None, :].repeat(3, 0)  # the linear part of L*
    np.testing.assert_allclose(lightness(levels), rgb2lab(np.stack([levels] * 3, -1))[..., 0], atol=1e-4)


# color_distance -------------------------------------------------------------


def test_color_distance_to_itself_is_zero_and_symmetric(warm, cool):
    assert color_distance(warm, warm) < 0.5
    assert color_distance(warm, cool) > 10
    assert color_distance(warm, cool) == pytest.approx(color_distance(cool, warm), rel=1e-9)


def test_color_distance_equals_pot_on_the_same_lab_samples(warm, cool):
    n_samples, seed = 500, 7
    small = cool[::2, ::3]  # another size, fewer pixels than warm

    def sample(image):
        rows = image.reshape(-1, 3)
        index = np.random.default_rng(seed).choice(rows.shape[0], size=n_samples, replace=False)
        return srgb_to_lab(rows[index] / 255.0)

    expected = ot.sliced_wasserstein_distance(
        sample(warm), sample(small), n_projections=64, p=2, seed=seed
    )
    got = color_distance(warm, small, n_samples=n_samples, n_projections=64, random_state=seed)
    assert got == pytest.approx(expected, rel=1e-9)


def test_color_distance_uses_all_pixels_of_a_small_image(warm, cool):
    # 200 directions on 2 x 3072 pixels: POT is called on several batches of directions.
    lab_warm, lab_cool = (srgb_to_lab(image.reshape(-1, 3) / 255.0) for image in (warm, cool))
    expected = ot.sliced_wasserstein_distance(lab_warm, lab_cool, n_projections=200, seed=0)
    assert color_distance(warm, cool, n_projections=200) == pytest.approx(expected, rel=1e-9)


def test_color_distance_of_a_lightness_shift_is_its_sliced_closed_form():
    # Translating by v = (10, 0, 0) in Lab: SW2 = |v| * sqrt(mean (theta.v/|v|)^2) = |v| / sqrt(3).
    levels = np.linspace(30, 60, 64)[None, :].repeat(16, 0)
    gray, brighter = gray_of_lightness(levels), gray_of_lightness(levels + 10)
    got = color_distance(gray, brighter, n_projections=2000)
    assert got == pytest.approx(10 / np.sqrt(3), rel=0.1)


@pytest.mark.parametrize("name, value", [("n_samples", 0), ("n_projections", 2.5), ("random_state", -1)])
def test_color_distance_rejects_bad_parameters(warm, name, value):
    with pytest.raises(ValueError, match=name):
        color_distance(warm, warm, **{name: value})


# structure_similarity ---------------------------------------------------------


def test_structure_similarity(warm):
    assert structure_similarity(warm, warm) == pytest.approx(1.0, abs=1e-9)
    assert structure_similarity(warm, noisy(warm)) < 0.9


def test_structure_similarity_matches_skimage_on_lightness(warm, cool):
    from skimage.metrics import structural_similarity

    expected = structural_similarity(rgb2lab(warm)[..., 0], rgb2lab(cool)[..., 0], data_range=100)
    assert structure_similarity(warm, cool) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("metric", [structure_similarity, grain])
def test_mismatched_shapes_are_refused(warm, metric):
    with pytest.raises(ValueError, match=r"\(48, 64, 3\).*\(24, 64, 3\)"):
        metric(warm, warm[:24])


# grain ------------------------------------------------------------------------


def test_grain(warm):
    assert grain(warm, warm) == 0.0
    assert grain(warm, noisy(warm)) > 0
    blurred = np.round(gaussian_filter(warm.astype(float), sigma=(1.5, 1.5, 0))).astype(np.uint8)
    assert -1 < grain(warm, blurred) < 0


def test_grain_is_the_relative_high_frequency_energy(warm):
    def energy(image):
        plane = rgb2lab(image)[..., 0]
        return np.mean((plane - gaussian_filter(plane, 2.0)) ** 2)

    expected = energy(noisy(warm)) / energy(warm) - 1
    assert grain(warm, noisy(warm), sigma=2.0) == pytest.approx(expected, rel=1e-3)


def test_grain_of_flat_images():
    flat, other = np.full((16, 16), 0.5), np.full((16, 16), 0.8)
    assert grain(flat, other) == pytest.approx(0.0, abs=1e-6)
    assert grain(flat, np.random.default_rng(0).random((16, 16))) > 1e3


@pytest.mark.parametrize("sigma", [0, -1.0, "1"])
def test_grain_rejects_bad_sigma(warm, sigma):
    with pytest.raises(ValueError, match="sigma"):
        grain(warm, warm, sigma=sigma)


# input kinds ------------------------------------------------------------------


def as_kind(image, kind):
    """The same 8-bit picture as another accepted input kind."""
    if kind == "uint16":
        return image.astype(np.uint16) * 257
    if kind == "float":
        return image / 255.0
    if kind == "rgba":
        alpha = np.random.default_rng(0).integers(0, 256, image.shape[:2], dtype=np.uint8)
        return np.dstack([image, alpha])
    if kind == "pil":
        return Image.fromarray(image)
    return image


@pytest.mark.parametrize("kind", ["uint16", "float", "rgba", "pil"])
def test_metrics_agree_across_input_kinds(warm, cool, kind):
    other = noisy(warm)
    assert color_distance(as_kind(warm, kind), as_kind(cool, kind)) == pytest.approx(
        color_distance(warm, cool), rel=1e-6
    )
    assert structure_similarity(as_kind(warm, kind), as_kind(other, kind)) == pytest.approx(
        structure_similarity(warm, other), abs=1e-5
    )
    assert grain(as_kind(warm, kind), as_kind(other, kind)) == pytest.approx(grain(warm, other), rel=1e-4)


@pytest.mark.parametrize("kind", ["uint8", "pil_l", "gray_alpha"])
def test_gray_counts_as_equal_channels(warm, kind):
    gray = warm[..., 1]
    rgb = np.stack([gray] * 3, axis=-1)
    if kind == "pil_l":
        gray = Image.fromarray(gray)
    elif kind == "gray_alpha":
        gray = np.dstack([gray, np.full_like(gray, 9)])
    np.testing.assert_allclose(lightness(gray), lightness(rgb), atol=1e-4)
    assert color_distance(gray, rgb) == pytest.approx(0.0, abs=1e-9)
    assert structure_similarity(gray, rgb) == pytest.approx(1.0, abs=1e-6)
    assert grain(gray, rgb) == pytest.approx(0.0, abs=1e-4)


def test_structure_score_ignores_a_global_tone_change(warm):
    from imgot.metrics import structure_score

    x = lightness(warm).astype(np.float64)
    toned = np.clip(0.6 * x + 30.0, 0, 100)  # gain + offset on L*: luminance/contrast change
    gray = lab_to_srgb(np.dstack([toned, np.zeros_like(toned), np.zeros_like(toned)]))
    source = lab_to_srgb(np.dstack([x, np.zeros_like(x), np.zeros_like(x)]))
    assert structure_similarity(source, gray) < structure_score(source, gray)
    assert structure_score(source, gray) == pytest.approx(1.0, abs=0.02)


def test_structure_score_drops_with_noise_and_bounds_ssim(warm):
    from skimage.metrics import structural_similarity

    from imgot.metrics import structure_score

    other = noisy(warm, amount=25)
    score = structure_score(warm, other)
    assert score < 0.95
    # SSIM = luminance * contrast * structure, luminance and contrast terms <= 1
    x, y = lightness(warm).astype(np.float64), lightness(other).astype(np.float64)
    assert structural_similarity(x, y, data_range=100.0) <= score + 1e-9


def test_in_house_ssim_is_scikit_images_on_a_square_window(warm, cool):
    """The formula used for windows scikit-image does not take (1 x 7), checked where it does."""
    from skimage.metrics import structural_similarity

    from imgot.metrics import _ssim

    x, y = lightness(warm), lightness(cool)
    for side in (3, 7):
        expected = structural_similarity(x, y, data_range=100.0, win_size=side)
        assert _ssim(x, y, (side, side)) == pytest.approx(expected, abs=1e-5)  # skimage sums float32 L*


def test_ssim_of_a_one_by_seven_line_is_the_closed_form():
    """One 1 x 7 window (the only one left after the border crop): SSIM of the 7 values."""
    rng = np.random.default_rng(0)
    source, output = rng.random((1, 7, 3)), rng.random((1, 7, 3))
    x, y = lightness(source)[0].astype(float), lightness(output)[0].astype(float)
    c1, c2 = 1.0, 9.0
    cov = np.cov(x, y)  # sample (co)variances, N - 1
    expected = ((2 * x.mean() * y.mean() + c1) * (2 * cov[0, 1] + c2)
                / ((x.mean() ** 2 + y.mean() ** 2 + c1) * (cov[0, 0] + cov[1, 1] + c2)))
    assert structure_similarity(source, output) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (2, 1), (2, 2)])
def test_scores_a_single_pixel_window_cannot_have_are_none(shape):
    from imgot.metrics import blotch, chroma_structure, structure_score

    rng = np.random.default_rng(1)
    source, output = rng.random(shape + (3,)), rng.random(shape + (3,))
    assert structure_similarity(source, output) is None
    assert structure_score(source, output) is None and chroma_structure(source, output) is None
    assert blotch(source, output) is None
    assert (grain(source, output) is None) == (shape == (1, 1))
    assert color_distance(source, output) >= 0


def test_thin_images_are_scored_along_their_length_the_same_either_way():
    """1 x 5000 and 5000 x 1: every score defined, 1 / 0 for the image itself, equal under transposition."""
    from imgot.metrics import blotch, chroma_structure, structure_score

    rng = np.random.default_rng(2)
    line = np.repeat(np.linspace(0.1, 0.9, 5000)[None, :, None], 3, axis=2) + rng.normal(0, 0.01, (1, 5000, 3))
    line = np.clip(line, 0, 1)
    noisy = np.clip(line + rng.normal(0, 0.05, line.shape), 0, 1)
    metrics = (structure_similarity, structure_score, chroma_structure, blotch, grain)
    assert [m(line, line) for m in metrics] == [1.0, 1.0, 1.0, 0.0, 0.0]
    row = [m(line, noisy) for m in metrics]
    column = [m(line.transpose(1, 0, 2), noisy.transpose(1, 0, 2)) for m in metrics]
    assert row == pytest.approx(column, rel=1e-9, abs=1e-12)
    assert row[0] < 1 and row[1] < 1 and row[3] > 0 and row[4] > 0
