"""HaldCLUT images: a 3-D LUT stored as a square PNG, and LUTs resampled to another lattice size.

A HaldCLUT of level L is an image of L^3 x L^3 pixels holding a lattice of
L^2 points per axis: pixel number ``i`` (row by row) is the output of the
input color ``(i % L^2, i // L^2 % L^2, i // L^4) / (L^2 - 1)``, red varying
fastest, as in a ``.cube`` file. Level 8 is 512 x 512 (64 points per axis),
12 is 1728 x 1728 (144), 16 is 4096 x 4096 (256). ffmpeg's ``haldclut``
filter, G'MIC, RawTherapee and darktable read them. imgot writes 16-bit RGB
PNGs (8-bit outputs then carry no extra rounding) and reads 8- and 16-bit
ones.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .exceptions import LUTFormatError
from .mapping import ColorLUT

__all__ = ["HALD_LEVELS", "DEFAULT_HALD_LEVEL", "hald_image", "lut_from_hald", "read_hald", "write_hald",
           "resample_lut", "read_lut", "write_lut"]

HALD_LEVELS = range(2, 17)  # level 16: 256 points per axis, the largest a .cube holds too
DEFAULT_HALD_LEVEL = 8


def _check_level(level) -> int:
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or level not in HALD_LEVELS:
        raise ValueError(f"hald level must be an integer in {HALD_LEVELS.start}..{HALD_LEVELS.stop - 1}, "
                         f"got {level!r}")
    return int(level)


def resample_lut(lut: ColorLUT, size: int) -> ColorLUT:
    """`lut` evaluated on a lattice of `size` points per axis, by its own trilinear interpolation.

    The new lattice holds exactly what imgot applies at its points (the
    unclipped map where `lut` keeps one, clipped after), so a file of any
    size reproduces the map up to that size's own interpolation error.

    Examples
    --------
    >>> from imgot.mapping import _lattice
    >>> identity = ColorLUT(_lattice(5).reshape(5, 5, 5, 3))
    >>> bool(np.allclose(resample_lut(identity, 9).table.reshape(-1, 3), _lattice(9), atol=1e-6))
    True
    """
    from .mapping import _lattice

    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 2 <= size <= 256:
        raise ValueError(f"LUT size must be an integer in 2..256, got {size!r}")
    if size == lut.size:
        return lut
    points = _lattice(int(size)).astype(np.float32)
    table = np.clip(lut.apply_float(points, 1.0), 0.0, 1.0)
    return ColorLUT(table.reshape(size, size, size, 3))


def hald_image(lut: ColorLUT, level: int = DEFAULT_HALD_LEVEL) -> np.ndarray:
    """The HaldCLUT image of `lut` at `level`: uint16 of shape (L^3, L^3, 3).

    Examples
    --------
    >>> from imgot.mapping import _lattice
    >>> identity = ColorLUT(_lattice(4).reshape(4, 4, 4, 3))
    >>> image = hald_image(identity, 2)
    >>> image.shape, image[0, :4, 0].tolist(), image[0, 4, 1]
    ((8, 8, 3), [0, 21845, 43690, 65535], np.uint16(21845))
    """
    level = _check_level(level)
    points = level * level
    table = resample_lut(lut, points).table
    rows = table.transpose(2, 1, 0, 3).reshape(-1, 3)  # red fastest, then green, then blue
    side = level**3
    return np.rint(np.clip(rows, 0.0, 1.0) * 65535.0).astype(np.uint16).reshape(side, side, 3)


def lut_from_hald(image: np.ndarray, *, name: str = "HaldCLUT") -> ColorLUT:
    """The LUT a HaldCLUT image holds; `image` is (N, N, 3) uint8, uint16 or float in [0, 1].

    Raises
    ------
    LUTFormatError
        If the image is not square RGB with a side of L^3 for a level L in 2..16.
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise LUTFormatError(f"{name}: a HaldCLUT is an RGB image, got shape {image.shape}")
    height, width = image.shape[:2]
    level = round(width ** (1 / 3))
    if height != width or level**3 != width or level not in HALD_LEVELS:
        sides = ", ".join(f"{n**3}" for n in (4, 8, 12, 16))
        raise LUTFormatError(f"{name}: {width}x{height} is not a HaldCLUT; it must be square with a side "
                             f"of level^3 pixels ({sides}, ...)")
    scale = 1.0 if image.dtype.kind == "f" else float(np.iinfo(image.dtype).max)
    points = level * level
    rows = image.reshape(-1, 3).astype(np.float32) / np.float32(scale)
    return ColorLUT(np.clip(rows, 0.0, 1.0).reshape(points, points, points, 3).transpose(2, 1, 0, 3))


def write_hald(path: str | os.PathLike, lut: ColorLUT, *, level: int = DEFAULT_HALD_LEVEL,
               overwrite: bool = False, protect=()) -> None:
    """Write `lut` as a 16-bit HaldCLUT PNG of `level`, atomically.

    Parameters
    ----------
    path : str or path-like
        Output file, ``*.png``.
    lut : ColorLUT
        Resampled to ``level**2`` points per axis by its own interpolation
        (:func:`resample_lut`) when its size differs.
    level : int in 2..16, default 8
        8: 512 x 512 pixels; 12: 1728 x 1728; 16: 4096 x 4096.
    overwrite, protect
        As in :func:`imgot.cube.write_cube`.

    Examples
    --------
    >>> import os, tempfile
    >>> from imgot.mapping import _lattice
    >>> identity = ColorLUT(_lattice(5).reshape(5, 5, 5, 3))
    >>> path = os.path.join(tempfile.mkdtemp(), "identity.png")
    >>> write_hald(path, identity, level=4)
    >>> read_hald(path).size
    16
    """
    from .io import write_image

    if Path(path).suffix.lower() != ".png":
        raise ValueError(f"{Path(path).name!r}: a HaldCLUT is written as .png")
    write_image(path, hald_image(lut, level), overwrite=overwrite, protect=protect)


def read_hald(path: str | os.PathLike) -> ColorLUT:
    """Read a HaldCLUT image file (8- or 16-bit RGB PNG, or any image imgot reads).

    Raises
    ------
    ImageReadError
        If the file is missing or not an image.
    LUTFormatError
        If it is not a HaldCLUT: not square RGB with a side of level^3 pixels.
    """
    from .io import load_image

    pixels = load_image(path).pixels
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        raise LUTFormatError(f"{path}: a HaldCLUT has no alpha channel")
    return lut_from_hald(pixels, name=str(path))


def write_lut(path: str | os.PathLike, lut: ColorLUT, *, title: str | None = None,
              hald_level: int = DEFAULT_HALD_LEVEL, overwrite: bool = False, protect=()) -> None:
    """Write `lut` by the file's extension: ``.png`` a HaldCLUT of `hald_level`, else a ``.cube`` at its own size."""
    if Path(path).suffix.lower() == ".png":
        write_hald(path, lut, level=hald_level, overwrite=overwrite, protect=protect)
        return
    from .cube import write_cube

    write_cube(path, lut, title=title, overwrite=overwrite, protect=protect)


def read_lut(path: str | os.PathLike) -> ColorLUT:
    """Read a 3-D LUT file: a ``.cube`` text, or a HaldCLUT image (``.png``, ``.tif``...).

    Raises
    ------
    ImageReadError
        If the file is missing or unreadable.
    LUTFormatError
        If it is not a valid ``.cube`` or HaldCLUT.
    """
    if Path(path).suffix.lower() == ".cube":
        from .cube import read_cube

        return read_cube(path)
    return read_hald(path)
