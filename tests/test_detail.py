import numpy as np
import pytest

from imgot import transfer
from imgot.detail import preserve_detail
from imgot.colorspace import srgb_to_linear as _srgb_to_linear
from imgot.metrics import color_distance, lightness


def _high_pass(plane):
    from scipy.ndimage import gaussian_filter

    return plane - gaussian_filter(plane, 2.0)


@pytest.fixture
def grainy():
    """A smooth dark-to-mid gradient with sensor-like noise, sRGB float in [0, 1]."""
    rng = np.random.default_rng(7)
    base = np.linspace(0.15, 0.45, 128)[None, :, None] * np.ones((96, 128, 3))
    return np.clip(base + rng.normal(0, 0.01, base.shape), 0, 1)


@pytest.mark.parametrize("chroma", [False, True])
def test_detail_undoes_a_contrast_stretch_of_the_grain_but_keeps_the_tone_and_colors(grainy, chroma):
    # The map doubles contrast around mid-gray and tints the image: the grain doubles too.
    output = np.clip(0.5 + 2.0 * (grainy - 0.3), 0, 1) * np.array([1.0, 0.8, 0.6])
    kept = preserve_detail(grainy, output, chroma=chroma)
    source_l, output_l, kept_l = lightness(grainy), lightness(output), lightness(kept)
    # Fine texture: the source's again (the stretched grain is undone).
    assert np.std(_high_pass(kept_l) - _high_pass(source_l)) < 0.25 * np.std(_high_pass(output_l) - _high_pass(source_l))
    # Coarse tone: the output's (the stretch itself is kept), to within a couple of L* units.
    assert abs(np.mean(kept_l - output_l)) < 1.0
    assert np.abs(kept_l.mean(axis=0) - output_l.mean(axis=0)).max() < 3.0
    lin_out, lin_kept = _srgb_to_linear(output), _srgb_to_linear(kept.astype(np.float64))
    unclipped = (lin_kept.max(axis=-1) < 0.99) & (lin_out.min(axis=-1) > 1e-3)
    chromaticity = lambda lin: lin / lin.sum(axis=-1, keepdims=True)
    if not chroma:
        # L* only: each pixel keeps the output's chromaticity (only its linear-light level changes).
        np.testing.assert_allclose(chromaticity(lin_kept)[unclipped], chromaticity(lin_out)[unclipped], atol=2e-3)
    else:
        # Chroma too: the output's chromaticity on average over each column (the tint is kept) ...
        mean_kept = np.nanmean(np.where(unclipped[..., None], chromaticity(lin_kept), np.nan), axis=0)
        mean_out = np.nanmean(np.where(unclipped[..., None], chromaticity(lin_out), np.nan), axis=0)
        assert np.nanmax(np.abs(mean_kept - mean_out)) < 0.01
        # ... with the source's small chroma texture, not the map's stretch of it.
        spread = lambda image: np.std(chromaticity(_srgb_to_linear(image))[unclipped] -
                                      mean_out[None].repeat(image.shape[0], 0)[unclipped], axis=0).max()
        assert spread(kept.astype(np.float64)) < 0.8 * spread(output)


def test_detail_on_gray_images_and_identity(grainy):
    gray = grainy[..., 0]
    kept = preserve_detail(gray, np.clip(0.5 + 2.0 * (gray - 0.3), 0, 1))
    assert kept.shape == gray.shape and kept.dtype == np.float32
    assert np.std(_high_pass(lightness(kept)) - _high_pass(lightness(gray))) < 0.5
    # An output equal to the source is left as it is.
    np.testing.assert_allclose(preserve_detail(grainy, grainy), grainy, atol=1e-4)


def test_emd_sliced_is_closer_than_emd_and_detail_keeps_structure(rocket, coffee):
    from imgot.metrics import grain, structure_similarity

    fast = {"n_clusters": 16, "n_samples": 3000}

    def distance(image):
        return color_distance(image, coffee, n_samples=5000, n_projections=64)

    emd = transfer(rocket, coffee, method="emd", preserve_detail=False, **fast)
    refined = transfer(rocket, coffee, method="emd-sliced", preserve_detail=False, **fast)
    assert distance(refined) < 0.8 * distance(emd)
    kept = transfer(rocket, coffee, method="emd-sliced", preserve_detail=True, **fast)
    assert structure_similarity(rocket, kept) > structure_similarity(rocket, refined) + 0.02
    assert grain(rocket, kept) < grain(rocket, refined) - 0.2
    assert distance(kept) < distance(emd)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64])
def test_a_color_map_given_as_a_function_runs_on_a_sample_and_gives_the_same_result(dtype):
    """The detail step needs the mapped colors only on its sample: same output, a fraction of the calls."""
    scale = {np.uint8: 255, np.uint16: 65535, np.float64: 1.0}[dtype]
    rng = np.random.default_rng(3)
    # Large enough for a coarse grid sampled every third pixel (radius 16, cells of 4).
    ramp = np.linspace(0.1, 0.8, 800)[None, :, None] * np.array([1.0, 0.8, 0.6])
    source = np.clip(ramp + rng.normal(0, 0.03, (780, 800, 3)), 0, 1)
    source = source.astype(np.float64) if dtype is np.float64 else np.rint(source * scale).astype(dtype)
    gains = np.array([1.4, 0.9, 0.6])

    def color_map(color):  # a tint and a contrast stretch, pointwise
        values = np.clip(0.5 + gains * (color / scale - 0.4), 0, 1) * scale
        return values if dtype is np.float64 else np.rint(values).astype(dtype)

    mapped_pixels = []

    def counting_map(color):
        mapped_pixels.append(color.shape[0] * color.shape[1])
        return color_map(color)

    expected = preserve_detail(source, color_map(source))
    lazy = preserve_detail(source, counting_map)
    assert lazy.dtype == expected.dtype and lazy.shape == source.shape
    np.testing.assert_array_equal(lazy, expected)
    assert sum(mapped_pixels) < source.shape[0] * source.shape[1] / 8
    # L* only (no chroma filter) needs every pixel's mapped color: it maps the whole image once.
    mapped_pixels.clear()
    np.testing.assert_array_equal(preserve_detail(source, counting_map, chroma=False),
                                  preserve_detail(source, color_map(source), chroma=False))
    assert mapped_pixels == [source.shape[0] * source.shape[1]]


@pytest.mark.parametrize("shape, step", [((37, 50), 2), ((64, 64), 2), ((41, 29), 3), ((50, 61), 6), ((45, 33), 5)])
def test_cell_sums_are_the_sums_over_each_cells_samples(shape, step):
    from imgot.detail import _cell_sums, _sample_cells, _sample_stride

    rng = np.random.default_rng(step)
    sample, cells, grid = _sample_cells(shape, step, _sample_stride(step))
    assert cells.per_cell == (step // _sample_stride(step) if step % _sample_stride(step) == 0 else 0)
    planes = [rng.random(shape)[sample] for _ in range(3)]
    weight = rng.random(planes[0].size)
    got = _cell_sums(cells, weight, planes, grid)
    # The truth: for each sampled pixel, its cell from its own row and column.
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    cell_of = ((rows // step) * grid[1] + cols // step)[sample].ravel()
    for plane, sums in zip(planes, got):
        expected = np.zeros(grid[0] * grid[1])
        np.add.at(expected, cell_of, plane.ravel() * weight)
        np.testing.assert_allclose(sums.ravel(), expected, rtol=1e-12, atol=1e-12)
