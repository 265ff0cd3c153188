"""Colour science: working spaces, and the per-pixel planes of luminance and lightness.

A registry of sRGB <-> working-space conversions (CIELAB, sRGB) serves small
arrays only (palette samples, LUT lattices); the per-pixel work goes through a
3-D LUT instead, so that no full image is converted to CIELAB. What is needed
per pixel (linear light, relative luminance Y and CIELAB L*, which depends on
Y alone) is computed here in float32, from lookup tables for integer images.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = [
    "COLOR_SPACES", "ColorSpace", "get_color_space", "srgb_to_lab", "lab_to_srgb", "lab_to_srgb_unclipped",
    "LUMINANCE_WEIGHTS", "srgb_to_linear", "linear_to_srgb", "linear_channel", "relative_luminance",
    "lightness_from_luminance", "luminance_from_lightness", "XYZ_FROM_RGB", "pixels_to_lab", "lab_to_linear",
]

# sRGB (D65) luminance weights and CIELAB constants, as in scikit-image's
# rgb2lab, so that the planes below agree with `srgb_to_lab`.
LUMINANCE_WEIGHTS = (0.212671, 0.715160, 0.072169)
LAB_EPSILON = 0.008856
LAB_SLOPE = 116.0 * 7.787  # L* = LAB_SLOPE * Y below LAB_EPSILON (about 903.3)
# Linear sRGB to CIE XYZ (D65), and the D65 white of CIELAB: scikit-image's ``xyz_from_rgb`` and
# ``xyz_tristimulus_values("D65", "2")``.
XYZ_FROM_RGB = np.array([[0.412453, 0.357580, 0.180423],
                         [0.212671, 0.715160, 0.072169],
                         [0.019334, 0.119193, 0.950227]])
_WHITE = np.array([0.95047, 1.0, 1.08883])


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """Convert sRGB values in [0, 1], shape (..., 3), to CIELAB (D65)."""
    from skimage.color import rgb2lab

    return rgb2lab(np.asarray(rgb, dtype=np.float64), channel_axis=-1)


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """Convert CIELAB (D65), shape (..., 3), to sRGB, clipped to [0, 1]."""
    from skimage.color import lab2rgb

    with warnings.catch_warnings():
        # Out-of-gamut colors are clipped on purpose, just below.
        warnings.filterwarnings("ignore", message=".*negative Z values", category=UserWarning)
        rgb = lab2rgb(np.asarray(lab, dtype=np.float64), channel_axis=-1)
    return np.clip(rgb, 0.0, 1.0)


def lab_to_srgb_unclipped(lab: np.ndarray) -> np.ndarray:
    """Convert CIELAB (D65), shape (..., 3), to sRGB without clipping: out-of-gamut values leave [0, 1].

    The same formulas and constants as scikit-image's ``lab2rgb`` (so that
    in-gamut colors agree with :func:`lab_to_srgb` to rounding), with the sRGB
    curve extended to negative values by symmetry and no clipping of Z or of
    the result. A map evaluated this way is smooth where its clipped version
    has a kink at the gamut boundary, so a LUT of it interpolates far more
    precisely; the caller clips after interpolating.

    Examples
    --------
    >>> lab = np.array([[50.0, 20.0, -30.0], [60.0, 120.0, 0.0]])
    >>> rgb = lab_to_srgb_unclipped(lab)
    >>> bool(np.allclose(rgb[0], lab_to_srgb(lab[:1])[0])), bool(rgb[1].max() > 1.0)
    (True, True)
    """
    from skimage.color.colorconv import rgb_from_xyz, xyz_tristimulus_values

    lab = np.asarray(lab)
    dtype = np.float32 if lab.dtype == np.float32 else np.float64  # float32 stays float32
    lab = lab.astype(dtype, copy=False)
    y = (lab[..., 0] + dtype(16.0)) / dtype(116.0)
    f = np.stack([lab[..., 1] / dtype(500.0) + y, y, y - lab[..., 2] / dtype(200.0)], axis=-1)
    xyz = np.where(f > dtype(0.2068966), f**3, (f - dtype(16.0 / 116.0)) / dtype(7.787))
    xyz *= xyz_tristimulus_values(illuminant="D65", observer="2").astype(dtype)
    linear = xyz @ rgb_from_xyz.T.astype(dtype)
    magnitude = np.abs(linear)
    curve = np.where(magnitude > dtype(0.0031308),
                     dtype(1.055) * np.power(magnitude, dtype(1.0 / 2.4)) - dtype(0.055),
                     dtype(12.92) * magnitude)
    return np.copysign(curve, linear)


def _identity(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


@dataclass(frozen=True)
class ColorSpace:
    """A working space: how to go there from sRGB in [0, 1] and back."""

    name: str
    from_rgb: Callable[[np.ndarray], np.ndarray]
    to_rgb: Callable[[np.ndarray], np.ndarray]
    description: str
    # to_rgb without clipping to [0, 1] (None: to_rgb never leaves it).
    to_rgb_unclipped: Callable[[np.ndarray], np.ndarray] | None = None


COLOR_SPACES: dict[str, ColorSpace] = {
    "lab": ColorSpace("lab", srgb_to_lab, lab_to_srgb, "CIELAB, D65 white point (perceptual; default)",
                      lab_to_srgb_unclipped),
    "rgb": ColorSpace("rgb", _identity, _identity, "gamma-encoded sRGB in [0, 1]"),
}


def get_color_space(name: str) -> ColorSpace:
    """Return the registered color space called `name`.

    Raises
    ------
    ValueError
        If `name` is not registered; the message lists the valid names.
    """
    try:
        return COLOR_SPACES[name]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(COLOR_SPACES))
        raise ValueError(f"unknown color_space {name!r}; choose one of: {valid}") from None


# -- per-pixel planes ------------------------------------------------------------------------


def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    """Undo the sRGB transfer curve of values in [0, 1], keeping their float dtype.

    Examples
    --------
    >>> srgb_to_linear(np.array([0.0, 0.5, 1.0])).round(4)
    array([0.   , 0.214, 1.   ])
    """
    return np.where(values > 0.04045, ((values + 0.055) / 1.055) ** 2.4, values / 12.92)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Apply the sRGB transfer curve to linear values, clipped to [0, 1], keeping float dtype.

    Examples
    --------
    >>> linear_to_srgb(srgb_to_linear(np.array([0.02, 0.5, 0.9]))).round(6)
    array([0.02, 0.5 , 0.9 ])
    """
    linear = np.clip(linear, 0.0, 1.0)
    dtype = linear.dtype.type
    return np.where(linear > 0.0031308, dtype(1.055) * linear ** dtype(1 / 2.4) - dtype(0.055),
                    dtype(12.92) * linear)


