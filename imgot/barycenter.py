"""Wasserstein barycenters of palettes, and the displacement interpolation they generalize.

The barycenter of weighted palettes mu_1 .. mu_n with weights lambda_i is
the distribution nu that minimizes ``sum_i lambda_i W2^2(nu, mu_i)``: their
average along the transport paths, not the mixture of their colors. With
two palettes and weights (1 - t, t) it is McCann's displacement
interpolation between them, every mass moved t of the way along its
transport path (:func:`displacement_interpolation`, also used by the spatial
morph).

It is computed with free support (Cuturi & Doucet, 2014; POT's
``ot.lp.free_support_barycenter``, called through :mod:`imgot.transport`):
k points of equal mass, started at the weighted k-means of all the
palettes, then moved in turn to the barycentric average of their exact
transport to every palette.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .palette import Palette
from .validation import renamed

__all__ = ["barycenter_cost", "displacement_interpolation", "palette_barycenter"]


def displacement_interpolation(start: np.ndarray, end: np.ndarray, t: float) -> np.ndarray:
    """McCann's interpolation: each mass t of the way from `start` to `end`, on a straight line.

    Examples
    --------
    >>> displacement_interpolation(np.array([0.0, 10.0]), np.array([4.0, 2.0]), 0.25).tolist()
    [1.0, 8.0]
    """
    return (1.0 - t) * start + t * end


def _check_weights(weights, n: int) -> np.ndarray:
    if weights is None:
        return np.full(n, 1.0 / n)
    weights = np.asarray(weights, np.float64).reshape(-1)
    valid = weights.shape == (n,) and np.all(np.isfinite(weights)) and np.all(weights >= 0)
    if not valid or not weights.sum() > 0:
        raise ValueError(f"weights must be {n} non-negative numbers with a positive sum, got {weights!r}")
    return weights / weights.sum()


def palette_barycenter(
    palettes: Sequence[Palette],
    *,
    weights=None,
    n_clusters: int = 64,
    max_iter: int = 100,
    tol: float = 1e-7,
    random_state: int = 0,
    **deprecated,
) -> Palette:
    """Free-support Wasserstein barycenter of weighted palettes.

    Parameters
    ----------
    palettes : sequence of Palette
        In one working space (e.g. CIELAB), of any sizes.
    weights : array-like of shape (n,), optional
        Weight of each palette in the average (uniform when omitted).
    n_clusters : int, default 64
        Support points of the barycenter, of equal mass (the k-means clusters
        that start it; the `n_clusters` of the palettes).
    max_iter, tol : int, float
        Support updates, and the displacement under which they stop.
    random_state : int, default 0
        Seed of the k-means that starts the support.
    **deprecated
        ``n_colors``, the old name of `n_clusters` (DeprecationWarning).

    Returns
    -------
    Palette
        ``n_clusters`` colors of mass ``1 / n_clusters`` each. A single palette
        is returned as it is (it is its own barycenter).

    Raises
    ------
    ValueError
        For no palettes, palettes of another dimension, or bad weights.

    Examples
    --------
    >>> red = Palette(np.array([[50.0, 60.0, 40.0]]), np.array([1.0]))
    >>> green = Palette(np.array([[50.0, -60.0, 40.0]]), np.array([1.0]))
    >>> palette_barycenter([red, green], n_clusters=1).colors.round(6).tolist()
    [[50.0, 0.0, 40.0]]
    >>> palette_barycenter([red, green], weights=[3, 1], n_clusters=1).colors.round(6).tolist()
    [[50.0, 30.0, 40.0]]
    """
    from .transport import free_support_barycenter

    n_clusters = renamed("palette_barycenter", deprecated, ("n_colors",)).get("n_clusters", n_clusters)
    palettes = list(palettes)
    if not palettes:
        raise ValueError("palettes must not be empty")
    dimension = palettes[0].colors.shape[1]
    if any(p.colors.ndim != 2 or p.colors.shape[1] != dimension for p in palettes):
        raise ValueError("all palettes must have colors of shape (K, d) with the same d")
    weights = _check_weights(weights, len(palettes))
    if len(palettes) == 1 or np.count_nonzero(weights) == 1:
        return palettes[int(np.argmax(weights))]
    masses = [p.weights / p.weights.sum() for p in palettes]
    init = _weighted_kmeans(palettes, masses, weights, int(n_clusters), int(random_state))
    support = free_support_barycenter([p.colors for p in palettes], masses, init, measure_weights=weights,
                                      max_iter=max_iter, tol=tol)
    return Palette(support, np.full(support.shape[0], 1.0 / support.shape[0]))


def _weighted_kmeans(palettes, masses, weights, n_clusters: int, seed: int) -> np.ndarray:
    """The k-means centers of all palette colors, each weighted by its share in the average."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    colors = np.concatenate([p.colors for p in palettes])
    mass = np.concatenate([w * m for w, m in zip(weights, masses)])
    keep = mass > 0
    colors, mass = colors[keep], mass[keep]
    distinct = np.unique(colors, axis=0).shape[0]
    if distinct <= n_clusters:
        # Fewer colors than points: start from a weighted draw of them (repeats allowed).
        rng = np.random.default_rng(seed)
        return colors[rng.choice(colors.shape[0], size=n_clusters, p=mass / mass.sum())]
    with threadpool_limits(limits=1, user_api="openmp"):
        kmeans = KMeans(n_clusters=n_clusters, n_init=1, random_state=seed).fit(colors, sample_weight=mass)
    return kmeans.cluster_centers_


def barycenter_cost(barycenter: Palette, palettes: Sequence[Palette], weights=None) -> float:
    """The objective ``sum_i lambda_i W2^2(barycenter, palette_i)`` (exact transport).

    Examples
    --------
    >>> a = Palette(np.array([[0.0, 0, 0]]), np.array([1.0]))
    >>> b = Palette(np.array([[2.0, 0, 0]]), np.array([1.0]))
    >>> barycenter_cost(Palette(np.array([[1.0, 0, 0]]), np.array([1.0])), [a, b])
    1.0
    """
    from .transport import cost_matrix, emd_plan

    palettes = list(palettes)
    weights = _check_weights(weights, len(palettes))
    total = 0.0
    for weight, palette in zip(weights, palettes):
        cost = cost_matrix(barycenter.colors, palette.colors)
        a, b = barycenter.weights / barycenter.weights.sum(), palette.weights / palette.weights.sum()
        plan = emd_plan(a, b, cost)
        total += weight * float(np.sum(plan * cost))
    return float(total)
