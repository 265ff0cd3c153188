"""Neutralize: remove an image's color cast by a Bradford chromatic adaptation to D65.

The cast is estimated as the image's white: its mean color in linear light
(gray world: a scene averages to gray) or the mean of its brightest
unclipped pixels (white patch: the brightest surface is white). The Bradford
transform (Lam 1985, as in ICC v4 and CIECAM97s) adapts that white to D65
in a sharpened cone space: ``M^-1 diag(M w_D65 / M w) M``, with ``M`` the
Bradford matrix below, and the whole correction is one 3 x 3 matrix on
linear sRGB, so a gray of the cast comes out gray of the same luminance.

References
----------
Lam, K. M. (1985). Metamerism and colour constancy. PhD thesis, University of Bradford.

Lindbloom, B. Chromatic adaptation (brucelindbloom.com), for the matrix and its inverse.
"""

from __future__ import annotations

import numpy as np

from .colorspace import XYZ_FROM_RGB, linear_channel, linear_to_srgb, srgb_to_linear
from .mapping import ColorLUT
from .pixels import Pixels, quantize
from .relight import for_row_blocks

__all__ = ["BRADFORD", "NEUTRALIZE_METHODS", "bradford_matrix", "estimate_white", "neutralize_matrix",
           "apply_linear_matrix", "compose_linear", "neutralize"]

# The Bradford cone-response matrix (Lam 1985), XYZ to sharpened RGB.
BRADFORD = np.array([[0.8951, 0.2664, -0.1614],
                     [-0.7502, 1.7135, 0.0367],
                     [0.0389, -0.0685, 1.0296]])
NEUTRALIZE_METHODS = ("gray-world", "white-patch")
_SAMPLE_PIXELS = 1 << 20  # the white is estimated on a regular grid of about this many pixels
_WHITE_PATCH_SHARE = 0.01  # white patch: the brightest 1% of the unclipped pixels


def bradford_matrix(source_white: np.ndarray, target_white: np.ndarray) -> np.ndarray:
    """The 3 x 3 XYZ-to-XYZ Bradford adaptation from `source_white` to `target_white` (both XYZ).

    Examples
    --------
    >>> d50, d65 = np.array([0.96422, 1.0, 0.82521]), np.array([0.95047, 1.0, 1.08883])
    >>> bradford_matrix(d50, d65).round(4)  # Lindbloom's published D50 -> D65 matrix
    array([[ 0.9556, -0.023 ,  0.0632],
           [-0.0283,  1.0099,  0.021 ],
           [ 0.0123, -0.0205,  1.3299]])
    """
    cone_source = BRADFORD @ np.asarray(source_white, np.float64)
    cone_target = BRADFORD @ np.asarray(target_white, np.float64)
    return np.linalg.inv(BRADFORD) @ np.diag(cone_target / cone_source) @ BRADFORD


