"""Optimal transport between palettes; the only module that imports POT.

The cost is the squared Euclidean distance between palette colors. Solvers
are registered in :data:`TRANSPORT_METHODS`: exact (``emd``), entropic
(``sinkhorn``) and entropic with relaxed marginals (``unbalanced``).
"""

from __future__ import annotations

import warnings
from numbers import Real
from typing import Callable

import numpy as np

from .exceptions import ConvergenceWarning
from .palette import Palette
from .method_table import PALETTE_METHODS

__all__ = [
    "TRANSPORT_METHODS", "cost_matrix", "solve_plan", "barycentric_projection", "sinkhorn_unbalanced_log",
]


def cost_matrix(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances, shape (len(source), len(target))."""
    import ot

    return ot.dist(np.asarray(source, np.float64), np.asarray(target, np.float64), metric="sqeuclidean")


def _solve_emd(a, b, cost, *, reg, reg_m, max_iter, tol):
    import ot

    plan, log = ot.emd(a, b, cost, numItermax=max(max_iter, 100_000), log=True)
    if log.get("warning"):
        warnings.warn(f"exact transport: {log['warning']}", ConvergenceWarning, stacklevel=4)
    return plan


def _cost_scale(cost: np.ndarray) -> float:
    """The median positive cost: the unit of the relative `reg` and `reg_m`."""
    return float(np.median(cost[cost > 0])) if np.any(cost > 0) else 1.0


def _sinkhorn_log(a, b, cost, absolute_reg: float, *, max_iter: int, tol: float, reg, stacklevel: int):
    """``ot.sinkhorn`` in the log domain, checked: finite plan, a ConvergenceWarning past `tol`.

    `reg` is the value the caller named (relative or absolute), for the messages.
    """
    import ot

    # The log-domain solver keeps the plan finite; only its unused scaling
    # vectors (log['u'], log['v']) may overflow, so those warnings are noise.
    with np.errstate(over="ignore", under="ignore"):
        plan, log = ot.sinkhorn(a, b, cost, absolute_reg, method="sinkhorn_log", numItermax=int(max_iter),
                                stopThr=tol, log=True, warn=False)
    if not np.all(np.isfinite(plan)):
        raise FloatingPointError(f"Sinkhorn produced a non-finite plan with reg={reg}")
    error = float(log["err"][-1]) if log.get("err") else np.inf
    if error > tol:
        warnings.warn(
            f"Sinkhorn did not converge in max_iter={max_iter} iterations "
            f"(marginal error {error:.2e} > tol={tol:.0e}); raise max_iter or reg",
            ConvergenceWarning,
            stacklevel=stacklevel + 1,
        )
    return plan


def _solve_sinkhorn(a, b, cost, *, reg, reg_m, max_iter, tol):
    return _sinkhorn_log(a, b, cost, reg * _cost_scale(cost), max_iter=max_iter, tol=tol, reg=reg, stacklevel=4)


def sinkhorn_unbalanced_log(
    a: np.ndarray, b: np.ndarray, cost: np.ndarray, reg: float, reg_m: float, *,
    max_iter: int = 1000, tol: float = 1e-9,
) -> tuple[np.ndarray, float]:
    """Unbalanced entropic transport with KL-relaxed marginals, in the log domain.

    Solves the problem of ``ot.unbalanced.sinkhorn_unbalanced(a, b, cost, reg,
    reg_m, reg_type='kl')``,

    .. math::

        \\min_{P \\ge 0} \\langle P, C \\rangle + reg\\, KL(P | a b^T)
            + reg_m\\, KL(P 1 | a) + reg_m\\, KL(P^T 1 | b),

    with the generalized Sinkhorn iterations on the dual potentials
    (Chizat et al. 2018), ``f = -k reg log sum_j b_j exp((g_j - C_ij) / reg)``
    and likewise for ``g``, ``k = reg_m / (reg_m + reg)``. Working on
    potentials rather than scalings keeps every number finite for small
    `reg`, where POT's own solvers underflow.

    Parameters
    ----------
    a, b : ndarray of shape (K,) and (L,)
        Positive masses.
    cost : ndarray of shape (K, L)
    reg, reg_m : float
        Absolute entropic regularization and mass relaxation.
    max_iter : int
    tol : float
        Stop when the plan's marginals change by less than `tol` (in mass)
        over ten iterations.

    Returns
    -------
    plan : ndarray of shape (K, L)
    error : float
        The last change of the marginals over ten iterations.

    Examples
    --------
    >>> cost = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> plan, _ = sinkhorn_unbalanced_log(np.array([0.5, 0.5]), np.array([0.5, 0.5]), cost, 0.01, 10.0)
    >>> plan.round(2).tolist()
    [[0.5, 0.0], [0.0, 0.5]]
    """
    from scipy.special import logsumexp

    log_a, log_b = np.log(a), np.log(b)
    kappa = 1.0 if np.isposinf(reg_m) else reg_m / (reg_m + reg)  # reg_m = inf: balanced Sinkhorn
    f, g = np.zeros(len(a)), np.zeros(len(b))

    def plan_of(f, g):
        return np.exp(log_a[:, None] + log_b[None, :] + (f[:, None] + g[None, :] - cost) / reg)

    previous = None
    error = np.inf
    for iteration in range(1, max_iter + 1):
        f = -kappa * reg * logsumexp(log_b[None, :] + (g[None, :] - cost) / reg, axis=1)
        g = -kappa * reg * logsumexp(log_a[:, None] + (f[:, None] - cost) / reg, axis=0)
        if iteration % 10 == 0 or iteration == max_iter:
            plan = plan_of(f, g)
            marginals = np.concatenate([plan.sum(axis=1), plan.sum(axis=0)])
            if previous is not None:
                error = float(np.abs(marginals - previous).max())
                if error < tol:
                    break
            previous = marginals
    return plan_of(f, g), error


def _solve_unbalanced(a, b, cost, *, reg, reg_m, max_iter, tol):
    if np.isposinf(reg_m):  # no mass relaxation: exactly the balanced problem
        return _solve_sinkhorn(a, b, cost, reg=reg, reg_m=reg_m, max_iter=max_iter, tol=tol)
    scale = _cost_scale(cost)
    plan, error = sinkhorn_unbalanced_log(a, b, cost, reg * scale, reg_m * scale, max_iter=max_iter, tol=tol)
    if not np.all(np.isfinite(plan)) or not plan.sum() > 0:
        raise FloatingPointError(f"unbalanced Sinkhorn produced an unusable plan with reg={reg}, reg_m={reg_m}")
    if error > tol:
        warnings.warn(
            f"unbalanced Sinkhorn did not converge in max_iter={max_iter} iterations "
            f"(marginal change {error:.2e} > tol={tol:.0e}); raise max_iter or reg",
            ConvergenceWarning,
            stacklevel=4,
        )
    return plan


# One solver per palette method of the method table, under its name (a palette method without a
# solver fails at import, not at the first transfer).
_SOLVERS = {"emd": _solve_emd, "sinkhorn": _solve_sinkhorn, "unbalanced": _solve_unbalanced}
TRANSPORT_METHODS: dict[str, Callable[..., np.ndarray]] = {name: _SOLVERS[name] for name in PALETTE_METHODS}


def solve_plan(
    source: Palette,
    target: Palette,
    *,
    method: str = "emd",
    reg: float = 0.01,
    reg_m: float = 1.0,
    max_iter: int = 1000,
    tol: float = 1e-9,
) -> np.ndarray:
    """Optimal transport plan between two weighted palettes.

    Parameters
    ----------
    source, target : Palette
        Weighted palettes in the same working space.
    method : {'emd', 'sinkhorn', 'unbalanced'}
        Exact network simplex (``ot.emd``), entropic Sinkhorn in the log
        domain (``ot.sinkhorn(..., method='sinkhorn_log')``), or unbalanced
        Sinkhorn (the problem of ``ot.unbalanced.sinkhorn_unbalanced`` with KL
        relaxation of both marginals, solved in the log domain by
        :func:`sinkhorn_unbalanced_log`).
    reg : float
        Entropic regularization for ``'sinkhorn'`` and ``'unbalanced'``,
        relative to the median of the cost matrix: the solver gets
        ``reg * median(cost)``, so the same value behaves alike in CIELAB and
        in RGB.
    reg_m : float
        Mass relaxation of ``'unbalanced'``, relative to the median cost like
        `reg`: the price of creating or destroying mass (KL divergence of the
        plan's marginals from the palette weights). Small values let each
        color go to its nearest reference colors whatever their share; large
        values tend to balanced Sinkhorn.
    max_iter, tol : int, float
        Iteration cap and error tolerance of the Sinkhorn solvers. A plan that
        misses `tol` gives a :class:`~imgot.exceptions.ConvergenceWarning`.

    Returns
    -------
    plan : ndarray of shape (K_source, K_target)
        For ``'emd'`` and ``'sinkhorn'`` its row sums are ``source.weights``
        and column sums ``target.weights``; ``'unbalanced'`` only approaches
        them.

    Examples
    --------
    >>> colors = np.array([[0.0, 0, 0], [1.0, 0, 0]])
    >>> palette = Palette(colors, np.array([0.5, 0.5]))
    >>> solve_plan(palette, palette).round(3).tolist()
    [[0.5, 0.0], [0.0, 0.5]]
    """
    try:
        solver = TRANSPORT_METHODS[method]
    except (KeyError, TypeError):
        valid = ", ".join(TRANSPORT_METHODS)
        raise ValueError(f"unknown method {method!r}; choose one of: {valid}") from None
    a = np.asarray(source.weights, np.float64)
    b = np.asarray(target.weights, np.float64)
    cost = cost_matrix(source.colors, target.colors)
    return solver(a / a.sum(), b / b.sum(), cost, reg=reg, reg_m=reg_m, max_iter=max_iter, tol=tol)


def barycentric_projection(plan: np.ndarray, target_colors: np.ndarray) -> np.ndarray:
    """Where each source color goes: ``sum_j P_ij y_j / sum_j P_ij``.

    Parameters
    ----------
    plan : ndarray of shape (K_source, K_target)
    target_colors : ndarray of shape (K_target, 3)

    Returns
    -------
    ndarray of shape (K_source, 3)
    """
    mass = plan.sum(axis=1, keepdims=True)
    return (plan @ target_colors) / np.maximum(mass, np.finfo(np.float64).tiny)


# -- building blocks for distances, barycenters and the spatial morph ---------------------------
# Absolute-`reg` solvers on raw masses: the callers (debiased Sinkhorn divergence, free-support
# barycenter, pixel-level morph) need the same absolute regularization across several problems,
# or integer masses, so they cannot go through solve_plan's palette-relative interface.


def emd_plan(a: np.ndarray, b: np.ndarray, cost: np.ndarray, *, max_iter: int = 1_000_000) -> np.ndarray:
    """Exact optimal plan between masses `a` and `b` (``ot.emd``), any equal totals.

    With integer masses the plan is integral (a vertex of the transportation
    polytope), up to rounding.

    Examples
    --------
    >>> emd_plan(np.array([2.0, 1.0]), np.array([1.0, 2.0]), np.array([[0.0, 1.0], [1.0, 0.0]])).tolist()
    [[1.0, 1.0], [0.0, 1.0]]
    """
    import ot

    plan, log = ot.emd(np.asarray(a, np.float64), np.asarray(b, np.float64), np.asarray(cost, np.float64),
                       numItermax=int(max_iter), log=True)
    if log.get("warning"):
        warnings.warn(f"exact transport: {log['warning']}", ConvergenceWarning, stacklevel=2)
    return plan


def sinkhorn_plan(a: np.ndarray, b: np.ndarray, cost: np.ndarray, reg: float, *,
                  max_iter: int = 10_000, tol: float = 1e-9) -> np.ndarray:
    """Entropic plan (``ot.sinkhorn``, log domain) for an absolute regularization `reg`.

    A plan that misses `tol` in `max_iter` iterations gives a
    :class:`~imgot.exceptions.ConvergenceWarning`.

    Examples
    --------
    >>> half = np.array([0.5, 0.5])
    >>> plan = sinkhorn_plan(half, half, np.array([[0.0, 1.0], [1.0, 0.0]]), 0.05)
    >>> plan.round(3).tolist()
    [[0.5, 0.0], [0.0, 0.5]]
    """
    return _sinkhorn_log(a, b, cost, reg, max_iter=max_iter, tol=tol, reg=reg, stacklevel=2)


def free_support_barycenter(
    locations: list[np.ndarray], weights: list[np.ndarray], init: np.ndarray, *,
    measure_weights: np.ndarray | None = None, max_iter: int = 100, tol: float = 1e-7,
) -> np.ndarray:
    """Support of the free-support W2 barycenter (``ot.lp.free_support_barycenter``).

    Alternates exact plans from the barycenter's current support to every
    measure and the barycentric update of the support (Cuturi & Doucet, 2014);
    the barycenter's masses stay those it starts with (uniform here).

    Parameters
    ----------
    locations : list of ndarray of shape (K_i, d)
    weights : list of ndarray of shape (K_i,)
        Each sums to 1.
    init : ndarray of shape (k, d)
        Starting support.
    measure_weights : ndarray of shape (n,), optional
        Weight of each measure in the average (uniform when omitted); sums to 1.
    max_iter, tol : int, float
        Support updates, and the displacement under which they stop.

    Returns
    -------
    ndarray of shape (k, d)

    Examples
    --------
    >>> a, b = np.array([[0.0, 0.0]]), np.array([[2.0, 4.0]])
    >>> free_support_barycenter([a, b], [np.ones(1), np.ones(1)], np.zeros((1, 2))).tolist()
    [[1.0, 2.0]]
    """
    import ot

    k = init.shape[0]
    return np.asarray(ot.lp.free_support_barycenter(
        [np.asarray(x, np.float64) for x in locations], [np.asarray(w, np.float64) for w in weights],
        np.asarray(init, np.float64), b=np.full(k, 1.0 / k), weights=measure_weights,
        numItermax=int(max_iter), stopThr=float(tol),
    ))


def sinkhorn_symmetric_plan(a: np.ndarray, cost: np.ndarray, reg: float, *,
                            max_iter: int = 10_000, tol: float = 1e-9) -> np.ndarray:
    """Entropic plan from `a` to itself for a symmetric `cost`, by the averaged symmetric update.

    The self-terms of a Sinkhorn divergence: the plan is ``a_i a_j exp((f_i +
    f_j - C_ij) / reg)`` with one potential, updated as ``f <- (f + T(f)) / 2``
    (Feydy et al. 2019), which converges in a few dozen iterations where the
    alternating solver (``ot.sinkhorn``, the same fixed point) may need
    thousands for a small `reg`.

    Examples
    --------
    >>> plan = sinkhorn_symmetric_plan(np.array([0.5, 0.5]), np.array([[0.0, 1.0], [1.0, 0.0]]), 0.05)
    >>> plan.round(3).tolist()
    [[0.5, 0.0], [0.0, 0.5]]
    """
    from scipy.special import logsumexp

    log_a = np.log(a)
    f = np.zeros(len(a))
    error = np.inf
    for _ in range(int(max_iter)):
        update = -reg * logsumexp(log_a[None, :] + (f[None, :] - cost) / reg, axis=1)
        f = 0.5 * (f + update)
        plan = np.exp(log_a[:, None] + log_a[None, :] + (f[:, None] + f[None, :] - cost) / reg)
        error = float(np.abs(plan.sum(axis=1) - a).max())
        if error < tol:
            break
    if error > tol:
        warnings.warn(
            f"symmetric Sinkhorn did not converge in max_iter={max_iter} iterations "
            f"(marginal error {error:.2e} > tol={tol:.0e}); raise max_iter or reg",
            ConvergenceWarning,
            stacklevel=2,
        )
    return plan


def random_directions(dimension: int, n_projections: int, seed: int) -> np.ndarray:
    """Unit vectors drawn uniformly on the sphere, shape (dimension, n_projections).

    POT's own draw (``ot.sliced.get_random_projections``): the directions
    ``ot.sliced_wasserstein_distance(..., seed=seed)`` uses.

    Examples
    --------
    >>> directions = random_directions(3, 5, 0)
    >>> directions.shape, bool(np.allclose((directions**2).sum(axis=0), 1))
    ((3, 5), True)
    """
    import ot

    return ot.sliced.get_random_projections(int(dimension), int(n_projections), int(seed))


_PROJECTION_BATCH = 4_000_000  # projected values held at once (32 MB of float64)


def sliced_wasserstein(x: np.ndarray, y: np.ndarray, directions: np.ndarray, *, p: int = 2) -> float:
    """The sliced p-Wasserstein distance of two uniform samples along `directions`.

    ``(mean over directions of W_p^p of the two projections)^(1/p)``: the one
    sliced distance of imgot (:func:`imgot.distance` with ``method='sliced'``,
    :func:`imgot.metrics.color_distance`). Equal sample sizes pair the sorted
    projections; otherwise each direction goes through the exact 1-D
    distance :func:`wasserstein_1d`. Directions are taken a
    batch at a time, so memory stays bounded on large samples.

    Parameters
    ----------
    x, y : ndarray of shape (n, d) and (m, d)
    directions : ndarray of shape (d, k)
        Unit vectors (:func:`random_directions`).
    p : int, default 2

    Examples
    --------
    >>> x = np.zeros((4, 3)); y = np.ones((4, 3))
    >>> directions = np.eye(3)
    >>> sliced_wasserstein(x, y, directions)
    1.0
    """
    step = max(1, _PROJECTION_BATCH // (x.shape[0] + y.shape[0]))
    powers = []
    for start in range(0, directions.shape[1], step):
        batch = directions[:, start: start + step]
        px, py = np.sort(x @ batch, axis=0), np.sort(y @ batch, axis=0)
        if px.shape[0] == py.shape[0]:
            powers.append(np.mean(np.abs(px - py) ** p, axis=0))
        else:
            powers.append(np.array([wasserstein_1d(px[:, k], py[:, k], p=p) ** p for k in range(px.shape[1])]))
    return float(np.mean(np.concatenate(powers)) ** (1.0 / p))


def wasserstein_1d(
    u_values: np.ndarray,
    v_values: np.ndarray,
    u_weights: np.ndarray | None = None,
    v_weights: np.ndarray | None = None,
    *,
    p: float = 1,
) -> float:
    """Exact p-Wasserstein distance between two weighted 1-D distributions.

    Through the quantile functions: ``W_p = (integral_0^1 |F^-1(t) -
    G^-1(t)|^p dt)^(1/p)``, computed exactly on the merged breakpoints of the
    two cumulative distributions (no sampling, no binning).

    Parameters
    ----------
    u_values, v_values : ndarray of shape (n,) and (m,)
        Support points, in any order.
    u_weights, v_weights : ndarray, optional
        Non-negative masses (uniform when omitted); each is normalized to 1.
    p : float, default 1
        Order, >= 1.

    Returns
    -------
    float

    Examples
    --------
    >>> round(wasserstein_1d([1, 2, 3], [1, 2, 3], [0.2, 0.3, 0.5], [0.1, 0.6, 0.3]), 12)
    0.3
    >>> round(wasserstein_1d([0.0], [3.0], p=2), 12)
    3.0
    """
    if not isinstance(p, Real) or isinstance(p, bool) or not p >= 1:
        raise ValueError(f"p must be a number >= 1, got {p!r}")
    u, uw = _sorted_distribution(u_values, u_weights, "u")
    v, vw = _sorted_distribution(v_values, v_weights, "v")
    cu, cv = np.cumsum(uw), np.cumsum(vw)
    cu[-1] = cv[-1] = 1.0
    breaks = np.union1d(cu, cv)
    mass = np.diff(breaks, prepend=0.0)
    # On (t_{k-1}, t_k] each quantile function is constant: the first support
    # point whose cumulative mass reaches t_k.
    qu = u[np.minimum(np.searchsorted(cu, breaks, side="left"), u.size - 1)]
    qv = v[np.minimum(np.searchsorted(cv, breaks, side="left"), v.size - 1)]
    gap = np.abs(qu - qv)
    if p == 1:
        return float(np.sum(mass * gap))
    return float(np.sum(mass * gap**p) ** (1.0 / p))


def _sorted_distribution(values, weights, name: str) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    weights = np.ones(values.size) if weights is None else np.asarray(weights, np.float64).reshape(-1)
    if values.size == 0 or weights.shape != values.shape:
        raise ValueError(f"{name}_values must be non-empty, with as many weights, got "
                         f"{values.size} values and {weights.size} weights")
    if not (np.all(np.isfinite(values)) and np.all(weights >= 0) and weights.sum() > 0):
        raise ValueError(f"{name}_values must be finite and {name}_weights non-negative with a positive sum")
    keep = weights > 0
    order = np.argsort(values[keep], kind="stable")
    return values[keep][order], weights[keep][order] / weights[keep].sum()
