"""Color intensity: scale the CIELAB chroma of an image, keeping its L* and hue, inside the sRGB gamut.

Photoshop's Match Color calls it "Color Intensity". Each pixel's a* and b*
are multiplied by the factor, so chroma C*_ab scales and the hue angle h_ab
and the lightness L* stay. A more saturated color that sRGB cannot hold at
that lightness and hue gets the largest chroma that fits (found by bisection
along the same L* and hue), as ``preserve_luminance`` keeps lightness and
gives up chroma: lightness and hue are never traded for it.
"""

from __future__ import annotations

import numpy as np

from .colorspace import lab_to_linear, linear_to_srgb, pixels_to_lab
from .pixels import quantize
from .relight import _encode, for_row_blocks

__all__ = ["scale_chroma"]

_STEPS = 10  # bisection steps: the chroma that fits, to 1/1024 of the asked change
_SLACK = np.float32(1e-6)  # linear-light slack on the gamut bounds (float32 round trip)


def _outside(linear: np.ndarray) -> np.ndarray:
    return (linear.min(axis=-1) < -_SLACK) | (linear.max(axis=-1) > np.float32(1.0) + _SLACK)


def _fit_gamut(lab: np.ndarray, factor: float) -> np.ndarray:
    """Linear sRGB of `lab` with a*, b* scaled by `factor`, chroma reduced where the gamut ends."""
    target = lab.copy()
    target[..., 1:] *= np.float32(factor)
    linear = lab_to_linear(target)
    over = np.flatnonzero(_outside(linear).reshape(-1))
    if over.size:
        flat_lab = lab.reshape(-1, 3)[over]
        # Chroma as a multiple of the original: `low` fits (the original, or gray), `high` does not.
        low = np.full(over.size, min(1.0, factor), np.float32) if factor >= 1.0 else np.zeros(over.size, np.float32)
        high = np.full(over.size, factor, np.float32)
        for _ in range(_STEPS):
            middle = (low + high) * np.float32(0.5)
            trial = flat_lab.copy()
            trial[:, 1:] *= middle[:, None]
            fits = ~_outside(lab_to_linear(trial))
            low = np.where(fits, middle, low)
            high = np.where(fits, high, middle)
        fitted = flat_lab.copy()
        fitted[:, 1:] *= low[:, None]
        linear.reshape(-1, 3)[over] = lab_to_linear(fitted)
    return linear


def scale_chroma(color: np.ndarray, scale: float, factor: float, *, n_threads: int | None = None) -> np.ndarray:
    """`color` with its CIELAB chroma multiplied by `factor`, L* and hue kept, inside the sRGB gamut.

    Parameters
    ----------
    color : ndarray of shape (H, W, 3) or (H, W)
        sRGB values in [0, scale], uint8, uint16 or float.
    scale : float
        Full intensity: 255, 65535 or 1.0.
    factor : float >= 0
        1 returns `color` itself (the identity, bytes equal); 0 gives the
        grays of the same L*; above 1 more colorful, each color up to the
        most chroma sRGB holds at its lightness and hue.

    Returns
    -------
    ndarray like `color`
        A gray image is returned unchanged (it has no chroma).

    Examples
    --------
    >>> from imgot.colorspace import srgb_to_lab
    >>> rgb = np.array([[[170, 120, 100]]], np.uint8)
    >>> lab, more = srgb_to_lab(rgb / 255.0), srgb_to_lab(scale_chroma(rgb, 255, 1.5) / 255.0)
    >>> bool(abs(np.hypot(*more[0, 0, 1:]) / np.hypot(*lab[0, 0, 1:]) - 1.5) < 0.03)
    True
    """
    if factor == 1.0 or color.ndim == 2:
        return color
    out = np.empty_like(color)

    def work(rows: slice) -> None:
        linear = _fit_gamut(pixels_to_lab(color[rows], scale), float(factor))
        if color.dtype == np.uint8:  # relight's table: one lookup per value instead of a power
            np.clip(linear, 0.0, 1.0, out=linear)
            out[rows] = _encode(linear, color.dtype)
        else:
            out[rows] = quantize(linear_to_srgb(linear), color.dtype)

    for_row_blocks(color.shape[0], color.shape[1], work, n_threads=n_threads)
    return out