def _grid(pixels: Pixels, ignore: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """A regular sample of the pixels (H', W', 3) and its weights (selection, 0 where ignored)."""
    height, width = pixels.color.shape[:2]
    step = max(1, int(np.sqrt(height * width / _SAMPLE_PIXELS)))
    color = pixels.color[::step, ::step]
    weight = np.ones(color.shape[:2], np.float64)
    if pixels.selection is not None:
        weight = weight * pixels.selection[::step, ::step]
    if pixels.alpha is not None:
        weight = weight * (pixels.alpha[::step, ::step] > 0)
    if ignore is not None:
        weight = weight * ~ignore[::step, ::step]
    return color, weight


def estimate_white(pixels: Pixels, method: str = "gray-world", *, ignore: np.ndarray | None = None) -> np.ndarray:
    """The linear-light sRGB color of the image's white, (3,), by `method`.

    Parameters
    ----------
    pixels : Pixels
        An RGB image; its selection weights the estimate, ignored pixels
        (`ignore`) and transparent ones do not count.
    method : {'gray-world', 'white-patch'}
        ``'gray-world'``: the mean color; ``'white-patch'``: the mean color
        of the brightest 1% of the pixels that have no clipped channel.

    Examples
    --------
    >>> from imgot.pixels import as_pixels
    >>> warm = as_pixels(np.full((4, 4, 3), [200, 180, 150], np.uint8))
    >>> white = estimate_white(warm)
    >>> bool(white[0] > white[1] > white[2])
    True
    """
    if method not in NEUTRALIZE_METHODS:
        raise ValueError(f"unknown neutralize method {method!r}; choose one of: {', '.join(NEUTRALIZE_METHODS)}")
    color, weight = _grid(pixels, ignore)
    linear = np.stack([linear_channel(color[..., c], pixels.scale) for c in range(3)], axis=-1).reshape(-1, 3)
    weight = weight.reshape(-1)
    if method == "white-patch":
        unclipped = (color.reshape(-1, 3) < pixels.scale * 0.995).all(axis=1) & (weight > 0)
        if unclipped.any():
            luminance = linear @ XYZ_FROM_RGB[1]
            cut = np.quantile(luminance[unclipped], 1.0 - _WHITE_PATCH_SHARE)
            weight = weight * (unclipped & (luminance >= cut))
    if not weight.sum() > 0:
        raise ValueError("neutralize: no pixel is left to estimate the white from")
    return (linear * weight[:, None]).sum(axis=0) / weight.sum()


def neutralize_matrix(white: np.ndarray) -> np.ndarray:
    """The 3 x 3 matrix on linear sRGB that adapts `white` (linear sRGB) to D65 by Bradford.

    `white` goes to the gray of its own luminance, ``Y * (1, 1, 1)``.

    Examples
    --------
    >>> white = np.array([0.5, 0.4, 0.25])
    >>> gray = neutralize_matrix(white) @ white
    >>> bool(np.allclose(gray, gray.mean())), bool(np.isclose(gray[0], XYZ_FROM_RGB[1] @ white))
    (True, True)
    """
    white = np.asarray(white, np.float64)
    xyz = XYZ_FROM_RGB @ white
    if not (np.all(np.isfinite(xyz)) and xyz[1] > 0 and np.all(BRADFORD @ xyz > 0)):
        raise ValueError(f"neutralize: the estimated white {white.round(4).tolist()} has no usable color")
    d65 = XYZ_FROM_RGB.sum(axis=1)  # the white of these matrices: linear (1, 1, 1)
    return np.linalg.inv(XYZ_FROM_RGB) @ bradford_matrix(xyz / xyz[1], d65) @ XYZ_FROM_RGB


def apply_linear_matrix(color: np.ndarray, scale: float, matrix: np.ndarray, *,
                        n_threads: int | None = None) -> np.ndarray:
    """`color` (H, W, 3) with `matrix` applied in linear light, clipped to the gamut, in its dtype."""
    matrix = np.asarray(matrix, np.float32)
    out = np.empty_like(color)

    def work(rows: slice) -> None:
        linear = [linear_channel(color[rows][..., c], scale) for c in range(3)]
        mixed = np.empty(color[rows].shape, np.float32)
        for c in range(3):
            mixed[..., c] = (linear[0] * matrix[c, 0] + linear[1] * matrix[c, 1]) + linear[2] * matrix[c, 2]
        out[rows] = quantize(linear_to_srgb(mixed), color.dtype)

    for_row_blocks(color.shape[0], color.shape[1], work, n_threads=n_threads)
    return out


def neutralize(pixels: Pixels, method: str = "gray-world", *, ignore: np.ndarray | None = None) -> Pixels:
    """`pixels` with their color cast removed (same dtype, alpha and selection); gray images as they are.

    Examples
    --------
    >>> from imgot.pixels import as_pixels
    >>> from imgot.colorspace import srgb_to_lab
    >>> cast = as_pixels(np.full((4, 4, 3), [200, 180, 150], np.uint8))
    >>> lab = srgb_to_lab(neutralize(cast).color[0, 0] / 255.0)
    >>> bool(abs(lab[1]) < 1 and abs(lab[2]) < 1)
    True
    """
    if pixels.is_gray:
        return pixels
    matrix = neutralize_matrix(estimate_white(pixels, method, ignore=ignore))
    color = apply_linear_matrix(pixels.color, pixels.scale, matrix)
    if ignore is not None and ignore.any():
        color[ignore] = pixels.color[ignore]  # nodata stays nodata, bit for bit
    return pixels.with_color(color)


def compose_linear(lut: ColorLUT, matrix: np.ndarray) -> ColorLUT:
    """A LUT of the same size that applies `matrix` in linear light (clipped to the gamut), then `lut`.

    Examples
    --------
    >>> from imgot.mapping import _lattice
    >>> identity = ColorLUT(_lattice(3).reshape(3, 3, 3, 3))
    >>> bool(np.allclose(compose_linear(identity, np.eye(3)).table, identity.table, atol=1e-6))
    True
    """
    from .mapping import _lattice

    size = lut.size
    linear = srgb_to_linear(_lattice(size)) @ np.asarray(matrix, np.float64).T
    inputs = linear_to_srgb(linear).astype(np.float32)
    return ColorLUT(np.clip(lut.apply_float(inputs, 1.0), 0.0, 1.0).reshape(size, size, size, 3))