_TABLES: dict[int, np.ndarray] = {}


def linear_table(levels: int) -> np.ndarray:
    """Linear-light float32 value of each code ``0 .. levels - 1`` of an integer image (cached)."""
    if levels not in _TABLES:
        _TABLES[levels] = srgb_to_linear(np.arange(levels, dtype=np.float64) / (levels - 1)).astype(np.float32)
    return _TABLES[levels]


def linear_channel(channel: np.ndarray, scale: float) -> np.ndarray:
    """Linear-light float32 values of one channel of an image whose full intensity is `scale`.

    Integer channels go through a table of 256 or 65536 entries: one lookup
    per pixel, no float copy of the image.
    """
    if channel.dtype.kind == "u":
        # np.take is several times faster than fancy indexing with small integer codes.
        return np.take(linear_table(int(scale) + 1), channel)
    return srgb_to_linear(channel.astype(np.float32)).astype(np.float32, copy=False)


def relative_luminance(color: np.ndarray, scale: float) -> np.ndarray:
    """Relative luminance Y, float32 of shape (H, W), of (H, W, 3) sRGB or (H, W) gray values.

    Examples
    --------
    >>> relative_luminance(np.array([[[255, 255, 255], [255, 0, 0]]], np.uint8), 255).round(4)
    array([[1.    , 0.2127]], dtype=float32)
    """
    if color.ndim == 2:
        return linear_channel(color, scale)
    luminance = linear_channel(color[..., 0], scale)
    luminance *= np.float32(LUMINANCE_WEIGHTS[0])
    for c in (1, 2):
        channel = linear_channel(color[..., c], scale)
        channel *= np.float32(LUMINANCE_WEIGHTS[c])
        luminance += channel
    return luminance


