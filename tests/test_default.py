"""The default pipeline (emd-sliced, then the detail step): what a user gets with no flags."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import imgot
from imgot import ColorTransfer, transfer
from imgot.detail import guided_filter, preserve_detail
from imgot.metrics import grain, lightness, structure_similarity

FAST = {"n_clusters": 16, "n_samples": 3000}


def test_the_default_is_emd_sliced_with_detail():
    model = ColorTransfer()
    assert (model.method, model.preserve_detail) == (imgot.methods.DEFAULT_METHOD, True) == ("emd-sliced", True)


def test_default_is_deterministic_and_strength_zero_is_the_source(rocket, coffee):
    first = transfer(rocket, coffee, **FAST)
    np.testing.assert_array_equal(first, transfer(rocket, coffee, **FAST))
    np.testing.assert_array_equal(transfer(rocket, coffee, strength=0.0), rocket)


def test_identity_transfer_stays_close(coffee):
    out = transfer(coffee, coffee)
    assert np.abs(out.astype(int) - coffee).mean() < 2.0
    assert np.abs(lightness(out) - lightness(coffee)).mean() < 1.0


def test_default_adds_no_grain_and_keeps_structure_where_the_plain_map_does_not(rocket, coffee):
    plain = transfer(rocket, coffee, preserve_detail=False, **FAST)
    kept = transfer(rocket, coffee, **FAST)
    assert grain(rocket, kept) <= 0.0 < grain(rocket, plain)
    assert structure_similarity(rocket, kept) > structure_similarity(rocket, plain)


def test_gray_stays_gray_and_alpha_is_kept(rocket, coffee):
    gray = rocket.mean(axis=-1).astype(np.uint8)
    out = transfer(gray, coffee, **FAST)
    assert out.shape == gray.shape and out.dtype == np.uint8
    rgba = np.dstack([rocket, np.arange(rocket.size // 3, dtype=np.uint8).reshape(rocket.shape[:2])])
    out = transfer(rgba, coffee, **FAST)
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])


def _exact_detail_lightness(source, output, radius, eps=0.1):
    """The full-resolution guided filter of the L* change: the reference for the fast filter."""
    guide = lightness(source) / 100.0
    change = lightness(output) / 100.0 - guide
    return 100.0 * np.clip(guide + guided_filter(guide, change, radius=radius, eps=eps), 0.0, 1.0)


# (960, 720): radius 15, cells of 3 pixels sampled one pixel in three.
@pytest.mark.parametrize("size", [(320, 240), (640, 427), (960, 720)])
def test_fast_guided_filter_agrees_with_the_exact_filter(size, coffee):
    from .conftest import load_sample

    source = load_sample("rocket.jpg", size)
    output = transfer(source, load_sample("coffee.jpg", (200, 133)), preserve_detail=False, **FAST)
    radius = max(2, min(source.shape[:2]) // 48)
    exact = _exact_detail_lightness(source, output, radius)
    fast = lightness(preserve_detail(source, output, tone_match=0))
    # Stated tolerance: mean |dL*| < 0.5 and 99% of pixels within 2 L* of the exact filter.
    error = np.abs(fast - exact)
    assert error.mean() < 0.5 and np.quantile(error, 0.99) < 2.0
    # subsample=1 is the exact filter itself, to the 8-bit rounding of the output.
    one = lightness(preserve_detail(source, output, subsample=1, tone_match=0))
    assert np.abs(one - exact).max() < 0.6


def test_detail_on_16_bit_and_float_keeps_dtype(rocket, coffee):
    deep = rocket.astype(np.uint16) * 257
    out = transfer(deep, coffee.astype(np.uint16) * 257, **FAST)
    assert out.dtype == np.uint16 and len(np.unique(out)) > 256
    flt = transfer(rocket / 255.0, coffee, **FAST)
    assert flt.dtype == np.float64
    assert np.abs(flt * 255 - transfer(rocket, coffee, **FAST)).mean() < 1.0


@pytest.mark.slow  # a subprocess
def test_the_command_line_does_not_load_pots_optional_backends(tmp_path, rocket, coffee):
    # A stand-in "torch" package that records being imported: POT imports
    # torch at import time when it is installed, and imgot must not pay for it.
    fake = tmp_path / "site" / "torch"
    fake.mkdir(parents=True)
    marker = tmp_path / "torch_was_imported"
    (fake / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n__version__ = '0'\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("POT_BACKEND")}
    env["PYTHONPATH"] = str(tmp_path / "site")
    Image.fromarray(rocket).save(tmp_path / "src.png")
    Image.fromarray(coffee).save(tmp_path / "ref.png")
    subprocess.run([sys.executable, "-m", "imgot", "transfer", tmp_path / "src.png", tmp_path / "ref.png",
                    "-o", tmp_path / "out.png"], check=True, env=env, timeout=120, capture_output=True)
    assert (tmp_path / "out.png").exists() and not marker.exists()
    # The stand-in is importable, so the test would see POT importing it (POT may
    # then fail on the stand-in: only the import matters here).
    subprocess.run([sys.executable, "-c", "import ot"], env=env, timeout=120, capture_output=True)
    assert marker.exists()


# -- a smooth map: gradients stay gradients, flat areas stay flat ---------------------------


def _ramp(low, high, width=512, height=48):
    t = np.linspace(0.0, 1.0, width)[None, :, None]
    return np.repeat(np.asarray(low) + (np.asarray(high) - np.asarray(low)) * t, height, axis=0)


@pytest.mark.parametrize("low, high", [((0.1, 0.2, 0.5), (0.6, 0.8, 1.0)), ((0.05, 0.05, 0.05), (0.95, 0.95, 0.95))])
def test_a_smooth_gradient_stays_monotone_and_free_of_steps(low, high, coffee, rocket):
    from imgot.colorspace import srgb_to_lab

    source = _ramp(low, high)
    for reference in (coffee, rocket):
        out = transfer(source, reference)
        row = out[source.shape[0] // 2].astype(np.float64)
        lab = srgb_to_lab(row)
        # Monotone: L* never turns back by more than 0.3 units (far below a visible step) ...
        assert np.diff(lab[:, 0]).min() > -0.3
        # ... and no step: neighbouring columns (1/512 of the ramp apart) stay under 2.5 Delta E,
        # and none is more than 1.8x the median of the 17 around it (a stretch, not a jump).
        from scipy.ndimage import median_filter

        steps = np.linalg.norm(np.diff(lab, axis=0), axis=1)
        assert steps.max() < 2.5
        assert (steps / median_filter(steps, 17, mode="nearest")).max() < 1.8


def _spread(image):
    """Root mean square Delta E of the pixels from their mean color."""
    from imgot.colorspace import srgb_to_lab

    lab = srgb_to_lab(np.asarray(image, np.float64) / 255.0).reshape(-1, 3)
    return float(np.sqrt(((lab - lab.mean(axis=0)) ** 2).sum(axis=1).mean()))


@pytest.mark.parametrize("color", [(0.2, 0.15, 0.12), (0.75, 0.6, 0.5), (0.5, 0.6, 0.8)])
def test_a_noisy_uniform_patch_stays_uniform(color, coffee, rocket):
    # Optimal transport sends a one-color image onto the whole reference palette:
    # the plain map stretches the patch's noise into the reference's full range.
    rng = np.random.default_rng(0)
    patch = np.round(np.clip(np.asarray(color) + rng.normal(0, 0.01, (256, 256, 3)), 0, 1) * 255).astype(np.uint8)
    for reference in (coffee, rocket):
        plain, out = transfer(patch, reference, preserve_detail=False), transfer(patch, reference)
        # Stated bound: the spread stays within 1.5x the source's (relighting the same sRGB
        # noise to another color changes its size in Delta E a little); the plain map's is over 2x.
        assert _spread(out) < 1.5 * _spread(patch) < 0.75 * _spread(plain)


def test_the_smooth_map_still_matches_a_known_palette():
    # Four flat blocks (with a little noise) onto four other colors of the same shares:
    # the exact answer is POT's assignment of the block colors to the reference colors.
    import ot

    from imgot.colorspace import srgb_to_lab

    rng = np.random.default_rng(3)
    source_colors = np.array([[0.8, 0.2, 0.2], [0.2, 0.7, 0.3], [0.2, 0.3, 0.8], [0.9, 0.85, 0.3]])
    reference_colors = np.array([[0.1, 0.1, 0.15], [0.6, 0.45, 0.35], [0.95, 0.95, 0.9], [0.35, 0.6, 0.7]])

    def blocks(colors):
        image = np.concatenate([np.full((96, 64, 3), c) for c in colors], axis=1)
        return np.round(np.clip(image + rng.normal(0, 0.005, image.shape), 0, 1) * 255).astype(np.uint8)

    source, reference = blocks(source_colors), blocks(reference_colors)
    source_lab, reference_lab = srgb_to_lab(source_colors), srgb_to_lab(reference_colors)
    plan = ot.emd(np.full(4, 0.25), np.full(4, 0.25), ot.dist(source_lab, reference_lab))
    expected = reference_lab[plan.argmax(axis=1)]
    out_lab = srgb_to_lab(transfer(source, reference).astype(np.float64) / 255.0)
    for block in range(4):
        inner = out_lab[16:-16, block * 64 + 16 : block * 64 + 48].reshape(-1, 3).mean(axis=0)
        # Stated distance: each block's interior lands within 5 Delta E of its assigned color.
        assert np.linalg.norm(inner - expected[block]) < 5.0


def test_detail_keeps_an_isoluminant_color_edge_without_a_halo():
    # Red beside green of the same L*: an L*-only guide cannot see the edge; the
    # color guide must keep each side's own change right up to it.
    from imgot.colorspace import lab_to_srgb

    red, green = lab_to_srgb(np.array([[55.0, 50.0, 30.0]]))[0], lab_to_srgb(np.array([[55.0, -45.0, 40.0]]))[0]
    image = np.zeros((96, 192, 3))
    image[:, :96], image[:, 96:] = red, green
    source = np.round(image * 255).astype(np.uint8)
    # A map that turns red to blue and green to yellow (a LUT on the two colors' change).
    output = source.copy()
    output[:, :96] = np.round(lab_to_srgb(np.array([[55.0, 10.0, -50.0]]))[0] * 255)
    output[:, 96:] = np.round(lab_to_srgb(np.array([[70.0, 0.0, 70.0]]))[0] * 255)
    kept = preserve_detail(source, output)
    # Two pixels from the edge, each side is within 6 levels of its own mapped color ...
    assert np.abs(kept[:, 92:94].astype(int) - output[:, 92:94]).max() <= 6
    assert np.abs(kept[:, 98:100].astype(int) - output[:, 98:100]).max() <= 6
    # ... where smoothing the change with the source's L* as the guide bleeds across the edge.
    guide = lightness(source) / 100.0
    change = (output.astype(np.float32) - source) / 255.0
    bled = np.clip(source / 255.0 + guided_filter(guide, change, radius=4, eps=0.1), 0, 1) * 255
    assert np.abs(bled[:, 92:94] - output[:, 92:94]).max() > 30


def test_ignored_pixels_do_not_enter_the_detail_step(coffee):
    # A photo inside a 40 px black frame, the frame's color ignored, through one LUT:
    # near the frame the detail step must give what it gives on the photo alone.
    from imgot.recolor import apply_lut_to_image

    from .conftest import load_sample

    photo = load_sample("rocket.jpg", (480, 360))
    framed = np.zeros((photo.shape[0] + 80, photo.shape[1] + 80, 3), np.uint8)
    framed[40:-40, 40:-40] = photo
    lut = ColorTransfer(**FAST).fit(coffee).color_lut(photo)
    inside = apply_lut_to_image(lut, framed, preserve_detail=True, ignore_color=(0, 0, 0))
    assert np.array_equal(inside[:40], framed[:40])
    alone = apply_lut_to_image(lut, photo, preserve_detail=True)
    band = np.zeros(photo.shape[:2], bool)
    band[:8], band[-8:], band[:, :8], band[:, -8:] = True, True, True, True
    difference = (lightness(inside[40:-40, 40:-40]) - lightness(alone))[band]
    # Stated tolerance (the filter's radius follows the image size, 7 px here against
    # 9 px framed): no bias toward light or dark, mean |dL*| under 0.5 within 8 px of the frame.
    assert abs(float(difference.mean())) < 0.2 and float(np.abs(difference).mean()) < 0.5


def test_chroma_speckle_goes_in_flat_areas_while_a_strong_color_edge_keeps_its_change():
    # A flat orange area with mild chroma noise beside a strong red/green edge, through a
    # map that triples every color's distance from the orange (it stretches the speckle)
    # and turns the red and the green into other colors. The ridge of each box is weighted
    # by its color variance: the flat area loses the stretched speckle, while the strong
    # edge keeps its change closer than any fixed ridge (0.01: 5 levels off; 0.02: 7).
    from imgot.colorspace import lab_to_srgb, srgb_to_lab

    rng = np.random.default_rng(0)
    orange = lab_to_srgb(np.array([[65.0, 25.0, 45.0]]))[0]
    red = lab_to_srgb(np.array([[55.0, 50.0, 30.0]]))[0]
    green = lab_to_srgb(np.array([[55.0, -45.0, 40.0]]))[0]
    image = np.empty((128, 384, 3))
    image[:, :128] = orange + rng.normal(0.0, 0.02, (128, 128, 3))
    image[:, 128:256], image[:, 256:] = red, green
    source = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    output = np.empty_like(source)
    stretched = orange + 3.0 * (source[:, :128] / 255.0 - orange)
    output[:, :128] = np.round(np.clip(stretched, 0, 1) * 255)
    output[:, 128:256] = np.round(lab_to_srgb(np.array([[55.0, 10.0, -50.0]]))[0] * 255)
    output[:, 256:] = np.round(lab_to_srgb(np.array([[70.0, 0.0, 70.0]]))[0] * 255)
    kept = preserve_detail(source, output)

    def chroma_spread(rgb):
        ab = srgb_to_lab(rgb[16:-16, 16:112].astype(np.float64) / 255.0)[..., 1:].reshape(-1, 2)
        return float(np.sqrt(((ab - ab.mean(axis=0)) ** 2).sum(axis=1).mean()))

    # The flat area keeps about the source's own chroma texture (the map tripled it) ...
    assert chroma_spread(kept) < 1.25 * chroma_spread(source) < 0.5 * chroma_spread(output)
    # ... and two pixels from the red/green edge each side is within 4 levels of its mapped color.
    assert np.abs(kept[:, 252:254].astype(int) - output[:, 252:254]).max() <= 4
    assert np.abs(kept[:, 258:260].astype(int) - output[:, 258:260]).max() <= 4


@pytest.mark.parametrize("options", [{}, {"strength": 0.5}, {"method": "emd", "preserve_detail": False},
                                     {"preserve_luminance": True}])
def test_a_small_images_lut_on_its_own_lattice_nodes_gives_the_whole_luts_bytes(rocket, coffee, options,
                                                                                 monkeypatch):
    import importlib

    model = ColorTransfer(**options).fit(coffee)
    images = [rocket, (rocket.astype(np.uint16) * 257 + 77), rocket.astype(np.float32) / 255]
    partial = [model.transform(image) for image in images]
    # (imgot.transfer is also the function's name in the package)
    monkeypatch.setattr(importlib.import_module("imgot.transfer"), "NODES_MAX_PIXELS", 0)  # the whole lattice
    for image, got in zip(images, partial):
        np.testing.assert_array_equal(got, model.transform(image))
    if not options:  # and the model's exported LUT is that LUT: the same bytes through it
        plain = ColorTransfer(preserve_detail=False).fit(coffee)
        monkeypatch.undo()
        np.testing.assert_array_equal(plain.transform(rocket), imgot.apply_lut_to_image(plain.color_lut(rocket), rocket))
