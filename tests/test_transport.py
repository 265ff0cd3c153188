import numpy as np
import ot
import pytest

from imgot.exceptions import ConvergenceWarning
from imgot.palette import Palette
from imgot.transport import barycentric_projection, cost_matrix, solve_plan


@pytest.fixture
def palettes():
    rng = np.random.default_rng(0)
    source = Palette(rng.normal(50, 20, (12, 3)), rng.dirichlet(np.ones(12)))
    target = Palette(rng.normal(30, 25, (9, 3)), rng.dirichlet(np.ones(9)))
    return source, target


def _weights_of(source, target):
    """A POT distribution_estimation that hands back our palette weights."""
    return lambda X: source.weights if np.array_equal(X, source.colors) else target.weights


def test_emd_plan_equals_pot(palettes):
    source, target = palettes
    plan = solve_plan(source, target, method="emd")
    expected = ot.emd(source.weights, target.weights, ot.dist(source.colors, target.colors))
    np.testing.assert_allclose(plan, expected, atol=1e-12)


def test_barycentric_map_equals_emd_transport(palettes):
    source, target = palettes
    plan = solve_plan(source, target, method="emd")
    model = ot.da.EMDTransport(distribution_estimation=_weights_of(source, target))
    model.fit(Xs=source.colors, Xt=target.colors)
    expected = model.transform(Xs=source.colors)
    np.testing.assert_allclose(barycentric_projection(plan, target.colors), expected, rtol=1e-10)


def test_sinkhorn_matches_pot_sinkhorn_transport(palettes):
    source, target = palettes
    reg = 0.05
    plan = solve_plan(source, target, method="sinkhorn", reg=reg, max_iter=5000)
    cost = cost_matrix(source.colors, target.colors)
    absolute = reg * np.median(cost)
    model = ot.da.SinkhornTransport(
        reg_e=absolute, max_iter=5000, tol=1e-12, distribution_estimation=_weights_of(source, target)
    )
    model.fit(Xs=source.colors, Xt=target.colors)
    np.testing.assert_allclose(plan, model.coupling_, atol=1e-7)
    np.testing.assert_allclose(
        barycentric_projection(plan, target.colors), model.transform(Xs=source.colors), atol=1e-4
    )


@pytest.mark.parametrize("method", ["emd", "sinkhorn"])
def test_plan_conserves_mass(palettes, method):
    source, target = palettes
    plan = solve_plan(source, target, method=method, reg=0.05, max_iter=5000)
    assert np.all(plan >= 0)
    np.testing.assert_allclose(plan.sum(axis=1), source.weights, atol=1e-8)
    np.testing.assert_allclose(plan.sum(axis=0), target.weights, atol=1e-8)


def test_tiny_reg_stays_finite_and_warns(palettes):
    source, target = palettes
    with pytest.warns(ConvergenceWarning):
        plan = solve_plan(source, target, method="sinkhorn", reg=1e-5, max_iter=200)
    assert np.all(np.isfinite(plan)) and plan.sum() == pytest.approx(1.0, rel=1e-6)


def test_small_reg_tends_to_emd(palettes):
    source, target = palettes
    plan = solve_plan(source, target, method="sinkhorn", reg=2e-3, max_iter=50000, tol=1e-8)
    cost = cost_matrix(source.colors, target.colors)
    exact = solve_plan(source, target, method="emd")
    assert np.sum(plan * cost) == pytest.approx(np.sum(exact * cost), rel=1e-2)


def test_unconverged_sinkhorn_warns(palettes):
    source, target = palettes
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        solve_plan(source, target, method="sinkhorn", reg=1e-4, max_iter=3)


def test_unknown_method_lists_valid_ones(palettes):
    with pytest.raises(ValueError, match="emd, sinkhorn"):
        solve_plan(*palettes, method="magic")


def test_barycentric_projection_of_a_permutation_is_the_permutation():
    target = np.arange(12.0).reshape(4, 3)
    plan = np.eye(4)[[2, 0, 3, 1]] / 4
    np.testing.assert_allclose(barycentric_projection(plan, target), target[[2, 0, 3, 1]])
