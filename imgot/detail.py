"""Detail preservation: an edge-aware filter on the lightness change.

Maps that match whole distributions (histogram matching, sliced transport,
exact transport on few clusters) stretch some color ranges, and with them the
grain and the JPEG blocks of the source. Smoothing the change of lightness
``L*(output) - L*(source)`` with a guided filter whose guide is the source's
lightness keeps the source's own fine texture (its gradients come back
unchanged) while the change still follows the source's edges, so no halo
appears. It is the cheap cousin of Pitie's regrain.
"""

from __future__ import annotations

import numpy as np

__all__ = ["guided_filter", "preserve_detail"]

_BLOCK = 1 << 20  # pixels per block of the per-pixel rescaling


def guided_filter(guide: np.ndarray, image: np.ndarray, *, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter of `image` with a one-channel `guide`.

    Locally (in (2 radius + 1)^2 boxes) the output is ``a * guide + b``, with
    ``a = cov(guide, image) / (var(guide) + eps)``: across an edge of the guide
    (variance >> eps) it follows the image, in flat or grainy areas
    (variance << eps) it is the box mean. Box means via
    :func:`scipy.ndimage.uniform_filter`: O(pixels) whatever the radius.

    Parameters
    ----------
    guide : ndarray of shape (H, W)
    image : ndarray of shape (H, W) or (H, W, C)
    radius : int
    eps : float
        In squared guide units.

    Returns
    -------
    ndarray, float32, shape of `image`

    References
    ----------
    K. He, J. Sun, X. Tang, "Guided image filtering", IEEE TPAMI 35 (2013).

    Examples
    --------
    >>> guide = np.zeros((8, 8)); guide[:, 4:] = 1.0
    >>> out = guided_filter(guide, guide * 2.0, radius=2, eps=1e-4)
    >>> bool(np.abs(out - guide * 2.0).max() < 0.01)
    True
    """
    from scipy.ndimage import uniform_filter

    size = 2 * int(radius) + 1

    def box(plane: np.ndarray) -> np.ndarray:
        return uniform_filter(plane, size, mode="reflect")

    guide = np.asarray(guide, np.float32)
    mean_guide = box(guide)
    var_guide = box(guide * guide) - mean_guide * mean_guide
    planes = image[..., None] if image.ndim == 2 else image
    out = np.empty(planes.shape, np.float32)
    for c in range(planes.shape[-1]):
        plane = np.asarray(planes[..., c], np.float32)
        mean_plane = box(plane)
        a = (box(guide * plane) - mean_guide * mean_plane) / (var_guide + np.float32(eps))
        b = mean_plane - a * mean_guide
        out[..., c] = box(a) * guide + box(b)
    return out.reshape(image.shape)


def _luminance_from_lightness(lightness: np.ndarray) -> np.ndarray:
    from .metrics import _LAB_EPSILON, _LAB_SLOPE

    out = ((lightness + np.float32(16.0)) / np.float32(116.0)) ** 3
    dark = lightness <= np.float32(_LAB_SLOPE * _LAB_EPSILON)
    out[dark] = lightness[dark] / np.float32(_LAB_SLOPE)
    return out


def _linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear > 0.0031308, np.float32(1.055) * linear ** np.float32(1 / 2.4) - np.float32(0.055),
                    np.float32(12.92) * linear)


def preserve_detail(
    source: np.ndarray, output: np.ndarray, *, radius: int | None = None, eps: float = 0.1
) -> np.ndarray:
    """Give `output` the source's fine lightness detail, keeping its colors.

    The lightness change ``L*(output) - L*(source)`` is smoothed by a guided
    filter whose guide is the source's L*, and each output pixel is then
    scaled in linear light to the smoothed lightness, which keeps its
    chromaticity. Coarse tone changes and changes along the source's edges
    stay; the map's stretching of fine texture (grain, JPEG blocks, banding)
    is undone, so the output has the source's local structure. Only L* is
    filtered: chroma has no grain to speak of, and filtering it would pull
    colors back toward the source.

    Parameters
    ----------
    source, output : ndarray of shape (H, W, 3) or (H, W)
        sRGB (or gray) images: uint8, uint16, or float in [0, 1]. Integer
        images are read through lookup tables, without a float copy.
    radius : int, optional
        Box radius of the guided filter in pixels; default
        ``max(2, min(H, W) // 48)``, the same share of any image size.
    eps : float, default 0.1
        Guide variance, in (L*/100)^2, below which the lightness change is
        smoothed: local contrast under about 30 L* units keeps the source's
        own texture.

    Returns
    -------
    ndarray, float32 in [0, 1], the shape of `output`

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> source = np.clip(0.5 + 0.05 * rng.standard_normal((32, 32)), 0, 1)
    >>> output = np.clip(0.5 + 2.0 * (source - 0.5), 0, 1)  # contrast stretch doubles the grain
    >>> kept = preserve_detail(source, output)
    >>> bool(np.std(kept - source) < 0.3 * np.std(output - source))
    True
    """
    from .metrics import _lightness_from_luminance, _linear_channel, _luminance, lightness
    from .pixels import as_pixels

    if radius is None:
        radius = max(2, min(source.shape[:2]) // 48)
    mapped = as_pixels(output)
    luminance = _luminance(mapped)
    # Full planes only for what the filter needs, in L*/100 units; the
    # per-pixel rescaling below runs on blocks of rows.
    guide = lightness(source)
    guide *= np.float32(0.01)
    change = _lightness_from_luminance(luminance)
    change *= np.float32(0.01)
    change -= guide
    smooth = guided_filter(guide, change, radius=radius, eps=eps)
    del change
    smooth += guide
    del guide
    np.clip(smooth, 0.0, 1.0, out=smooth)
    smooth *= np.float32(100.0)
    wanted = _luminance_from_lightness(smooth)
    del smooth
    out = np.empty(output.shape, np.float32)
    step = max(1, _BLOCK // max(1, output.shape[1]))
    for top in range(0, output.shape[0], step):
        rows = slice(top, top + step)
        block, level, target = output[rows], luminance[rows], wanted[rows]
        dark = level < 1e-5  # no chromaticity to keep: a gray of the wanted luminance
        gain = np.where(dark, 0.0, target / np.maximum(level, np.float32(1e-5))).astype(np.float32)
        if block.ndim == 3:
            linear = np.stack([_linear_channel(block[..., c], mapped.scale) for c in range(3)], axis=-1)
            scaled = linear * gain[..., None]
            scaled[dark] = target[dark][:, None]
        else:
            scaled = np.where(dark, target, level * gain)
        out[rows] = _linear_to_srgb(scaled)
    return out
