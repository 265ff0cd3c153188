"""Reading and writing 3-D LUTs in the Adobe/Resolve ``.cube`` text format.

A ``.cube`` file holds a header of keywords (``TITLE``, ``LUT_3D_SIZE``,
``DOMAIN_MIN``, ``DOMAIN_MAX``), then one ``R G B`` line per lattice point
with the red index varying fastest, then green, then blue. imgot's
:class:`~imgot.mapping.ColorLUT` has the same meaning (sRGB in [0, 1] to
sRGB in [0, 1]), so only the domain 0..1 is supported; 1-D LUTs and other
domains raise :class:`~imgot.exceptions.LUTFormatError`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .atomic import atomic_write
from .exceptions import ImageReadError, LUTFormatError
from .mapping import ColorLUT

__all__ = ["read_cube", "write_cube", "cube_title"]

_MAX_SIZE = 256  # the format's limit on LUT_3D_SIZE
_TOLERANCE = 1e-6  # slack on the domain bounds and on output values


def _data_rows(lut: ColorLUT) -> np.ndarray:
    """The table as (S^3, 3) rows, red varying fastest: row k is table[k % S, k // S % S, k // S^2]."""
    return lut.table.transpose(2, 1, 0, 3).reshape(-1, 3)


def _header(lut: ColorLUT, title: str | None) -> str:
    lines = ["# Created by imgot"]
    if title is not None:
        if '"' in title or "\n" in title or "\r" in title:
            raise ValueError(f"title must not contain double quotes or line breaks, got {title!r}")
        lines.append(f'TITLE "{title}"')
    lines += [f"LUT_3D_SIZE {lut.size}", "DOMAIN_MIN 0.0 0.0 0.0", "DOMAIN_MAX 1.0 1.0 1.0", ""]
    return "\n".join(lines) + "\n"


def cube_title(command: str, reference=None) -> str:
    """A ``TITLE`` for a LUT that `command` fitted toward the file `reference`: no quotes or line breaks.

    Examples
    --------
    >>> cube_title("transfer", 'my "look".jpg')
    "imgot transfer to my 'look'.jpg"
    """
    text = f"imgot {command}" if not isinstance(reference, (str, os.PathLike)) else \
        f"imgot {command} to {Path(reference).name}"
    return text.translate({ord('"'): "'", ord("\n"): " ", ord("\r"): " "})


def write_cube(
    path: str | os.PathLike, lut: ColorLUT, *, title: str | None = None, overwrite: bool = False,
    protect=(),
) -> None:
    """Write a LUT as a ``.cube`` file, atomically, at the LUT's own size.

    Parameters
    ----------
    path : str or path-like
        Output file (conventionally ``*.cube``; ffmpeg and most editors
        recognise the format by that extension).
    lut : ColorLUT
        The table to export; values are written with 9 significant digits,
        so a float32 table reads back exactly.
    title : str, optional
        Written as ``TITLE "title"``; no double quotes or line breaks.
    overwrite : bool, default False
        Replace an existing file. Without it an existing file is an error.
    protect : iterable of path-like, optional
        Input files that `path` must not be (:func:`imgot.atomic.refuse_inputs`).

    Raises
    ------
    OutputExistsError
        If `path` exists and `overwrite` is False.
    ImageWriteError
        If the file cannot be written.
    ValueError
        For a title with quotes or line breaks.

    Examples
    --------
    >>> import os, tempfile
    >>> from imgot.mapping import ColorLUT
    >>> identity = ColorLUT(np.stack(np.meshgrid(*[np.linspace(0, 1, 2)] * 3, indexing="ij"), -1))
    >>> path = os.path.join(tempfile.mkdtemp(), "identity.cube")
    >>> write_cube(path, identity, title="identity")
    >>> open(path).read().splitlines()[1:3]
    ['TITLE "identity"', 'LUT_3D_SIZE 2']
    """
    path = Path(path)
    header = _header(lut, title)
    with atomic_write(path, overwrite=overwrite, what="LUT", protect=protect) as temp:
        with open(temp, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(header)
            np.savetxt(stream, _data_rows(lut), fmt="%.9g")  # 9 digits: float32 read back exactly


def _floats(path: Path, number: int, words: list[str], count: int) -> list[float]:
    """Parse `words` as exactly `count` finite numbers, or raise with the line number."""
    try:
        values = [float(word) for word in words]
    except ValueError:
        values = []
    if len(values) != count or not all(np.isfinite(values)):
        raise LUTFormatError(f"{path}:{number}: expected {count} numbers, got {' '.join(words)!r}")
    return values


def _check_domain(path: Path, number: int, keyword: str, values: list[float]) -> None:
    bounds = {"DOMAIN_MIN": [0.0] * 3, "DOMAIN_MAX": [1.0] * 3, "LUT_3D_INPUT_RANGE": [0.0, 1.0]}[keyword]
    if not np.allclose(values, bounds, rtol=0, atol=_TOLERANCE):
        raise LUTFormatError(
            f"{path}:{number}: {keyword} {' '.join(map(str, values))} is not supported; "
            "imgot reads only LUTs over the domain 0..1"
        )


def _parse(path: Path, text: str) -> tuple[int | None, list[list[float]]]:
    """Read the header keywords and the data lines of a .cube text."""
    size: int | None = None
    rows: list[list[float]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, *words = line.split()
        if keyword != "TITLE":  # a trailing '# comment' may follow anything but a title
            words = line.split("#")[0].split()[1:]
        if keyword[0].isalpha():
            if rows:
                raise LUTFormatError(f"{path}:{number}: keyword {keyword} after the data lines")
            size = _keyword(path, number, keyword, words, size)
        else:
            rows.append(_floats(path, number, [keyword, *words], 3))
    return size, rows


def _keyword(path: Path, number: int, keyword: str, words: list[str], size: int | None) -> int | None:
    """Apply one header line; returns the LUT_3D_SIZE seen so far."""
    if keyword == "TITLE":
        return size
    if keyword == "LUT_1D_SIZE":
        raise LUTFormatError(f"{path}:{number}: 1-D LUTs (LUT_1D_SIZE) are not supported; only 3-D LUTs")
    if keyword in ("DOMAIN_MIN", "DOMAIN_MAX", "LUT_3D_INPUT_RANGE"):
        count = 2 if keyword == "LUT_3D_INPUT_RANGE" else 3
        _check_domain(path, number, keyword, _floats(path, number, words, count))
        return size
    if keyword == "LUT_3D_SIZE":
        if size is not None:
            raise LUTFormatError(f"{path}:{number}: LUT_3D_SIZE given twice")
        if len(words) != 1 or not words[0].isdigit() or not 2 <= int(words[0]) <= _MAX_SIZE:
            raise LUTFormatError(f"{path}:{number}: LUT_3D_SIZE must be an integer in 2..{_MAX_SIZE}")
        return int(words[0])
    raise LUTFormatError(f"{path}:{number}: unknown keyword {keyword!r}")


def _table(path: Path, size: int | None, rows: list[list[float]]) -> np.ndarray:
    """Check the data against the header and lay it out as table[r, g, b]."""
    if size is None:
        raise LUTFormatError(f"{path}: no LUT_3D_SIZE line; not a 3-D .cube LUT")
    if len(rows) != size**3:
        raise LUTFormatError(f"{path}: LUT_3D_SIZE {size} needs {size**3} data lines, found {len(rows)}")
    data = np.asarray(rows, dtype=np.float64)
    if data.min() < -_TOLERANCE or data.max() > 1.0 + _TOLERANCE:
        raise LUTFormatError(f"{path}: output values outside [0, 1] are not supported")
    # Red varies fastest, so the rows reshape to [b, g, r].
    return np.clip(data, 0.0, 1.0).reshape(size, size, size, 3).transpose(2, 1, 0, 3)


def read_cube(path: str | os.PathLike) -> ColorLUT:
    """Read a 3-D ``.cube`` LUT file.

    Parameters
    ----------
    path : str or path-like
        A ``.cube`` text file (UTF-8, with or without a byte-order mark, or
        Latin-1): ``TITLE``, ``LUT_3D_SIZE``, ``DOMAIN_MIN``,
        ``DOMAIN_MAX`` (or ``LUT_3D_INPUT_RANGE``) keywords, ``#`` comments,
        blank lines, then ``S^3`` lines of ``R G B`` with red varying fastest.

    Returns
    -------
    ColorLUT

    Raises
    ------
    ImageReadError
        If the file is missing or unreadable.
    LUTFormatError
        If the file is malformed, is a 1-D LUT, has a domain other than
        0..1, or output values outside [0, 1].

    Examples
    --------
    >>> import os, tempfile
    >>> from imgot.mapping import ColorLUT
    >>> table = np.random.default_rng(0).random((3, 3, 3, 3))
    >>> path = os.path.join(tempfile.mkdtemp(), "random.cube")
    >>> write_cube(path, ColorLUT(table))
    >>> bool(np.abs(read_cube(path).table - table).max() < 1e-6)
    True
    """
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: no such file")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageReadError(f"{path}: cannot read LUT ({error.strerror or error})") from None
    return ColorLUT(_table(path, *_parse(path, _decode(path, data))))


def _decode(path: Path, data: bytes) -> str:
    """The text of a .cube file: UTF-8 with or without a byte-order mark, else Latin-1.

    Resolve and other tools write a BOM, or a TITLE in Latin-1; only the
    TITLE may hold non-ASCII text, so reading it as Latin-1 loses nothing.
    """
    if b"\0" in data:
        raise LUTFormatError(f"{path}: not a .cube text file (binary data)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")
