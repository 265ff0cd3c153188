"""Weighted color palettes: a capped random pixel sample clustered by k-means.

The sample size does not grow with the image, and only the sample is converted
to the working color space, so building a palette costs the same on a 0.3 MP
and on a 50 MP image. k-means runs on the sample binned on a fine grid (the
bins' means weighted by their counts), a few thousand points instead of ten
thousand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Palette", "sample_colors", "sample_rgb", "fit_palette"]


@dataclass(frozen=True)
class Palette:
    """Cluster centers and their masses.

    Attributes
    ----------
    colors : ndarray of shape (K, 3)
        Cluster centers in the working color space.
    weights : ndarray of shape (K,)
        Share of the sampled pixels in each cluster; sums to 1. These are the
        masses that optimal transport moves.
    """

    colors: np.ndarray
    weights: np.ndarray

    @classmethod
    def from_arrays(cls, colors, weights, *, what: str = "palette") -> "Palette":
        """A palette from plain arrays, checked: (K, 3) finite colors, K finite weights >= 0 with a positive sum.

        The values are kept as given (as float64; the weights are not rescaled).

        Raises
        ------
        ValueError
            Naming `what` and the shapes or values it got.

        Examples
        --------
        >>> Palette.from_arrays([[50, 0, 0]], [2]).weights
        array([2.])
        >>> Palette.from_arrays([[50, 0, 0]], [0])
        Traceback (most recent call last):
        ...
        ValueError: palette weights must be >= 0 with a positive sum
        """
        colors, weights = np.asarray(colors), np.asarray(weights)
        if colors.ndim != 2 or colors.shape[1:] != (3,) or weights.shape != colors.shape[:1] or not len(weights):
            raise ValueError(f"bad {what} shapes {colors.shape} and {weights.shape}")
        if colors.dtype.kind not in "fiu" or weights.dtype.kind not in "fiu":
            raise ValueError(f"{what} colors and weights must be numbers")
        colors, weights = colors.astype(np.float64, copy=False), weights.astype(np.float64, copy=False)
        if not (np.isfinite(colors).all() and np.isfinite(weights).all()):
            raise ValueError(f"{what} holds NaN or infinite values")
        if (weights < 0).any() or not weights.sum() > 0:
            raise ValueError(f"{what} weights must be >= 0 with a positive sum")
        return cls(colors, weights)

    def as_arrays(self, prefix: str) -> dict:
        """``{prefix_colors, prefix_weights}``: the palette as named arrays, for a saved model.

        >>> sorted(Palette.from_arrays([[50, 0, 0]], [1]).as_arrays("reference"))
        ['reference_colors', 'reference_weights']
        """
        return {f"{prefix}_colors": self.colors, f"{prefix}_weights": self.weights}


def sample_colors(
    pixels: np.ndarray,
    n_samples: int,
    rng: np.random.Generator,
    *,
    mask: np.ndarray | None = None,
    replace: bool = True,
) -> np.ndarray:
    """Draw a random sample of pixel colors, uniform or weighted.

    Parameters
    ----------
    pixels : ndarray of shape (N, 3) or (N,)
        The image's colors, one row per pixel.
    n_samples : int
        How many colors to draw.
    rng : numpy.random.Generator
        Source of randomness.
    mask : ndarray of shape (N,), optional
        Which pixels may be drawn: bool (e.g. those not fully transparent), or
        float weights >= 0, each pixel drawn with probability proportional to
        its weight (a soft selection). Pixels of weight 0 are never drawn; an
        all-zero `mask` lets every pixel be drawn.
    replace : bool, default True
        Draw with replacement (the palettes' samples). Without, every
        candidate pixel is taken when there are at most `n_samples` of them
        (the metrics' samples, exact on small images).

    Returns
    -------
    sample : ndarray of shape (S, 3) or (S,)
        S = `n_samples`, or fewer without replacement.
    """
    candidates = None
    weights = None
    if mask is not None:
        candidates = np.flatnonzero(mask)
        if not candidates.size:
            candidates = None
        elif mask.dtype != bool:
            weights = mask[candidates]
            if weights.min() == weights.max():  # a 0/1 selection: uniform over the candidates
                weights = None
    count = pixels.shape[0] if candidates is None else candidates.size
    if weights is not None:
        index = _weighted_draw(weights, n_samples, rng, replace)
    elif replace:
        index = rng.integers(0, count, size=n_samples)
    elif count <= n_samples:
        index = np.arange(count)
    else:
        index = rng.choice(count, size=n_samples, replace=False)
    return pixels[index if candidates is None else candidates[index]]


def _weighted_draw(weights: np.ndarray, n_samples: int, rng: np.random.Generator, replace: bool) -> np.ndarray:
    """Indices drawn with probability proportional to `weights` (all > 0)."""
    if replace:
        cumulative = np.cumsum(weights, dtype=np.float64)
        return np.minimum(np.searchsorted(cumulative, rng.random(n_samples) * cumulative[-1], side="right"),
                          weights.size - 1)
    if weights.size <= n_samples:
        return np.arange(weights.size)
    # Efraimidis-Spirakis: the n largest u^(1/w) are a weighted sample without replacement.
    keys = np.log(rng.random(weights.size)) / weights.astype(np.float64)
    return np.sort(np.argpartition(keys, -n_samples)[-n_samples:])


def sample_rgb(pixels, n_samples: int, seed: int, *, replace: bool = True) -> np.ndarray:
    """A seeded sample of an image's colors as float64 RGB in [0, 1], shape (S, 3).

    The one way imgot samples an image (palettes, moments, sliced transport,
    pooled fits, distances and metrics): pixels are drawn by their
    :meth:`~imgot.pixels.Pixels.sample_weights` (transparent pixels and
    pixels outside a selection are not drawn), a gray image as R = G = B.

    Parameters
    ----------
    pixels : Pixels
    n_samples : int
    seed : int
    replace : bool, default True
        See :func:`sample_colors`.
    """
    rng = np.random.default_rng(seed)
    sample = sample_colors(pixels.rgb_rows(), n_samples, rng, mask=pixels.sample_weights(), replace=replace)
    sample = sample.astype(np.float64) / pixels.scale
    if pixels.is_gray:
        sample = np.repeat(sample[:, None], 3, axis=1)
    return sample


# Bins per axis of the sample's span for the k-means coreset (see fit_palette).
CORESET_BINS = 64


def _coreset(samples: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """The samples binned on a grid of `bins` steps of their widest span: each bin's mean and count.

    k-means on the bin means weighted by their counts has the same objective
    as on the samples, up to the spread inside each bin (a fraction of a step),
    on a few thousand points instead of tens of thousands.
    """
    low = samples.min(axis=0)
    step = float((samples.max(axis=0) - low).max()) / bins
    codes = np.floor((samples - low) / (step if step > 0 else 1.0)).astype(np.int64)
    span = codes.max(axis=0) + 1
    keys = (codes[:, 0] * span[1] + codes[:, 1]) * span[2] + codes[:, 2]
    _, inverse = np.unique(keys, return_inverse=True)
    inverse = inverse.ravel()
    counts = np.bincount(inverse).astype(np.float64)
    means = np.stack([np.bincount(inverse, samples[:, axis]) for axis in range(samples.shape[1])], axis=1)
    return means / counts[:, None], counts


_THREADPOOLS: list = []


def _one_openmp_thread():
    """A context with one OpenMP thread (the library scan of threadpoolctl done once per process)."""
    if not _THREADPOOLS:
        from threadpoolctl import ThreadpoolController

        _THREADPOOLS.append(ThreadpoolController())
    return _THREADPOOLS[0].limit(limits=1, user_api="openmp")


def fit_palette(samples: np.ndarray, n_clusters: int, random_state: int) -> Palette:
    """Cluster samples with k-means and weight each center by its cluster's size.

    The samples are first binned (:data:`CORESET_BINS` steps along their
    widest span) and k-means runs on the bin means, weighted by their counts:
    the same clusters to a fraction of a bin, several times faster.

    Parameters
    ----------
    samples : ndarray of shape (S, 3)
        Colors in the working space.
    n_clusters : int
        Palette size. Fewer centers are returned when the samples hold fewer
        distinct colors (a flat image has a one-color palette).
    random_state : int
        Seed of the k-means initialisation.

    Returns
    -------
    Palette
    """
    points, weights = _coreset(np.asarray(samples, np.float64), CORESET_BINS)
    if points.shape[0] <= n_clusters:
        # As many distinct colors as bins at least: only then can there be fewer colors than clusters.
        distinct, labels = np.unique(samples, axis=0, return_inverse=True)
        if distinct.shape[0] <= n_clusters:  # the palette is the exact histogram
            counts = np.bincount(labels.ravel(), minlength=distinct.shape[0])
            return Palette(distinct.astype(np.float64), counts / counts.sum())
        return Palette(points, weights / weights.sum())  # as many bins as clusters: each bin its own color
    from sklearn.cluster import KMeans

    kmeans = KMeans(n_clusters=n_clusters, n_init=1, random_state=random_state)
    # One OpenMP thread: on a palette-sized problem extra threads gain nothing,
    # and when another process holds a core, spinning threads make k-means ~5x slower.
    with _one_openmp_thread():
        centers = kmeans.fit(points, sample_weight=weights).cluster_centers_
    # The weights are the shares of the samples themselves nearest each center.
    samples = np.asarray(samples, np.float64)
    distances = (centers * centers).sum(axis=1) - 2.0 * (samples @ centers.T)
    counts = np.bincount(np.argmin(distances, axis=1), minlength=n_clusters).astype(np.float64)
    keep = counts > 0
    return Palette(centers[keep].astype(np.float64), counts[keep] / counts.sum())
