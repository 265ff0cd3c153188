"""Neutralize: the Bradford transform against colour-science and Lindbloom, and a gray card under a cast."""

import numpy as np
import pytest
from click.testing import CliRunner
from skimage.color import rgb2lab

import imgot
from imgot.adaptation import BRADFORD, bradford_matrix, estimate_white, neutralize, neutralize_matrix
from imgot.cli import main
from imgot.colorspace import XYZ_FROM_RGB, linear_to_srgb
from imgot.pixels import as_pixels

D50 = np.array([0.96422, 1.0, 0.82521])
D65 = np.array([0.95047, 1.0, 1.08883])
# Bruce Lindbloom's published Bradford matrix from D50 to D65 (brucelindbloom.com, "Chromatic Adaptation").
LINDBLOOM_D50_TO_D65 = np.array([[0.9555766, -0.0230393, 0.0631636],
                                 [-0.0282895, 1.0099416, 0.0210077],
                                 [0.0122982, -0.0204830, 1.3299098]])


def test_bradford_matrix_is_lindblooms():
    assert np.allclose(bradford_matrix(D50, D65), LINDBLOOM_D50_TO_D65, atol=5e-7)


def test_bradford_matches_colour_science():
    with np.printoptions():  # colour-science switches numpy to 1.13-style printing on import; keep it local
        colour = pytest.importorskip("colour")
    assert np.array_equal(BRADFORD, colour.adaptation.CHROMATIC_ADAPTATION_TRANSFORMS["Bradford"])
    observer = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]
    for name in ("A", "D50", "D75"):
        white = colour.xy_to_XYZ(observer[name])
        theirs = colour.adaptation.matrix_chromatic_adaptation_VonKries(white, D65, transform="Bradford")
        assert np.allclose(bradford_matrix(white, D65), theirs, atol=1e-12)


def scene(cast, *, bright_white=False):
    """A gray card (center) among patches whose linear mean is that gray, seen under `cast` (linear RGB gains)."""
    rng = np.random.default_rng(0)
    gray = np.full(3, 0.18)
    colors = rng.uniform(0.03, 0.33, (8, 3))
    patches = np.concatenate([colors, 2 * gray - colors])  # pairs around the gray: the mean is the gray
    linear = np.repeat(np.repeat(patches.reshape(4, 4, 3), 16, 0), 16, 1)
    linear[24:40, 24:40] = gray
    if bright_white:
        linear[:8, :8] = 0.7  # a white card, the brightest surface (unclipped under the casts)
    return np.round(linear_to_srgb(linear * cast) * 255).astype(np.uint8)


def card_ab(image):
    return rgb2lab(image[28:36, 28:36] / 255.0)[..., 1:].mean(axis=(0, 1))


@pytest.mark.parametrize("cast", [(1.25, 1.0, 0.6), (0.8, 1.0, 1.3), (1.0, 0.85, 1.0)])
def test_a_gray_card_under_a_cast_comes_out_gray(cast):
    image = scene(np.array(cast))
    assert np.abs(card_ab(image)).max() > 5  # the cast shows
    assert np.abs(card_ab(neutralize(as_pixels(image)).color)).max() < 1.0
    white_patch = scene(np.array(cast), bright_white=True)
    assert np.abs(card_ab(neutralize(as_pixels(white_patch), "white-patch").color)).max() < 1.0
    # through the transfer: strength 0 returns the neutralized source
    out = imgot.transfer(image, image, strength=0.0, neutralize="gray-world")
    assert np.abs(card_ab(out)).max() < 1.0


def test_the_cast_is_removed_and_the_lightness_kept():
    image = scene(np.array([1.25, 1.0, 0.6]))
    white = estimate_white(as_pixels(image))
    gray = neutralize_matrix(white) @ white
    assert np.allclose(gray, gray[0]) and np.isclose(gray[0], XYZ_FROM_RGB[1] @ white)
    lightness = rgb2lab(neutralize(as_pixels(image)).color[28:36, 28:36] / 255.0)[..., 0].mean()
    assert abs(lightness - rgb2lab(image[28:36, 28:36] / 255.0)[..., 0].mean()) < 1.5


def test_the_map_moves_the_neutral_image(cool):
    """With neutralize, a warm-cast image and its neutral version get (nearly) the same result.

    At strength 1 a transport map sends any distribution onto the reference's, cast or not; halfway
    along it, what the source started from shows.
    """
    neutral = scene(np.ones(3))
    cast = scene(np.array([1.3, 1.0, 0.65]))
    options = dict(n_clusters=8, preserve_detail=False, strength=0.5)
    a = imgot.transfer(neutral, cool, **options)
    b = imgot.transfer(cast, cool, neutralize="gray-world", **options)
    c = imgot.transfer(cast, cool, **options)
    # (Bradford is not the inverse of a cast of sRGB gains: the patches come back within a few levels;
    # about 3.2 against 7.4 without neutralize, over seeds 0-3)
    near, far = np.abs(a.astype(int) - b).mean(), np.abs(a.astype(int) - c).mean()
    assert near < 4 < 6 < far and near < 0.5 * far


def test_the_lut_holds_the_neutralization(cool):
    cast = scene(np.array([1.3, 1.0, 0.65]))
    model = imgot.ColorTransfer(n_clusters=8, preserve_detail=False, neutralize="gray-world").fit(cool)
    by_lut = imgot.apply_lut_to_image(model.color_lut(cast), cast)
    assert np.abs(by_lut.astype(int) - model.transform(cast)).mean() < 1.0


def test_outside_the_apply_mask_the_original_and_ignored_pixels_stay(cool):
    cast = scene(np.array([1.3, 1.0, 0.65]))
    mask = np.zeros(cast.shape[:2], np.uint8)
    mask[:, :32] = 255
    out = imgot.transfer(cast, cool, n_clusters=8, neutralize="gray-world", apply_mask=mask)
    assert np.array_equal(out[:, 32:], cast[:, 32:])
    cast[:4] = 0
    out = imgot.transfer(cast, cool, n_clusters=8, neutralize="white-patch", ignore_color=(0, 0, 0))
    assert np.array_equal(out[:4], cast[:4])


def test_cli_flag_and_bad_values(tmp_path, cool):
    imgot.write_image(tmp_path / "s.png", scene(np.array([1.3, 1.0, 0.65])))
    imgot.write_image(tmp_path / "r.png", cool)
    runner = CliRunner()
    base = ["transfer", str(tmp_path / "s.png"), str(tmp_path / "r.png"), "--clusters", "8"]
    assert runner.invoke(main, [*base, "-o", str(tmp_path / "a.png"), "--neutralize"]).exit_code == 0
    expected = imgot.transfer(scene(np.array([1.3, 1.0, 0.65])), cool, n_clusters=8, neutralize="gray-world")
    assert np.array_equal(imgot.load_image(tmp_path / "a.png").pixels, expected)
    bad = runner.invoke(main, [*base, "-o", str(tmp_path / "b.png"), "--neutralize", "grey"])
    assert bad.exit_code == 2 and "gray-world" in bad.output
    with pytest.raises(ValueError, match="neutralize"):
        imgot.transfer(cool, cool, neutralize=True)
