"""Closed-form linear color maps: the Gaussian optimal transport map and its diagonal case.

Between two Gaussians N(mu_s, S_s) and N(mu_t, S_t) the optimal transport map
for the squared Euclidean cost is affine (Monge-Kantorovich linear, "MKL"):

    T(x) = mu_t + A (x - mu_s),
    A = S_s^{-1/2} (S_s^{1/2} S_t S_s^{1/2})^{1/2} S_s^{-1/2}.

Fitted to an image's colors it matches their means and covariances exactly.
Keeping only the diagonals of the covariances gives the per-channel
mean/standard-deviation transfer of Reinhard et al. (here in CIELAB, not in
their l-alpha-beta space).
"""

from __future__ import annotations

import numpy as np

__all__ = ["color_statistics", "gaussian_map", "diagonal_map"]


def _sqrtm(matrix: np.ndarray, power: float = 0.5) -> np.ndarray:
    """Power of a symmetric positive semi-definite matrix, via its eigenvalues."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    values = np.maximum(values, np.finfo(np.float64).tiny)
    return (vectors * values**power) @ vectors.T


def color_statistics(
    colors: np.ndarray, ridge: float = 0.0, *, relative_floor: float = 1e-9
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (divided by N) of colors, with a floor under its eigenvalues.

    Eigenvalues below ``relative_floor * trace / D + ridge`` are raised to it,
    the others are left exactly as they are: a non-degenerate covariance is
    returned unchanged (so the linear map is the closed-form MKL), while a
    degenerate one (a flat image, colors on a line) stays invertible and the
    map finite.

    Parameters
    ----------
    colors : ndarray of shape (N, 3)
    ridge : float
        Absolute part of the floor, in squared color units: the floor of an
        image with a single color.
    relative_floor : float, default 1e-9
        Part of the floor relative to the covariance's mean variance.

    Returns
    -------
    mean : ndarray of shape (3,)
    covariance : ndarray of shape (3, 3)

    Examples
    --------
    >>> mean, cov = color_statistics(np.array([[0.0, 0, 0], [2.0, 0, 0]]))
    >>> mean.tolist(), float(cov[0, 0])
    ([1.0, 0.0, 0.0], 1.0)
    """
    colors = np.asarray(colors, np.float64)
    mean = colors.mean(axis=0)
    centered = colors - mean
    covariance = centered.T @ centered / colors.shape[0]
    covariance = (covariance + covariance.T) / 2
    floor = relative_floor * np.trace(covariance) / covariance.shape[0] + ridge
    values, vectors = np.linalg.eigh(covariance)
    if values.min() < floor:
        covariance = (vectors * np.maximum(values, floor)) @ vectors.T
    return mean, covariance


def gaussian_map(
    mean_source: np.ndarray, cov_source: np.ndarray, mean_target: np.ndarray, cov_target: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The optimal transport map between two Gaussians: ``T(x) = x @ A.T + b``.

    Parameters
    ----------
    mean_source, mean_target : ndarray of shape (D,)
    cov_source, cov_target : ndarray of shape (D, D)
        Symmetric positive definite.

    Returns
    -------
    A : ndarray of shape (D, D)
        ``S_s^{-1/2} (S_s^{1/2} S_t S_s^{1/2})^{1/2} S_s^{-1/2}``, symmetric.
    b : ndarray of shape (D,)
        ``mu_t - A mu_s``.

    References
    ----------
    F. Pitie, A. Kokaram, "The linear Monge-Kantorovitch linear colour mapping
    for example-based colour transfer", IET CVMP (2007).

    Examples
    --------
    >>> A, b = gaussian_map(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2))
    >>> A.round(6).tolist(), b.round(6).tolist()
    ([[2.0, 0.0], [0.0, 2.0]], [1.0, 1.0])
    """
    root = _sqrtm(cov_source)
    inverse_root = _sqrtm(cov_source, -0.5)
    A = inverse_root @ _sqrtm(root @ cov_target @ root) @ inverse_root
    A = (A + A.T) / 2
    return A, mean_target - A @ mean_source


def diagonal_map(
    mean_source: np.ndarray, cov_source: np.ndarray, mean_target: np.ndarray, cov_target: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation transfer (Reinhard et al. 2001).

    :func:`gaussian_map` with the covariances' off-diagonal terms dropped:
    ``A = diag(sigma_t / sigma_s)``.

    References
    ----------
    E. Reinhard, M. Ashikhmin, B. Gooch, P. Shirley, "Color transfer between
    images", IEEE Computer Graphics and Applications 21 (2001).

    Examples
    --------
    >>> A, b = diagonal_map(np.zeros(2), np.eye(2), np.ones(2), np.diag([4.0, 9.0]))
    >>> np.diag(A).tolist(), b.tolist()
    ([2.0, 3.0], [1.0, 1.0])
    """
    scale = np.sqrt(np.diag(cov_target) / np.maximum(np.diag(cov_source), np.finfo(np.float64).tiny))
    A = np.diag(scale)
    return A, mean_target - A @ mean_source
