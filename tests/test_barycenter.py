import numpy as np
import ot
import pytest

from imgot.barycenter import barycenter_cost, displacement_interpolation, palette_barycenter
from imgot.palette import Palette


def random_palette(rng, k=12):
    weights = rng.random(k) + 0.1
    return Palette(rng.normal(0, 10, (k, 3)), weights / weights.sum())


def test_barycenter_of_translates_is_the_weighted_translate():
    # The optimal plan between translates is the translation, so the barycenter is the base
    # palette moved by the weighted mean shift (a closed form).
    rng = np.random.default_rng(0)
    base = Palette(rng.normal(0, 10, (8, 3)), np.full(8, 1 / 8))
    shifts = np.array([[0.0, 0, 0], [30, -10, 5], [-12, 20, 40]])
    weights = np.array([0.5, 0.3, 0.2])
    palettes = [Palette(base.colors + shift, base.weights) for shift in shifts]
    result = palette_barycenter(palettes, weights=weights, n_clusters=8, max_iter=200)
    expected = base.colors + weights @ shifts
    cost = ot.dist(result.colors, expected)
    assert float(ot.emd2(result.weights, base.weights, cost)) < 1e-6


def test_two_palettes_give_the_displacement_interpolation_in_one_dimension():
    # In 1-D the barycenter's quantile function is the weighted mean of the quantile functions.
    rng = np.random.default_rng(1)
    a = np.sort(rng.normal(0, 1, 16))
    b = np.sort(rng.normal(5, 3, 16))
    lift = lambda x: np.column_stack([x, np.zeros_like(x), np.zeros_like(x)])  # noqa: E731
    uniform = np.full(16, 1 / 16)
    for t in (0.25, 0.5):
        result = palette_barycenter([Palette(lift(a), uniform), Palette(lift(b), uniform)],
                                    weights=[1 - t, t], n_clusters=16, max_iter=200)
        expected = displacement_interpolation(a, b, t)
        np.testing.assert_allclose(np.sort(result.colors[:, 0]), expected, atol=1e-6)
        np.testing.assert_allclose(result.colors[:, 1:], 0, atol=1e-9)


def test_barycenter_beats_the_mixture_and_each_input_on_the_objective():
    rng = np.random.default_rng(2)
    palettes = [random_palette(rng) for _ in range(4)]
    result = palette_barycenter(palettes, n_clusters=24)
    with pytest.warns(DeprecationWarning, match="'n_colors' is deprecated"):
        np.testing.assert_array_equal(palette_barycenter(palettes, n_colors=24).colors, result.colors)
    best = barycenter_cost(result, palettes)
    mixture = Palette(np.concatenate([p.colors for p in palettes]),
                      np.concatenate([p.weights for p in palettes]) / 4)
    assert best < 0.8 * barycenter_cost(mixture, palettes)
    assert all(best < barycenter_cost(p, palettes) for p in palettes)
    # POT's own objective on the same support agrees.
    pot = sum(0.25 * ot.emd2(result.weights, p.weights, ot.dist(result.colors, p.colors)) for p in palettes)
    assert best == pytest.approx(float(pot))


def test_single_palette_and_errors():
    rng = np.random.default_rng(3)
    palette = random_palette(rng)
    assert palette_barycenter([palette]) is palette
    assert palette_barycenter([palette, random_palette(rng)], weights=[1, 0]) is palette
    for bad in ({"weights": [1, -1]}, {"weights": [1]}, {"weights": [0, 0]}):
        with pytest.raises(ValueError):
            palette_barycenter([palette, palette], **bad)
    with pytest.raises(ValueError):
        palette_barycenter([])
