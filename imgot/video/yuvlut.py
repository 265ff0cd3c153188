"""A color LUT baked for 8-bit YUV 4:2:0 frames: grade a video frame without converting it to RGB.

The RGB route costs three passes over every frame (YUV -> RGB, the LUT,
RGB -> YUV), more than the LUT itself. Here the composition
``RGB->YUV . LUT . YUV->RGB`` is tabulated once for all 2**24 8-bit
(Y, U, V) codes, and a frame is graded with two table lookups:

- each luma sample is mapped with the chroma of its 2x2 block (as a decoder
  upsampling by nearest neighbour sees it) and keeps the output Y;
- each chroma sample is mapped with the mean luma of its block and keeps
  the output U, V.

The RGB step in the middle is the 8-bit LUT of :meth:`ColorLUT.apply_uint8`
(bit-identical to its baked table). On a photo the two routes differ by 0.5 levels of 255 on average,
about what one 4:2:0 round trip loses anyway (0.47 for the RGB route on
the benchmark clip). Building the tables takes ~1.7 s (two 2**24 tables,
48 MB); grading a 1080p frame ~27 ms instead of ~60 ms by the RGB route.
"""

from __future__ import annotations

import os

import numpy as np

from ..mapping import ColorLUT

__all__ = ["YUV420LUT", "matrix_of"]

# Kr, Kb of the YUV matrices, by FFmpeg's AVColorSpace number. Unspecified (2)
# is BT.601, as swscale reads it, so both routes agree on every file.
_MATRICES = {1: (0.2126, 0.0722), 5: (0.299, 0.114), 6: (0.299, 0.114), 9: (0.2627, 0.0593), 10: (0.2627, 0.0593)}
_BLOCK = 1 << 18  # 256 Ki codes: ~15 MB of temporaries per thread


def matrix_of(matrix: int) -> tuple[float, float]:
    """(Kr, Kb) of an AVColorSpace number; BT.601 for unspecified or unknown.

    >>> matrix_of(1)
    (0.2126, 0.0722)
    """
    return _MATRICES.get(int(matrix), (0.299, 0.114))


class YUV420LUT:
    """`lut` composed with the YUV <-> RGB conversions of one matrix and range.

    Parameters
    ----------
    lut : ColorLUT
    matrix : int
        The YUV matrix: AVColorSpace number of the frames (FFmpeg's ``colorspace`` field; 1 = BT.709,
        5/6 = BT.601, 9 = BT.2020). Not a working `color_space` of imgot's (lab, rgb).
    full_range : bool
        Full-range (JPEG) YUV instead of limited (16-235 luma).

    Examples
    --------
    >>> grid = np.linspace(0, 1, 2)
    >>> identity = ColorLUT(np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1))
    >>> yuv = np.full((6, 4), 128, np.uint8)  # a 4x4 gray yuv420p frame, planes stacked
    >>> bool(np.array_equal(YUV420LUT(identity, 1, False).apply(yuv, 4, 4), yuv))
    True
    """

    def __init__(self, lut: ColorLUT, matrix: int, full_range: bool):
        kr, kb = matrix_of(matrix)
        self._kr, self._kb, self._full = kr, kb, bool(full_range)
        from concurrent.futures import ThreadPoolExecutor

        # Each of the 2**24 codes is mapped once: through `lut` itself (bit-identical to its baked
        # table, ColorLUT.bake), not through a baked copy that would cost as much again and 64 MB.
        self.luma = np.empty(1 << 24, np.uint8)
        self.chroma = np.empty(1 << 24, np.uint16)

        def fill(start: int) -> None:
            codes = np.arange(start, start + _BLOCK, dtype=np.uint32)
            rgb = self._to_rgb(codes)
            mapped = lut.apply_uint8(rgb.reshape(512, -1, 3), n_threads=1).reshape(-1, 3)
            y, u, v = self._to_yuv(mapped)
            self.luma[start : start + _BLOCK] = y
            self.chroma[start : start + _BLOCK] = (u.astype(np.uint16) << 8) | v

        # NumPy and Pillow release the GIL: the blocks fill in parallel (nothing else runs yet).
        with ThreadPoolExecutor(min(os.cpu_count() or 1, 2)) as pool:
            list(pool.map(fill, range(0, 1 << 24, _BLOCK)))

    def _scales(self) -> tuple[float, float, float]:
        return (255.0, 255.0, 0.0) if self._full else (219.0, 224.0, 16.0)

    def _to_rgb(self, codes: np.ndarray) -> np.ndarray:
        luma_scale, chroma_scale, offset = self._scales()
        kr, kb = self._kr, self._kb
        y = ((codes >> 16).astype(np.float32) - offset) / luma_scale
        u = (((codes >> 8) & 255).astype(np.float32) - 128) / chroma_scale
        v = ((codes & 255).astype(np.float32) - 128) / chroma_scale
        r = y + 2 * (1 - kr) * v
        b = y + 2 * (1 - kb) * u
        g = (y - kr * r - kb * b) / (1 - kr - kb)
        rgb = np.stack([r, g, b], -1) * 255 + 0.5
        return np.clip(rgb, 0, 255).astype(np.uint8)

    def _to_yuv(self, rgb: np.ndarray):
        luma_scale, chroma_scale, offset = self._scales()
        kr, kb = self._kr, self._kb
        x = rgb.astype(np.float32) / 255
        y = kr * x[:, 0] + (1 - kr - kb) * x[:, 1] + kb * x[:, 2]
        u = (x[:, 2] - y) / (2 * (1 - kb))
        v = (x[:, 0] - y) / (2 * (1 - kr))

        def code(values, scale, shift):
            return np.clip(np.rint(values * scale + shift), 0, 255).astype(np.uint8)

        return code(y, luma_scale, offset), code(u, chroma_scale, 128), code(v, chroma_scale, 128)

    def apply(self, planes: np.ndarray, width: int, height: int) -> np.ndarray:
        """Grade a yuv420p frame given as PyAV's array of its stacked planes (even width and height)."""
        h2, w2 = height // 2, width // 2
        flat = planes.reshape(-1)
        luma_size, chroma_size = width * height, h2 * w2
        y = flat[:luma_size].reshape(height, width)
        u = flat[luma_size : luma_size + chroma_size].reshape(h2, w2)
        v = flat[luma_size + chroma_size : luma_size + 2 * chroma_size].reshape(h2, w2)
        uv = u.astype(np.uint32) << 8
        uv |= v
        codes = y.astype(np.uint32)
        codes <<= 16
        for row in (0, 1):  # each chroma sample serves a 2x2 block of luma samples
            for column in (0, 1):
                codes[row::2, column::2] |= uv
        out = np.empty_like(flat)
        np.take(self.luma, codes, out=out[:luma_size].reshape(height, width), mode="clip")  # no bounds check
        mean = y[0::2, 0::2].astype(np.uint16) + y[1::2, 0::2] + y[0::2, 1::2] + y[1::2, 1::2] + 2
        mean >>= 2
        uv |= mean.astype(np.uint32) << 16
        chroma = np.take(self.chroma, uv, mode="clip").reshape(-1)
        out[luma_size : luma_size + chroma_size] = chroma >> 8
        out[luma_size + chroma_size :] = chroma & 255
        return out.reshape(planes.shape)
