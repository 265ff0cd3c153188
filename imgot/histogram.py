"""Exact per-channel histogram matching: one-dimensional optimal transport.

In one dimension the optimal transport map between two distributions is the
monotone rearrangement ``F_ref^-1 o F_src``: each value goes to the reference
value at the same quantile. Applied to each channel separately, this is
scikit-image's :func:`skimage.exposure.match_histograms`, and it needs no
sampling: 8- and 16-bit channels are matched through their full 256- or
65536-level histograms, float channels through their sorted distinct values.

Matching in CIELAB converts each *distinct* color once (8- and 16-bit images
usually hold far fewer distinct colors than pixels).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .colorspace import get_color_space, lab_to_srgb, srgb_to_lab
from .pixels import Pixels, as_pixels, quantize, to_output

__all__ = ["ChannelCDF", "HistogramReference", "fit_histograms", "match_pixels", "match_histograms"]

_HISTOGRAM_SPACES = ("rgb", "lab")


@dataclass(frozen=True)
class ChannelCDF:
    """The distribution of one channel: sorted distinct values and their CDF.

    Attributes
    ----------
    values : ndarray of shape (K,)
        Distinct values, increasing (sRGB in [0, 1] or CIELAB units).
    quantiles : ndarray of shape (K,)
        Share of the pixels at or below each value; the last one is 1.
    """

    values: np.ndarray
    quantiles: np.ndarray


@dataclass(frozen=True)
class HistogramReference:
    """What histogram matching keeps of a reference: one CDF per channel."""

    color_space: str
    channels: tuple[ChannelCDF, ChannelCDF, ChannelCDF]


def _distinct_colors(pixels: Pixels, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct opaque RGB colors in [0, 1], their pixel counts, and every pixel's index.

    Integer images are packed into one int64 per pixel and made unique; float
    images count every pixel as its own color.
    """
    rows = pixels.color.reshape(-1, 3)
    if rows.dtype.kind == "u":
        shift = 8 * rows.dtype.itemsize
        packed = (rows[:, 0].astype(np.int64) << (2 * shift)) | (rows[:, 1].astype(np.int64) << shift) | rows[:, 2]
        colors, inverse = np.unique(packed, return_inverse=True)
        inverse = inverse.ravel()
        full = (1 << shift) - 1
        rgb = np.stack([colors >> (2 * shift), (colors >> shift) & full, colors & full], axis=1) / pixels.scale
    else:
        rgb, inverse = rows.astype(np.float64), np.arange(rows.shape[0])
    counts = np.bincount(inverse, weights=None if mask is None else mask.astype(np.float64), minlength=rgb.shape[0])
    return rgb, counts, inverse


def _cdf(values: np.ndarray, counts: np.ndarray) -> tuple[ChannelCDF, np.ndarray]:
    """CDF of weighted values, and each value's index into the distinct ones."""
    distinct, inverse = np.unique(values, return_inverse=True)
    inverse = inverse.ravel()
    mass = np.bincount(inverse, weights=counts, minlength=distinct.size)
    # Every distinct value stays, even one held only by transparent pixels
    # (mass 0): `inverse` indexes all of them. A reference drops them later
    # (_drop_empty), where a strictly increasing CDF is needed.
    cumulative = np.cumsum(mass)
    return ChannelCDF(distinct, cumulative / cumulative[-1]), inverse


def _level_cdf(channel: np.ndarray, mask: np.ndarray | None, scale: float) -> ChannelCDF:
    """CDF of an integer channel from its full histogram (every level, even empty ones)."""
    levels = int(scale) + 1
    counts = np.bincount(channel.reshape(-1), weights=None if mask is None else mask.astype(np.float64),
                         minlength=levels)
    cumulative = np.cumsum(counts)
    total = cumulative[-1] if cumulative[-1] > 0 else 1
    return ChannelCDF(np.arange(levels) / scale, cumulative / total)


def _drop_empty(cdf: ChannelCDF) -> ChannelCDF:
    """Keep the levels that occur: a reference's CDF must be strictly increasing."""
    keep = np.diff(cdf.quantiles, prepend=0.0) > 0
    return ChannelCDF(cdf.values[keep], cdf.quantiles[keep])


def _channel_cdfs(pixels: Pixels, color_space: str) -> tuple[list[ChannelCDF], tuple | None]:
    """Per-channel CDFs in the working space, and how to map back to pixels.

    Returns the CDFs and a ``lookup``: for RGB on integers, None (levels index
    the curves directly); otherwise ``(rgb, working, inverse)`` of the
    distinct colors.
    """
    mask = pixels.sample_weights()
    if color_space == "rgb" and pixels.color.dtype.kind == "u":
        rows = pixels.color.reshape(-1, 3)
        return [_level_cdf(rows[:, c], mask, pixels.scale) for c in range(3)], None
    rgb, counts, inverse = _distinct_colors(pixels, mask)
    working = get_color_space(color_space).from_rgb(rgb)
    cdfs, indices = zip(*(_cdf(working[:, c], counts) for c in range(3)))
    return list(cdfs), (rgb, working, inverse, indices)


