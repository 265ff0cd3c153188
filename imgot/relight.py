"""Set each pixel's luminance while keeping its color, inside the sRGB gamut.

The finishing steps after a color map change only lightness: keeping the
source's L* (``preserve_luminance``) or the source's fine detail
(``detail``). Both come down to one operation: scale a pixel in linear light to
a wanted relative luminance Y, which keeps its chromaticity. When that pushes
a channel past full intensity, the pixel is mixed with the gray of the same Y
until it fits: luminance is linear in linear-light RGB, so the mix keeps Y (and
so L*) exactly and moves only toward less chroma, along the same dominant hue.
Clipping each channel instead, as plain conversions do, darkens saturated
highlights and lifts dark saturated colors by several L* units.

Everything runs on blocks of rows, in threads (numpy releases the GIL), with
lookup tables for 8- and 16-bit images, so a 12 MP image never has a float
copy of all its channels.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np

from .colorspace import LUMINANCE_WEIGHTS, linear_channel, linear_to_srgb, relative_luminance

__all__ = ["relight", "keep_lightness", "for_row_blocks"]

_BLOCK_PIXELS = 1 << 18  # pixels per block: temporaries of a few MB, few GIL hand-offs
_DARK = np.float32(1e-6)  # below this luminance a pixel has no chromaticity to keep
# Linear-light codes of the 8-bit encoding table: fine enough that the
# darkest sRGB step (1/255 ~ 20 codes) rounds right.
_ENCODE_LEVELS = 1 << 16
_ENCODERS: dict[np.dtype, np.ndarray] = {}


def for_row_blocks(n_rows: int, row_width: int, work: Callable[[slice], None], *,
                   multiple: int = 1, n_threads: int | None = None) -> None:
    """Call ``work(rows)`` on consecutive blocks of rows, in a few threads.

    Blocks hold about 128 K pixels and a whole number of `multiple` rows.
    """
    step = max(1, _BLOCK_PIXELS // max(1, row_width))
    step = max(multiple, step // multiple * multiple)
    blocks = [slice(top, min(top + step, n_rows)) for top in range(0, n_rows, step)]
    n_threads = min(n_threads or min(os.cpu_count() or 1, 8), len(blocks))
    if n_threads <= 1:
        for rows in blocks:
            work(rows)
        return
    with ThreadPoolExecutor(n_threads) as pool:
        list(pool.map(work, blocks))


def encoding_table(dtype: np.dtype) -> np.ndarray:
    """Table from linear-light codes ``0 .. 65535`` to 8-bit sRGB, rounded to nearest."""
    if dtype not in _ENCODERS:
        levels = np.arange(_ENCODE_LEVELS, dtype=np.float64) / (_ENCODE_LEVELS - 1)
        _ENCODERS[dtype] = np.rint(linear_to_srgb(levels) * 255.0).astype(np.uint8)
    return _ENCODERS[dtype]


def _encode(linear: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Linear light in [0, 1] (float32) to sRGB of `dtype`: a table for 8-bit, the curve otherwise."""
    if dtype == np.uint8:
        codes = linear * np.float32(_ENCODE_LEVELS - 1)
        codes += np.float32(0.5)
        # Codes past the table (from values outside [0, 1]) clip to its ends.
        return np.take(encoding_table(dtype), codes.astype(np.int32), mode="clip")
    encoded = linear_to_srgb(linear)
    if dtype.kind == "f":
        return encoded.astype(dtype, copy=False)
    scale = np.float32(np.iinfo(dtype).max)
    return np.rint(encoded * scale).astype(dtype)


def relight(color: np.ndarray, scale: float, luminance: np.ndarray) -> np.ndarray:
    """`color` with relative luminance `luminance`, its chromaticity kept where the gamut allows.

    Parameters
    ----------
    color : ndarray of shape (H, W, 3) or (H, W)
        sRGB (or gray) values in [0, scale]: uint8, uint16 or float.
    scale : float
        Full intensity: 255, 65535 or 1.0.
    luminance : ndarray of shape (H, W), float32
        The wanted relative luminance Y of each pixel, in [0, 1].

    Returns
    -------
    ndarray of `color`'s shape and dtype
        Each pixel scaled in linear light to `luminance`; where a channel
        would pass 1, mixed with the gray of that luminance just enough to fit
        (same Y, less chroma). Black pixels become the gray of `luminance`.

    Examples
    --------
    >>> from imgot.colorspace import relative_luminance
    >>> red = np.array([[[200, 40, 40]]], dtype=np.uint8)
    >>> out = relight(red, 255, np.array([[0.9]], np.float32))  # brighter than any red can be
    >>> round(float(relative_luminance(out, 255)[0, 0]), 2), bool(out[0, 0, 0] == 255)
    (0.9, True)
    """
    target = np.clip(np.asarray(luminance, dtype=np.float32), 0.0, 1.0)
    dtype = color.dtype
    if color.ndim == 2:
        return _encode(target, dtype)
    linear = [linear_channel(color[..., c], scale) for c in range(3)]
    level = linear[0] * np.float32(LUMINANCE_WEIGHTS[0])
    for c in (1, 2):
        level += linear[c] * np.float32(LUMINANCE_WEIGHTS[c])
    dark = np.flatnonzero(level < _DARK)
    gain = np.maximum(level, _DARK, out=level)
    np.divide(target, gain, out=gain)
    for channel in linear:
        channel *= gain
        channel.reshape(-1)[dark] = target.reshape(-1)[dark]
    peak = np.maximum(np.maximum(linear[0], linear[1]), linear[2])
    over = np.flatnonzero(peak > np.float32(1.0))
    if over.size:
        # Mix toward the gray of the same luminance: Y stays, chroma shrinks to fit.
        level = target.reshape(-1)[over]
        keep = (np.float32(1.0) - level) / np.maximum(peak.reshape(-1)[over] - level, _DARK)
        for channel in linear:
            flat = channel.reshape(-1)
            flat[over] = level + keep * (flat[over] - level)
    out = np.empty(color.shape, dtype=dtype)
    for c in range(3):
        out[..., c] = _encode(linear[c], dtype)
    return out


def keep_lightness(source: np.ndarray, mapped: np.ndarray, scale: float, *,
                   n_threads: int | None = None) -> np.ndarray:
    """`mapped` with the luminance (so the CIELAB L*) of `source`, pixel by pixel.

    Parameters
    ----------
    source, mapped : ndarray of shape (H, W, 3) or (H, W), the same dtype
        The image before and after a color map.
    scale : float
        Full intensity of both.

    Returns
    -------
    ndarray like `mapped`
        Hue and chroma of `mapped` (chroma reduced where the source's L*
        cannot hold them in sRGB), L* of `source` to the rounding of the dtype.

    Examples
    --------
    >>> from imgot.metrics import lightness
    >>> rng = np.random.default_rng(0)
    >>> source = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    >>> kept = keep_lightness(source, 255 - source, 255)
    >>> bool(np.abs(lightness(kept) - lightness(source)).max() < 0.5)
    True
    """
    out = np.empty_like(mapped)

    def work(rows: slice) -> None:
        out[rows] = relight(mapped[rows], scale, relative_luminance(source[rows], scale))

    for_row_blocks(mapped.shape[0], mapped.shape[1], work, n_threads=n_threads)
    return out
