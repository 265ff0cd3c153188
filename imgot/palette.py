"""Weighted color palettes: a capped random pixel sample clustered by k-means.

The sample size does not grow with the image, and only the sample is converted
to the working color space, so building a palette costs the same on a 0.3 MP
and on a 50 MP image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Palette", "sample_colors", "fit_palette"]


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


def sample_colors(
    pixels: np.ndarray,
    n_samples: int,
    rng: np.random.Generator,
    *,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Draw a uniform random sample of pixel colors, with replacement.

    Parameters
    ----------
    pixels : ndarray of shape (N, 3), float in [0, 1]
        The image's colors, one row per pixel.
    n_samples : int
        How many colors to draw.
    rng : numpy.random.Generator
        Source of randomness.
    mask : ndarray of bool, shape (N,), optional
        Pixels that may be drawn (e.g. those not fully transparent). When no
        pixel is allowed, every pixel is.

    Returns
    -------
    sample : ndarray of shape (n_samples, 3)
    """
    if mask is not None and mask.any():
        candidates = np.flatnonzero(mask)
        index = candidates[rng.integers(0, candidates.size, size=n_samples)]
    else:
        index = rng.integers(0, pixels.shape[0], size=n_samples)
    return pixels[index]


def fit_palette(samples: np.ndarray, n_clusters: int, random_state: int) -> Palette:
    """Cluster samples with k-means and weight each center by its cluster's size.

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
    from sklearn.cluster import KMeans

    distinct = np.unique(samples, axis=0)
    if distinct.shape[0] <= n_clusters:
        # Fewer colors than clusters: the palette is the exact histogram.
        labels = np.unique(samples, axis=0, return_inverse=True)[1].ravel()
        counts = np.bincount(labels, minlength=distinct.shape[0])
        return Palette(distinct.astype(np.float64), counts / counts.sum())
    from threadpoolctl import threadpool_limits

    kmeans = KMeans(n_clusters=n_clusters, n_init=1, random_state=random_state)
    # One OpenMP thread: on a palette-sized problem extra threads gain nothing,
    # and when another process holds a core, spinning threads make k-means ~5x slower.
    with threadpool_limits(limits=1, user_api="openmp"):
        labels = kmeans.fit_predict(samples)
    counts = np.bincount(labels, minlength=n_clusters).astype(np.float64)
    keep = counts > 0
    centers = kmeans.cluster_centers_[keep]
    return Palette(centers.astype(np.float64), counts[keep] / counts.sum())
