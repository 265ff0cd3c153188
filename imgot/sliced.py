"""Iterative distribution transfer: sliced optimal transport on color samples.

Pitie's IDT: rotate both color distributions by a random rotation, move each
source sample along every rotated axis to the reference's value at the same
quantile (1-D optimal transport per axis), rotate back, and repeat. After a
few tens of rotations the source sample has the reference sample's full 3-D
distribution, not only its marginals.

The rotations depend on the seed alone, so the reference's side (its sample
projected on every rotated axis, sorted) is computed once per reference and
seed (:class:`SlicedReference`) and shared by every source image.
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["random_rotation", "rank_order", "SlicedReference", "sliced_transport"]


def random_rotation(rng: np.random.Generator, dim: int = 3) -> np.ndarray:
    """A uniformly random rotation (orthonormal, determinant 1), shape (dim, dim).

    Examples
    --------
    >>> R = random_rotation(np.random.default_rng(0))
    >>> bool(np.allclose(R @ R.T, np.eye(3))), round(float(np.linalg.det(R)), 6)
    (True, 1.0)
    """
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    q *= np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


RANK_LEVELS = 1 << 16  # levels between a projection's extremes that its rank order tells apart


def rank_order(values: np.ndarray) -> np.ndarray:
    """The indices that sort `values` (1-D) at :data:`RANK_LEVELS` levels over their range.

    The values are quantized to 16 bits between their minimum and maximum
    and sorted stably (ties in index order) by numpy's radix sort, about six
    times faster than sorting 10,000 floats. Values closer than 1/65,535 of
    the range may come in index order instead of their own; in a 1-D
    transport that swaps targets as close as neighbouring quantiles. The
    order is the same whatever the machine. Non-finite values fall back to a
    stable float sort.

    Examples
    --------
    >>> rank_order(np.array([0.5, -1.0, 0.5, 2.0])).tolist()
    [1, 0, 2, 3]
    """
    values = np.asarray(values)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if not np.isfinite(high - low):
        return np.argsort(values, kind="stable")
    if high == low:
        return np.arange(values.size)
    codes = (values - low) * ((RANK_LEVELS - 1) / (high - low))
    codes += 0.5
    return np.argsort(codes.astype(np.uint16), kind="stable")


class SlicedReference:
    """A reference color sample with its sorted projections on the seeded rotations.

    Parameters
    ----------
    sample : ndarray of shape (M, D)
        The reference's colors in the working space.

    Notes
    -----
    :meth:`projections` is computed on first use for each ``(n_iter,
    random_state)`` and kept, so a fitted model maps every image without
    sorting the reference again; the kept projections travel with the
    object when it is pickled to worker processes.
    """

    def __init__(self, sample: np.ndarray):
        self.sample = np.asarray(sample, dtype=np.float64)
        self._cache: dict = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {"sample": self.sample, "_cache": dict(self._cache)}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def projections(self, n_iter: int, random_state: int) -> tuple[np.ndarray, np.ndarray]:
        """The rotations and the sample's sorted projections on their axes.

        Returns
        -------
        rotations : ndarray of shape (n_iter, D, D)
        sorted_projections : ndarray of shape (n_iter, D, M)
            ``sorted_projections[i, d]`` is ``sample @ rotations[i][:, d]``, sorted.
        """
        key = (int(n_iter), int(random_state))
        with self._lock:
            if key not in self._cache:
                rng = np.random.default_rng(random_state)
                dim = self.sample.shape[1]
                rotations = np.stack([random_rotation(rng, dim) for _ in range(n_iter)])
                projected = np.stack([(self.sample @ rotation).T for rotation in rotations])
                projected.sort(axis=-1)
                self._cache[key] = (rotations, projected)
            return self._cache[key]


def _match_axis(values: np.ndarray, target_sorted: np.ndarray) -> np.ndarray:
    """1-D OT: each value goes to the target's value at the same quantile."""
    order = rank_order(values)
    out = np.empty_like(values)
    if values.size == target_sorted.size:  # the same quantiles: the sorted target itself
        out[order] = target_sorted
        return out
    quantiles = (np.arange(values.size) + 0.5) / values.size
    target_quantiles = (np.arange(target_sorted.size) + 0.5) / target_sorted.size
    out[order] = np.interp(quantiles, target_quantiles, target_sorted)
    return out


def sliced_transport(
    source: np.ndarray, target: np.ndarray | SlicedReference, *, n_iter: int = 20, random_state: int = 0
) -> np.ndarray:
    """Move `source` samples until they follow `target`'s distribution (IDT).

    Parameters
    ----------
    source : ndarray of shape (N, D)
    target : ndarray of shape (M, D) or SlicedReference
        The reference sample; a :class:`SlicedReference` keeps its sorted
        projections from one call to the next (same result).
    n_iter : int, default 20
        Number of random rotations.
    random_state : int, default 0
        Seed of the rotations.

    Returns
    -------
    ndarray of shape (N, D)
        The moved source samples; row i is where ``source[i]`` goes.

    References
    ----------
    F. Pitie, A. Kokaram, R. Dahyot, "N-dimensional probability density
    function transfer and its application to colour transfer", ICCV (2005).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> target = rng.normal(5, 2, (500, 3))
    >>> moved = sliced_transport(rng.normal(0, 1, (500, 3)), target)
    >>> gap = np.abs(np.sort(moved, axis=0) - np.sort(target, axis=0)).mean()
    >>> bool(gap < 0.1)
    True
    """
    if not isinstance(target, SlicedReference):
        target = SlicedReference(target)
    rotations, sorted_projections = target.projections(n_iter, random_state)
    moved = np.array(source, dtype=np.float64, copy=True)
    for rotation, reference in zip(rotations, sorted_projections):
        projected = moved @ rotation
        shift = np.empty_like(projected)
        for axis in range(projected.shape[1]):
            shift[:, axis] = _match_axis(projected[:, axis], reference[axis]) - projected[:, axis]
        moved += shift @ rotation.T
    return moved
