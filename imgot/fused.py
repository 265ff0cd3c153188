"""The detail step's per-pixel render in one compiled pass, for 8-bit color images (optional).

With the ``fast`` extra (numba) installed, :func:`imgot.detail.preserve_detail`
renders large 8-bit color images through :func:`render_u8`: each pixel's
coefficients interpolated between two coarse rows, its filtered L* and
wanted luminance, the color-guided smoothed color, the relighting and the
8-bit encoding, without the dozen full-size float32 temporaries of the NumPy
route. Every step is the NumPy route's own float32 operation in the same
order, through the same tables, so the bytes are the same (``tests/
test_fused.py`` checks them equal). Without numba, :func:`load` returns None
and the NumPy route runs; it runs too where the kernel would not pay for its
loading (see :data:`PAYS_OFF_PIXELS`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .colorspace import LUMINANCE_WEIGHTS
from .relight import _DARK  # the NumPy route's: the kernel must branch where it does

__all__ = ["expect_many", "kernel_for", "load", "warm", "MIN_PIXELS", "PAYS_OFF_PIXELS"]

# The kernel saves about 30-45 ms per megapixel on 2 cores (benchmarks/fused_render.py: the detail
# step at 12 MP 0.92 -> 0.58 s, at 24 MP 1.57 -> 0.93 s), but its first use in a process costs
# about 0.8 s (importing numba, 0.36 s, and reading the compiled kernel from numba's on-disk
# cache; about 2 s the very first time, to compile it). So a process that renders one image uses
# it only from PAYS_OFF_PIXELS up (a one-shot `imgot transfer` of a 12 MP photo measured 0.5 s
# slower with it); one that renders many (batch workers, the video grader: `expect_many`) or has
# loaded it already uses it from MIN_PIXELS up.
MIN_PIXELS = 1 << 20
PAYS_OFF_PIXELS = 32 << 20

_KERNEL: list = []
_WARM: list = []
_MANY: list = []


def load() -> Callable | None:
    """The compiled :func:`render_u8` (compiled, or read from numba's cache, on its first call), or None."""
    if not _KERNEL:
        try:
            import numba
        except ImportError:
            _KERNEL.append(None)
        else:
            try:
                kernel = numba.njit(nogil=True, cache=True, error_model="numpy")(render_u8)
            except RuntimeError:  # numba found no writable cache folder: compile in memory, every process
                kernel = numba.njit(nogil=True, error_model="numpy")(render_u8)
            _KERNEL.append(kernel)
    return _KERNEL[0]


def warm() -> bool:
    """Load the kernel and run it once on a tiny image (its compiled code in memory); False without numba."""
    kernel = load()
    if kernel is None:
        return False
    if not _WARM:
        zeros = np.zeros
        rows = np.zeros(1, np.intp)
        kernel(zeros((1, 1, 3), np.uint8), zeros((1, 1, 3), np.uint8), rows, rows, zeros(1, np.float32),
               zeros((1, 1), np.float32), zeros((1, 1), np.float32), zeros((1, 1, 3, 3), np.float32),
               zeros((1, 1, 3), np.float32), zeros(256, np.float32), zeros(2, np.float32),
               zeros(2, np.float32),
               zeros(65536, np.uint8), np.float32(1.0), np.float32(1.0))
        _WARM.append(True)
    return True


def expect_many() -> None:
    """Say that this process renders many images or frames: the kernel then pays for its loading from 1 MP."""
    if not _MANY:
        _MANY.append(True)


def kernel_for(pixels: int) -> Callable | None:
    """The kernel for an image of `pixels` pixels, or None for the NumPy route (:data:`PAYS_OFF_PIXELS`)."""
    if pixels < MIN_PIXELS or not (_WARM or _MANY or pixels >= PAYS_OFF_PIXELS):
        return None
    return load() if warm() else None


_W0, _W1, _W2 = (np.float32(weight) for weight in LUMINANCE_WEIGHTS)


def render_u8(source, out, low, high, frac, a_rows, b_rows, gains, offsets, linear, lightness, luminance,
              encoder, level_scale, lightness_scale):  # pragma: no cover - run compiled
    """Render rows of the detail step's output (the NumPy route of imgot.detail, fused).

    Parameters
    ----------
    source, out : uint8 arrays (rows, W, 3)
        The source's rows and the output's (written).
    low, high : int arrays (rows,); frac : float32 array (rows,)
        Per row, the coarse rows below and above and the weight of the upper.
    a_rows, b_rows : float32 (n_rows, W)
        The L* filter's column-upsampled coefficients.
    gains : float32 (n_rows, W, 3, 3); offsets : float32 (n_rows, W, 3)
        The color filter's (identity folded in): channel c is
        ``sum_k gains[..., k, c] * source_k + offsets[..., c]``.
    linear, lightness, luminance, encoder
        The tables: 8-bit code to linear light, luminance code to L*/100,
        filtered L*/100 code to wanted luminance, linear code to 8-bit.
    level_scale, lightness_scale : float32
        The last code of the `luminance` and `lightness` tables.
    """
    one, zero, half = np.float32(1.0), np.float32(0.0), np.float32(0.5)
    full, inverse = np.float32(255.0), np.float32(1.0 / 255.0)
    last_lightness, last_code = lightness.shape[0] - 1, encoder.shape[0] - 1
    encode_scale = np.float32(last_code)
    for r in range(source.shape[0]):
        f = frac[r]
        a_low, a_high, b_low, b_high = a_rows[low[r]], a_rows[high[r]], b_rows[low[r]], b_rows[high[r]]
        g_low, g_high, o_low, o_high = gains[low[r]], gains[high[r]], offsets[low[r]], offsets[high[r]]
        row, written = source[r], out[r]
        for x in range(source.shape[1]):
            s0, s1, s2 = row[x, 0], row[x, 1], row[x, 2]
            # The source's L*/100 through the luminance-code table (imgot.detail._lightness).
            y = linear[s0] * _W0 + linear[s1] * _W1 + linear[s2] * _W2
            level = lightness[min(max(int(y * lightness_scale + half), 0), last_lightness)]
            # The L* filter: (1 + a) * guide + b, clipped, to the wanted luminance.
            a = f * (a_high[x] - a_low[x]) + a_low[x]
            b = f * (b_high[x] - b_low[x]) + b_low[x]
            filtered = min(max((a + one) * level + b, zero), one)
            target = min(max(luminance[int(filtered * level_scale + half)], zero), one)
            # The color filter, rounded to 8 bits, in linear light.
            i0, i1, i2 = np.float32(s0) * inverse, np.float32(s1) * inverse, np.float32(s2) * inverse
            c0 = c1 = c2 = zero
            for c in range(3):
                p = f * (o_high[x, c] - o_low[x, c]) + o_low[x, c]
                p += (f * (g_high[x, 0, c] - g_low[x, 0, c]) + g_low[x, 0, c]) * i0
                p += (f * (g_high[x, 1, c] - g_low[x, 1, c]) + g_low[x, 1, c]) * i1
                p += (f * (g_high[x, 2, c] - g_low[x, 2, c]) + g_low[x, 2, c]) * i2
                value = linear[int(min(max(p, zero), one) * full + half)]
                if c == 0:
                    c0 = value
                elif c == 1:
                    c1 = value
                else:
                    c2 = value
            # imgot.relight.relight: scale to the wanted luminance, mix toward its gray past the gamut.
            current = c0 * _W0 + c1 * _W1 + c2 * _W2
            if current < _DARK:
                c0 = c1 = c2 = target
            else:
                gain = target / current
                c0, c1, c2 = c0 * gain, c1 * gain, c2 * gain
            peak = max(c0, max(c1, c2))
            if peak > one:
                keep = (one - target) / max(peak - target, _DARK)
                c0 = target + keep * (c0 - target)
                c1 = target + keep * (c1 - target)
                c2 = target + keep * (c2 - target)
            written[x, 0] = encoder[min(max(int(c0 * encode_scale + half), 0), last_code)]
            written[x, 1] = encoder[min(max(int(c1 * encode_scale + half), 0), last_code)]
            written[x, 2] = encoder[min(max(int(c2 * encode_scale + half), 0), last_code)]