def _as_rgb_pixels(pixels: Pixels) -> Pixels:
    """A gray image as the color image (v, v, v)."""
    if not pixels.is_gray:
        return pixels
    color = np.repeat(pixels.color[..., None], 3, axis=-1)
    return replace(pixels.with_color(color), shape=color.shape, pil_mode=None)


def fit_histograms(reference, color_space: str = "rgb") -> HistogramReference:
    """The per-channel CDFs of a reference image, in sRGB or CIELAB.

    Parameters
    ----------
    reference : ndarray, PIL.Image.Image or Pixels
        Any image :func:`imgot.transfer` accepts; fully transparent pixels do
        not count. A gray reference counts as R = G = B.
    color_space : {'rgb', 'lab'}, default 'rgb'

    Returns
    -------
    HistogramReference

    Examples
    --------
    >>> ref = fit_histograms(np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8))
    >>> ref.channels[0].quantiles[[0, -1]].tolist()
    [0.5, 1.0]
    """
    if color_space not in _HISTOGRAM_SPACES:
        raise ValueError(f"unknown color_space {color_space!r}; choose one of: {', '.join(_HISTOGRAM_SPACES)}")
    pixels = reference if isinstance(reference, Pixels) else as_pixels(reference)
    cdfs, _ = _channel_cdfs(_as_rgb_pixels(pixels), color_space)
    red, green, blue = (_drop_empty(cdf) for cdf in cdfs)
    return HistogramReference(color_space, (red, green, blue))


def _gray_of(rgb: np.ndarray) -> np.ndarray:
    """The gray level with the same CIELAB L* as each sRGB color."""
    lab = srgb_to_lab(rgb)
    lab[..., 1:] = 0.0
    return lab_to_srgb(lab)[..., 0]


def match_pixels(pixels: Pixels, reference: HistogramReference) -> np.ndarray:
    """Match every channel of `pixels` to the reference's CDFs.

    Returns float64 sRGB in [0, 1], shape (H, W, 3), or (H, W) for a gray
    image, which gets the gray of the same L* as its matched color (in CIELAB,
    only L* is matched for a gray image).
    """
    color_space = reference.color_space
    rgb_pixels = _as_rgb_pixels(pixels)
    cdfs, lookup = _channel_cdfs(rgb_pixels, color_space)
    shape = rgb_pixels.color.shape
    if lookup is None:  # integer RGB: a curve over all levels per channel
        rows = rgb_pixels.color.reshape(-1, 3)
        out: np.ndarray = np.empty(rows.shape)
        for c in range(3):
            curve = np.interp(cdfs[c].quantiles, reference.channels[c].quantiles, reference.channels[c].values)
            out[:, c] = curve[rows[:, c]]
    else:
        rgb, working, inverse, indices = lookup
        matched = np.empty_like(working)
        for c in range(3):
            ref = reference.channels[c]
            matched[:, c] = np.interp(cdfs[c].quantiles, ref.quantiles, ref.values)[indices[c]]
        if pixels.is_gray and color_space == "lab":
            matched[:, 1:] = 0.0
        out = get_color_space(color_space).to_rgb(matched)[inverse]
    out = np.clip(out, 0.0, 1.0).reshape(shape)
    return _gray_of(out) if pixels.is_gray else out


def match_histograms(image, reference, *, color_space: str = "rgb"):
    """Match each channel's histogram of `image` to `reference`'s: 1-D OT per channel.

    For uint8 and float RGB images in ``color_space='rgb'`` the result is
    :func:`skimage.exposure.match_histograms` with ``channel_axis=-1``, except
    that 8- and 16-bit results are rounded to the nearest level (scikit-image
    truncates). 16-bit images use all 65536 levels and stay 16-bit.

    Parameters
    ----------
    image, reference : ndarray or PIL.Image.Image
        Any images :func:`imgot.transfer` accepts, of any sizes. Alpha is
        copied; fully transparent pixels count in neither histogram.
    color_space : {'rgb', 'lab'}, default 'rgb'
        Match the sRGB channels, or CIELAB's L*, a* and b*.

    Returns
    -------
    ndarray or PIL.Image.Image
        The same kind, shape and dtype as `image`.

    Examples
    --------
    >>> image = np.array([[[0, 0, 0], [10, 10, 10]]], np.uint8)
    >>> reference = np.array([[[100, 50, 0], [200, 150, 255]]], np.uint8)
    >>> match_histograms(image, reference)[0].tolist()
    [[100, 50, 0], [200, 150, 255]]
    """
    pixels = as_pixels(image)
    matched = match_pixels(pixels, fit_histograms(reference, color_space))
    return to_output(pixels, quantize(matched, pixels.dtype))
