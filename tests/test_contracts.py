"""The contracts imgot keeps with the libraries it mirrors, checked with their own tools.

scikit-learn's estimator checks on ColorTransfer, POT's debiased Sinkhorn
divergence, and the closed-form Monge-Kantorovich (MKL) map of ``linear``
computed with numpy and scipy.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import ot
import pytest
import scipy.linalg
from PIL import Image

from imgot import ColorTransfer
from imgot.colorspace import get_color_space, srgb_to_lab
from imgot.mapping import lut_from_field
from imgot.palette import sample_rgb
from imgot.pixels import as_pixels

ROOT = Path(__file__).resolve().parent.parent


# -- item 9: the scikit-learn estimator contract, with scikit-learn's own helpers --------------------


SKLEARN_CHECKS = (
    "check_estimator_cloneable", "check_estimator_repr", "check_get_params_invariance", "check_set_params",
    "check_no_attributes_set_in_init", "check_do_not_raise_errors_in_init_or_set_params",
    "check_estimators_unfitted", "check_mixin_order", "check_valid_tag_types",
)


@pytest.mark.parametrize("check", SKLEARN_CHECKS)
def test_scikit_learn_estimator_checks(check):
    from sklearn.utils import estimator_checks

    getattr(estimator_checks, check)("ColorTransfer", ColorTransfer(method="linear", ignore_color=(0, 0, 0)))


def test_scikit_learn_contract_on_images(warm, cool):
    from joblib import hash as joblib_hash
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline
    from sklearn.utils.estimator_checks import check_parameters_default_constructible

    check_parameters_default_constructible("ColorTransfer", ColorTransfer())
    color = [0, 0, 0]  # a mutable value (a numpy array is refused: see the audit)
    model = ColorTransfer(method="linear", ignore_color=color)
    assert model.get_params()["ignore_color"] is color  # stored untouched
    before = joblib_hash(model.get_params())
    model.fit(cool, None)
    assert joblib_hash(model.get_params()) == before  # fit changes no parameter
    learned = [name for name in vars(model) if name not in model.get_params()]
    assert learned and all(name.endswith("_") for name in learned)
    once = model.transform(warm)
    np.testing.assert_array_equal(model.fit(cool).transform(warm), once)  # fit is idempotent
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).transform(warm), once)
    assert not any(name.endswith("_") for name in vars(clone(model)))
    pipeline = make_pipeline(ColorTransfer(method="linear", strength=1.0))
    pipeline.set_params(colortransfer__strength=0.5)
    np.testing.assert_array_equal(pipeline.fit(cool).transform(warm),
                                  ColorTransfer(method="linear", strength=0.5).fit(cool).transform(warm))


# -- item 10: the debiased Sinkhorn divergence is 0 for the same distribution ----------------------


@pytest.mark.parametrize("p", [1, 2])
def test_sinkhorn_divergence_is_zero_for_the_same_points_in_another_order(p):
    """Not only for equal arrays (a shortcut in the code): the debiasing itself gives 0."""
    from imgot.distances import sinkhorn_divergence

    rng = np.random.default_rng(0)
    x = rng.normal(50, 20, (40, 3))
    w = rng.random(40)
    w /= w.sum()
    order = rng.permutation(40)
    value = sinkhorn_divergence(x, w, x[order], w[order], p=p, reg=0.1)
    assert value ** p < 1e-6 * np.mean(np.linalg.norm(x - x.mean(0), axis=1) ** p)
    shifted = sinkhorn_divergence(x, w, x + [3.0, 0, 0], w, p=p, reg=0.1)
    assert shifted > 1.0  # and it still sees a shift
    cost = ot.dist(x, x, metric="euclidean" if p == 1 else "sqeuclidean")
    reference = ot.bregman.empirical_sinkhorn_divergence(
        x, x[order], 0.1 * np.median(cost[cost > 0]), w, w[order],
        metric="euclidean" if p == 1 else "sqeuclidean", method="sinkhorn_log", numIterMax=10_000,
        stopThr=1e-12)
    assert abs(float(reference)) < 1e-6 * np.mean(cost)


# -- item 11: linear is the closed-form MKL of its sample ------------------------------------------


def test_linear_lut_is_the_closed_form_mkl_on_a_full_size_photo():
    def load(name):
        with Image.open(ROOT / "sample_images" / name) as image:
            return np.asarray(image.convert("RGB"))

    source, reference = load("rocket.jpg"), load("coffee.jpg")
    model = ColorTransfer(method="linear", preserve_detail=False).fit(reference)

    def moments(image):  # the method's own sample, then numpy and scipy: no imgot statistics
        lab = srgb_to_lab(sample_rgb(as_pixels(image), model.n_samples, model.random_state))
        return lab.mean(axis=0), np.cov(lab.T, bias=True)

    # A photo, and the same photo at a tenth of its contrast (covariance eigenvalues 0.04 to 2.2 Lab^2,
    # under the old absolute ridge of 1 Lab^2 yet far from degenerate).
    for image in (source, 0.5 + (source / 255.0 - 0.5) * 0.1):
        (mean_s, cov_s), (mean_t, cov_t) = moments(image), moments(reference)
        root = np.real(scipy.linalg.sqrtm(cov_s))
        inverse = np.linalg.inv(root)
        A = inverse @ np.real(scipy.linalg.sqrtm(root @ cov_t @ root)) @ inverse
        b = mean_t - A @ mean_s
        expected = lut_from_field(lambda x: x @ A.T + b - x, get_color_space("lab"), size=model.lut_size)
        np.testing.assert_allclose(model.color_lut(image).table, expected.table, atol=1e-5)
    flat = np.full((8, 8, 3), 128, np.uint8)
    assert np.isfinite(ColorTransfer(method="linear").fit(flat).color_lut(flat).table).all()
    assert np.isfinite(ColorTransfer(method="linear").fit(reference).color_lut(flat).table).all()