def lightness_from_luminance(luminance: np.ndarray) -> np.ndarray:
    """CIELAB L* of relative luminances (float32), as a new array.

    Examples
    --------
    >>> lightness_from_luminance(np.array([0.0, 0.001, 0.18, 1.0], np.float32)).round(3)
    array([  0.   ,   0.903,  49.496, 100.   ], dtype=float32)
    """
    out = np.cbrt(luminance)
    out *= np.float32(116.0)
    out -= np.float32(16.0)
    dark = luminance <= np.float32(LAB_EPSILON)
    out[dark] = np.float32(LAB_SLOPE) * luminance[dark]
    return out


def luminance_from_lightness(lightness: np.ndarray) -> np.ndarray:
    """Relative luminance of CIELAB L* values (float32), the inverse of :func:`lightness_from_luminance`.

    Examples
    --------
    >>> y = np.array([0.0, 0.001, 0.18, 1.0], np.float32)
    >>> bool(np.allclose(luminance_from_lightness(lightness_from_luminance(y)), y, atol=1e-6))
    True
    """
    out = lightness + np.float32(16.0)
    out *= np.float32(1.0 / 116.0)
    out *= out * out
    dark = lightness <= np.float32(LAB_SLOPE * LAB_EPSILON)
    out[dark] = lightness[dark] * np.float32(1.0 / LAB_SLOPE)
    return out


def pixels_to_lab(color: np.ndarray, scale: float) -> np.ndarray:
    """CIELAB (D65) of (..., 3) sRGB pixel values in [0, scale], as float32: for blocks of an image.

    The formulas and constants of :func:`srgb_to_lab` (scikit-image's), in
    single precision with lookup tables for integer images, so that a block
    of a 12 MP image converts in a few milliseconds.

    Examples
    --------
    >>> rgb = np.array([[[200, 120, 90], [10, 200, 30]]], np.uint8)
    >>> bool(np.abs(pixels_to_lab(rgb, 255) - srgb_to_lab(rgb / 255.0)).max() < 1e-3)
    True
    """
    linear = [linear_channel(color[..., c], scale) for c in range(3)]
    f = []
    for row, white in zip(XYZ_FROM_RGB.astype(np.float32), _WHITE.astype(np.float32)):
        t = (linear[0] * (row[0] / white) + linear[1] * (row[1] / white)) + linear[2] * (row[2] / white)
        f.append(np.where(t > np.float32(LAB_EPSILON), np.cbrt(t),
                          np.float32(7.787) * t + np.float32(16.0 / 116.0)))
    lab = np.empty(color.shape[:-1] + (3,), np.float32)
    lab[..., 0] = np.float32(116.0) * f[1] - np.float32(16.0)
    lab[..., 1] = np.float32(500.0) * (f[0] - f[1])
    lab[..., 2] = np.float32(200.0) * (f[1] - f[2])
    return lab


def lab_to_linear(lab: np.ndarray) -> np.ndarray:
    """Linear-light sRGB of (..., 3) CIELAB (D65) values, float32, not clipped (out of gamut leaves [0, 1]).

    The inverse of :func:`pixels_to_lab` before the sRGB curve.

    Examples
    --------
    >>> rgb = np.array([[[200, 120, 90]]], np.uint8)
    >>> back = linear_to_srgb(lab_to_linear(pixels_to_lab(rgb, 255))) * 255
    >>> bool(np.abs(back - rgb).max() < 0.01)
    True
    """
    lab = np.asarray(lab, np.float32)
    fy = (lab[..., 0] + np.float32(16.0)) * np.float32(1.0 / 116.0)
    fs = (lab[..., 1] * np.float32(1.0 / 500.0) + fy, fy, fy - lab[..., 2] * np.float32(1.0 / 200.0))
    xyz = [np.where(f > np.float32(0.2068966), f * f * f, (f - np.float32(16.0 / 116.0)) * np.float32(1.0 / 7.787))
           * np.float32(white) for f, white in zip(fs, _WHITE)]
    inverse = np.linalg.inv(XYZ_FROM_RGB).astype(np.float32)
    out = np.empty(lab.shape, np.float32)
    for c in range(3):
        out[..., c] = (xyz[0] * inverse[c, 0] + xyz[1] * inverse[c, 1]) + xyz[2] * inverse[c, 2]
    return out
