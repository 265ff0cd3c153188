"""Optimal transport between palettes; the only module that imports POT.

The cost is the squared Euclidean distance between palette colors. Solvers
are registered in :data:`TRANSPORT_METHODS`.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from .exceptions import ConvergenceWarning
from .palette import Palette

__all__ = ["TRANSPORT_METHODS", "cost_matrix", "solve_plan", "barycentric_projection"]


def cost_matrix(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances, shape (len(source), len(target))."""
    import ot

    return ot.dist(np.asarray(source, np.float64), np.asarray(target, np.float64), metric="sqeuclidean")


def _solve_emd(a, b, cost, *, reg, max_iter, tol):
    import ot

    plan, log = ot.emd(a, b, cost, numItermax=max(max_iter, 100_000), log=True)
    if log.get("warning"):
        warnings.warn(f"exact transport: {log['warning']}", ConvergenceWarning, stacklevel=4)
    return plan


def _solve_sinkhorn(a, b, cost, *, reg, max_iter, tol):
    import ot

    scale = float(np.median(cost[cost > 0])) if np.any(cost > 0) else 1.0
    # The log-domain solver keeps the plan finite; only its unused scaling
    # vectors (log['u'], log['v']) may overflow, so those warnings are noise.
    with np.errstate(over="ignore", under="ignore"):
        plan, log = ot.sinkhorn(
            a, b, cost, reg * scale, method="sinkhorn_log",
            numItermax=max_iter, stopThr=tol, log=True, warn=False,
        )
    if not np.all(np.isfinite(plan)):
        raise FloatingPointError(f"Sinkhorn produced a non-finite plan with reg={reg}")
    error = float(log["err"][-1]) if log.get("err") else np.inf
    if error > tol:
        warnings.warn(
            f"Sinkhorn did not converge in max_iter={max_iter} iterations "
            f"(marginal error {error:.2e} > tol={tol:.0e}); raise max_iter or reg",
            ConvergenceWarning,
            stacklevel=4,
        )
    return plan


TRANSPORT_METHODS: dict[str, Callable[..., np.ndarray]] = {
    "emd": _solve_emd,
    "sinkhorn": _solve_sinkhorn,
}


def solve_plan(
    source: Palette,
    target: Palette,
    *,
    method: str = "emd",
    reg: float = 0.01,
    max_iter: int = 1000,
    tol: float = 1e-9,
) -> np.ndarray:
    """Optimal transport plan between two weighted palettes.

    Parameters
    ----------
    source, target : Palette
        Weighted palettes in the same working space.
    method : {'emd', 'sinkhorn'}
        Exact network simplex (``ot.emd``) or entropic Sinkhorn in the log
        domain (``ot.sinkhorn(..., method='sinkhorn_log')``).
    reg : float
        Entropic regularization for ``'sinkhorn'``, relative to the median
        of the cost matrix: the solver gets ``reg * median(cost)``, so the same
        value behaves alike in CIELAB and in RGB.
    max_iter, tol : int, float
        Iteration cap and marginal-error tolerance of Sinkhorn. A plan that
        misses `tol` gives a :class:`~imgot.exceptions.ConvergenceWarning`.

    Returns
    -------
    plan : ndarray of shape (K_source, K_target)
        Its row sums are ``source.weights`` and column sums ``target.weights``.
    """
    try:
        solver = TRANSPORT_METHODS[method]
    except (KeyError, TypeError):
        valid = ", ".join(TRANSPORT_METHODS)
        raise ValueError(f"unknown method {method!r}; choose one of: {valid}") from None
    a = np.asarray(source.weights, np.float64)
    b = np.asarray(target.weights, np.float64)
    cost = cost_matrix(source.colors, target.colors)
    return solver(a / a.sum(), b / b.sum(), cost, reg=reg, max_iter=max_iter, tol=tol)


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
