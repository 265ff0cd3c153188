"""Working color spaces: a registry of sRGB <-> working-space conversions.

Only small arrays (palette samples, LUT lattices) are ever converted here; the
per-pixel work goes through a 3-D LUT instead, so that no full image is
converted to CIELAB.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["COLOR_SPACES", "ColorSpace", "get_color_space", "srgb_to_lab", "lab_to_srgb"]


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


def _identity(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


@dataclass(frozen=True)
class ColorSpace:
    """A working space: how to go there from sRGB in [0, 1] and back."""

    name: str
    from_rgb: Callable[[np.ndarray], np.ndarray]
    to_rgb: Callable[[np.ndarray], np.ndarray]
    description: str


COLOR_SPACES: dict[str, ColorSpace] = {
    "lab": ColorSpace("lab", srgb_to_lab, lab_to_srgb, "CIELAB, D65 white point (perceptual; default)"),
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
