"""Find the input image files of a command, and name its outputs.

:func:`find_inputs` turns what a user gives (a folder, searched recursively; a
glob pattern; one file; a list of files) into a sorted stream of ``(path,
relative path)``; the relative path is where the output goes under the
output folder. ``imgot batch``, ``imgot normalize`` and ``imgot distance``
all find their images here, so "a folder" or "a pattern" means the same to
each of them.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from pathlib import Path

from .exceptions import ImageReadError

__all__ = ["IMAGE_EXTENSIONS", "find_inputs", "companion", "is_companion_pattern"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif")
_GLOB_CHARS = frozenset("*?[")


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and folder in path.resolve().parents


def _walk(folder: Path, exclude: Path | None) -> Iterator[tuple[Path, Path]]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not _inside(Path(root, d, "x"), exclude))
        for name in sorted(files):
            path = Path(root, name)
            if _is_image(path):
                yield path, path.relative_to(folder)


def _glob(pattern: str, exclude: Path | None) -> Iterator[tuple[Path, Path]]:
    parts = Path(pattern).parts
    fixed = next(i for i, part in enumerate(parts) if _GLOB_CHARS & set(part))
    base = Path(*parts[:fixed]) if fixed else Path(".")
    for name in sorted(glob.iglob(pattern, recursive=True)):
        path = Path(name)
        if path.is_file() and _is_image(path) and not _inside(path, exclude):
            yield path, path.relative_to(base)


def find_inputs(inputs, *, exclude: str | os.PathLike | None = None) -> Iterator[tuple[Path, Path]]:
    """Stream ``(path, relative path)`` for each input image file, in sorted order.

    Parameters
    ----------
    inputs : str, path-like, or iterable of them
        A folder (searched recursively for files ending in one of
        :data:`IMAGE_EXTENSIONS`), a glob pattern (``"frames/*.png"``,
        ``"shoot/**/*.jpg"``), one file, or a list of files. The relative path
        is taken from the folder or from the pattern's fixed leading folders;
        for a single file or a list it is the file name.
    exclude : path-like, optional
        A folder whose files are left out (the output folder).

    Yields
    ------
    path, relative : Path, Path

    Raises
    ------
    ImageReadError
        If a folder, file or listed file does not exist.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "day2").mkdir()
    >>> for name in ("day2/b.jpg", "a.png", "notes.txt"):
    ...     _ = (root / name).write_bytes(b"")
    >>> [str(rel) for _, rel in find_inputs(root)]
    ['a.png', 'day2/b.jpg']
    """
    exclude = Path(exclude).resolve() if exclude is not None else None
    if isinstance(inputs, (str, os.PathLike)):
        path = Path(inputs)
        if path.is_dir():
            return _walk(path, exclude)
        if path.is_file():
            return iter([(path, Path(path.name))])
        if _GLOB_CHARS & set(str(inputs)):
            return _glob(str(inputs), exclude)
        raise ImageReadError(f"{path}: no such file or folder")
    return ((Path(p), Path(Path(p).name)) for p in inputs)


def _output_suffix(format: str | None) -> str | None:
    """``'png'`` -> ``'.png'``, for a format imgot can write; ValueError otherwise."""
    if format is None:
        return None
    from .io import _format_for

    if not isinstance(format, str) or not format.strip(". ") or any(c in format for c in "/\\"):
        raise ValueError(f"format must be an image file extension such as png, jpg or tif, got {format!r}")
    suffix = "." + format.lower().lstrip(".")
    try:
        _format_for(Path("x" + suffix))
    except ValueError:
        raise ValueError(f"format must be an image file extension imgot can write, such as png, jpg or tif, "
                         f"got {format!r}") from None
    return suffix


COMPANION_FIELDS = ("{stem}", "{name}", "{parent}")


def is_companion_pattern(value) -> bool:
    """Whether `value` names a per-image file by a pattern such as ``{stem}_mask.png``."""
    return isinstance(value, (str, os.PathLike)) and any(field in str(value) for field in COMPANION_FIELDS)


def companion(value, image: Path):
    """The file that goes with `image` (its mask, its labels) by the pattern `value`.

    ``{stem}``, ``{name}`` and ``{parent}`` are filled in from `image`, and a
    relative result is taken from the image's folder; anything that is not a
    pattern (a plain file, an array, ``'alpha'``) is the same for every image.

    Examples
    --------
    >>> companion("{stem}_mask.png", Path("shoot/a.jpg")).as_posix()
    'shoot/a_mask.png'
    >>> companion("masks/all.png", Path("shoot/a.jpg"))
    'masks/all.png'
    """
    if not is_companion_pattern(value):
        return value
    try:
        filled = str(value).format(stem=image.stem, name=image.name, parent=image.parent.name)
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(f"bad file pattern {str(value)!r} ({error}); use {{stem}}, {{name}} or {{parent}}") from None
    path = Path(filled)
    return path if path.is_absolute() else image.parent / path
