"""Wasserstein distances between images, or groups of images, by color or gray level.

An image is a distribution: of colors in a working space (CIELAB by default),
or of gray levels. Three ways to compare two color distributions are
registered in :data:`DISTANCE_METHODS`:

- ``'emd'``: exact transport between the weighted k-means palettes of the two
  images (the palettes :class:`imgot.ColorTransfer` uses), cost ``|x - y|^p``;
- ``'sinkhorn'``: the debiased Sinkhorn divergence between the same
  palettes, ``(S(a, b) - (S(a, a) + S(b, b)) / 2)^(1/p)`` with ``S(a, b) =
  <P_ab, C_ab>`` the cost of the entropic plan (as POT's
  ``empirical_sinkhorn_divergence``), one absolute regularization for the
  three terms: 0 for identical inputs, where the plain entropic cost is not
  (the blur of the plan costs something even between an image and itself);
- ``'sliced'``: the sliced Wasserstein distance of capped pixel samples.

Gray levels (``gray=True``) are one-dimensional, where the distance is exact
and cheap: it is computed on the full histograms of the 16-bit gray levels
(every depth on that grid: the same picture at 8 bits, 16 bits or as float
is at distance 0) through the quantile functions,
``W_p^p = integral_0^1 |F^-1(t) - G^-1(t)|^p dt``.

A group of images (a list or tuple) is compared through its pooled
distribution, in which every image weighs the same whatever its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .colorspace import get_color_space
from .palette import fit_palette, sample_rgb
from .pixels import ImageLike, as_pixels
from .transport import (
    emd_plan,
    random_directions,
    sinkhorn_plan,
    sinkhorn_symmetric_plan,
    sliced_wasserstein,
    wasserstein_1d,
)
from .validation import check_integer, check_positive, check_seed

__all__ = [
    "DISTANCE_METHODS", "distance", "pairwise_distances", "sinkhorn_divergence",
    "wasserstein_1d", "gray_levels", "random_directions",
]

DISTANCE_METHODS = ("emd", "sinkhorn", "sliced")

# Pillow's ITU-R 601-2 luma weights in 16-bit fixed point (convert("L")).
_LUMA_FIXED = (19595, 38470, 7471)

_SINKHORN_TOL = 1e-9


def gray_levels(image: ImageLike) -> tuple[np.ndarray, float]:
    """Gray levels of an image on the 16-bit grid, whatever its depth, and the level of full intensity (65535).

    RGB becomes ITU-R 601-2 luma with Pillow's ``convert("L")`` weights in
    16-bit fixed point, ``19595 R + 38470 G + 7471 B`` (they sum to 2^16),
    rounded to the nearest 16-bit level: an 8-bit level counts as 257. So
    the same picture at 8 bits, at 16 bits (x257) or as float has the same
    levels, bit for bit (rounding 8-bit luma to whole 8-bit levels, as
    ``convert("L")`` does, would move it by up to half a level). Float
    images are quantized to 16 bits first. Fully transparent pixels are left
    out.

    Returns
    -------
    levels : ndarray of shape (N,), uint16
    scale : float
        65535.0.

    Examples
    --------
    >>> levels, scale = gray_levels(np.array([[[255, 0, 0], [255, 255, 255]]], np.uint8))
    >>> levels.tolist(), scale, round(float(levels[0]) / 257, 3)
    ([19595, 65535], 65535.0, 76.245)
    """
    pixels = as_pixels(image)
    color, scale = pixels.color, pixels.scale
    if color.dtype.kind == "f":
        color = np.rint(color * 65535.0).astype(np.uint16)
    per_level = 257 if scale == 255.0 else 1
    if pixels.is_gray:
        levels = color.astype(np.uint16) * np.uint16(per_level)
    else:
        wide = color.astype(np.uint32)  # at most 255 * 2^16 * 257 + 2^15 (or 65535 * 2^16 + 2^15) < 2^32
        luma = wide[..., 0] * np.uint32(_LUMA_FIXED[0])
        luma += wide[..., 1] * np.uint32(_LUMA_FIXED[1])
        luma += wide[..., 2] * np.uint32(_LUMA_FIXED[2])
        if per_level != 1:
            luma *= np.uint32(per_level)
        luma += np.uint32(0x8000)
        levels = (luma >> np.uint32(16)).astype(np.uint16)
    levels = levels.reshape(-1)
    mask = pixels.sample_weights()
    if mask is not None:
        levels = levels[mask > 0]
    return levels, 65535.0


@dataclass(frozen=True)
class _Distribution:
    """Support points (N, d) or (N,) and their masses (N,), summing to 1."""

    points: np.ndarray
    weights: np.ndarray


def _as_group(images) -> list:
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError("a group of images must not be empty")
        return list(images)
    return [images]


def _gray_distribution(group: list) -> _Distribution:
    """The pooled histogram of 16-bit gray levels (:func:`gray_levels`), in 8-bit level units; each image
    weighs the same."""
    pooled = np.zeros(65536)
    for image in group:
        levels, _ = gray_levels(image)
        histogram = np.bincount(levels, minlength=65536).astype(np.float64)
        pooled += histogram / (histogram.sum() * len(group))
    used = np.flatnonzero(pooled)
    return _Distribution(used / 257.0, pooled[used])


def _color_distribution(group: list, *, method, color_space, n_clusters, n_samples, seed) -> _Distribution:
    """Pooled capped samples (each image gives the same share), as a palette or as is."""
    per_image = max(1, int(n_samples) // len(group))
    # One image: a sample without replacement (every pixel of a small image), as imgot.metrics.color_distance
    # takes; a group: the same number from each image, so that each image weighs the same.
    rgb = np.concatenate([sample_rgb(as_pixels(image), per_image, seed, replace=len(group) > 1 or method != "sliced")
                          for image in group])
    colors = get_color_space(color_space).from_rgb(rgb)
    if method == "sliced":
        return _Distribution(colors, np.full(colors.shape[0], 1.0 / colors.shape[0]))
    palette = fit_palette(colors, int(n_clusters), seed)
    return _Distribution(palette.colors, palette.weights)


def _compare(a: _Distribution, b: _Distribution, *, method, p, gray, reg, n_projections, seed,
             max_iter=10_000) -> float:
    if gray:
        return wasserstein_1d(a.points, b.points, a.weights, b.weights, p=p)
    if method == "sliced":
        return sliced_wasserstein(a.points, b.points, random_directions(a.points.shape[1], n_projections, seed), p=p)
    cost = _cost(a.points, b.points, p)
    if method == "sinkhorn":
        return sinkhorn_divergence(a.points, a.weights, b.points, b.weights, p=p, reg=reg, max_iter=max_iter,
                                   cost=cost)
    return float(np.sum(emd_plan(a.weights, b.weights, cost) * cost) ** (1.0 / p))


def _cost(x: np.ndarray, y: np.ndarray, p: int) -> np.ndarray:
    return np.sqrt(np.maximum(_squared_distances(x, y), 0.0)) ** p


def sinkhorn_divergence(
    x: np.ndarray, a: np.ndarray, y: np.ndarray, b: np.ndarray, *,
    p: int = 2, reg: float = 0.01, max_iter: int = 10_000, cost: np.ndarray | None = None,
) -> float:
    """Debiased Sinkhorn divergence between two weighted point sets, in distance units.

    ``(max(0, S(a, b) - (S(a, a) + S(b, b)) / 2))^(1/p)``, where ``S(u, v) =
    <P, C>`` is the transport cost of the entropic plan between `u` and `v`
    for the ground cost ``|x - y|^p``. The three plans share one absolute
    regularization, `reg` times the median positive cost between `x` and
    `y`, so the value is 0 when the two sets are the same; it tends to the
    p-Wasserstein distance as `reg` goes to 0. The terms are POT's
    ``ot.bregman.empirical_sinkhorn_divergence``.

    Parameters
    ----------
    x, y : ndarray of shape (n, d) and (m, d)
    a, b : ndarray of shape (n,) and (m,)
        Masses, each summing to 1.
    p : {1, 2}
    reg : float
        Relative entropic regularization.
    max_iter : int
        Iteration cap of each Sinkhorn solve; a solve that misses the
        tolerance gives a :class:`~imgot.exceptions.ConvergenceWarning`.
    cost : ndarray of shape (n, m), optional
        ``|x - y|^p`` when already computed.

    Returns
    -------
    float

    Examples
    --------
    >>> x = np.array([[0.0, 0.0], [10.0, 0.0]])
    >>> w = np.array([0.5, 0.5])
    >>> sinkhorn_divergence(x, w, x, w)
    0.0
    >>> round(sinkhorn_divergence(x, w, x + [3.0, 0.0], w), 6)
    3.0
    """
    cost_ab = _cost(x, y, p) if cost is None else cost
    epsilon = reg * (float(np.median(cost_ab[cost_ab > 0])) if np.any(cost_ab > 0) else 1.0)

    def loss(u, v, cost):
        return float(np.sum(sinkhorn_plan(u, v, cost, epsilon, max_iter=max_iter, tol=_SINKHORN_TOL) * cost))

    def self_loss(u, points):
        cost = _cost(points, points, p)
        plan = sinkhorn_symmetric_plan(u, cost, epsilon, max_iter=max_iter, tol=_SINKHORN_TOL)
        return float(np.sum(plan * cost))

    if x.shape == y.shape and np.array_equal(x, y) and np.array_equal(a, b):
        return 0.0  # S(a, b) is then a self-term too: the divergence is 0 by construction
    value = loss(a, b, cost_ab) - 0.5 * (self_loss(a, x) + self_loss(b, y))
    return float(max(value, 0.0) ** (1.0 / p))


def _squared_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(axis=-1)


def _check(method, p, gray, color_space, n_clusters, n_samples, reg, n_projections, random_state,
           max_iter=10_000) -> None:
    if method not in DISTANCE_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of: {', '.join(DISTANCE_METHODS)}")
    if gray and method == "sinkhorn":
        raise ValueError("gray levels are compared exactly; method='sinkhorn' applies to colors only")
    if p not in (1, 2) or isinstance(p, bool):
        raise ValueError(f"p must be 1 or 2, got {p!r}")
    get_color_space(color_space)
    for name, value in (("n_clusters", n_clusters), ("n_samples", n_samples),
                        ("n_projections", n_projections), ("max_iter", max_iter)):
        check_integer(name, value, 1)
    check_positive("reg", reg)
    check_seed(random_state, allow_none=False)


def _prepare(images, *, method, gray, color_space, n_clusters, n_samples, random_state) -> _Distribution:
    group = _as_group(images)
    if gray:
        return _gray_distribution(group)
    return _color_distribution(group, method=method, color_space=color_space, n_clusters=n_clusters,
                               n_samples=n_samples, seed=int(random_state))


def distance(
    a: ImageLike | Sequence[ImageLike],
    b: ImageLike | Sequence[ImageLike],
    *,
    method: str = "emd",
    p: int = 2,
    gray: bool = False,
    color_space: str = "lab",
    n_clusters: int = 64,
    n_samples: int = 10000,
    reg: float = 0.01,
    n_projections: int = 128,
    random_state: int = 0,
    max_iter: int = 10_000,
) -> float:
    """Wasserstein distance between the color (or gray-level) distributions of two images.

    Parameters
    ----------
    a, b : ndarray, PIL.Image.Image, or list of them
        Images :func:`imgot.transfer` accepts, of any sizes. A list or tuple is
        a group, compared through its pooled distribution (each image weighs
        the same). Fully transparent pixels are left out.
    method : {'emd', 'sinkhorn', 'sliced'}, default 'emd'
        Colors: exact transport between weighted k-means palettes, the
        debiased Sinkhorn divergence between the same palettes
        (:func:`sinkhorn_divergence`: 0 for identical inputs), or the sliced
        distance of the pixel samples. With ``gray=True``, 'emd' and 'sliced'
        both give the exact 1-D value; 'sinkhorn' is refused.
    p : {1, 2}, default 2
        Order of the distance; the ground cost is ``|x - y|^p``.
    gray : bool, default False
        Compare gray-level histograms (all pixels, exact) instead of colors.
        The value is then in 8-bit gray levels (a 16-bit level is 1/257).
    color_space : {'lab', 'rgb'}, default 'lab'
        Space of the colors, and the unit of the result (Lab: L* units; rgb:
        [0, 1]).
    n_clusters : int, default 64
        Palette size for 'emd' and 'sinkhorn'.
    n_samples : int, default 10000
        Pixels sampled per image (per group: shared equally by its images).
    reg : float, default 0.01
        Sinkhorn regularization, relative to the median of the cost matrix.
    n_projections : int, default 128
        Random directions for 'sliced'.
    random_state : int, default 0
        Seed of the sampling, k-means and projections; every image is sampled
        with the same seed, so ``distance(x, x) == 0``.
    max_iter : int, default 10000
        Iteration cap of each Sinkhorn solve.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For an unknown method or color space, a bad `p`, or bad counts.

    See Also
    --------
    pairwise_distances : every image against every other.
    imgot.metrics.color_distance : sliced W2 in CIELAB, the transfer metric.

    Examples
    --------
    >>> import numpy as np
    >>> dark = np.full((8, 8), 10, np.uint8)
    >>> bright = np.full((8, 8), 40, np.uint8)
    >>> distance(dark, bright, gray=True)
    30.0
    >>> distance([dark, bright], bright, gray=True, p=1)
    15.0
    """
    _check(method, p, gray, color_space, n_clusters, n_samples, reg, n_projections, random_state, max_iter)
    options = dict(method=method, gray=gray, color_space=color_space, n_clusters=n_clusters,
                   n_samples=n_samples, random_state=random_state)
    first, second = _prepare(a, **options), _prepare(b, **options)
    return _compare(first, second, method=method, p=p, gray=gray, reg=reg,
                    n_projections=n_projections, seed=int(random_state), max_iter=max_iter)


def pairwise_distances(
    images: Sequence,
    *,
    method: str = "emd",
    p: int = 2,
    gray: bool = False,
    color_space: str = "lab",
    n_clusters: int = 64,
    n_samples: int = 10000,
    reg: float = 0.01,
    n_projections: int = 128,
    random_state: int = 0,
    max_iter: int = 10_000,
) -> np.ndarray:
    """The matrix of :func:`distance` between every two images.

    Each image's distribution (palette, sample or histogram) is built once.

    Parameters
    ----------
    images : sequence of images (or of groups)
    method, p, gray, color_space, n_clusters, n_samples, reg, n_projections, random_state, max_iter
        As in :func:`distance`.

    Returns
    -------
    ndarray of shape (n, n)
        Symmetric, with zeros on the diagonal; entry (i, j) equals
        ``distance(images[i], images[j], ...)``.

    Examples
    --------
    >>> import numpy as np
    >>> levels = [np.full((4, 4), v, np.uint8) for v in (0, 10, 30)]
    >>> pairwise_distances(levels, gray=True)
    array([[ 0., 10., 30.],
           [10.,  0., 20.],
           [30., 20.,  0.]])
    """
    _check(method, p, gray, color_space, n_clusters, n_samples, reg, n_projections, random_state, max_iter)
    images = list(images)
    if not images:
        raise ValueError("images must not be empty")
    prepared = [
        _prepare(image, method=method, gray=gray, color_space=color_space, n_clusters=n_clusters,
                 n_samples=n_samples, random_state=random_state)
        for image in images
    ]
    matrix = np.zeros((len(images), len(images)))
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            matrix[i, j] = matrix[j, i] = _compare(
                prepared[i], prepared[j], method=method, p=p, gray=gray, reg=reg,
                n_projections=n_projections, seed=int(random_state), max_iter=max_iter,
            )
    return matrix
