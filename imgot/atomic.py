"""Atomic file output: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .exceptions import ImageWriteError, InputOverwriteError, OutputExistsError

__all__ = ["atomic_write", "check_writable", "refuse_inputs", "same_file"]


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True if `a` and `b` are the same existing file, through any path, symlink or hard link.

    Compares device and inode (``os.stat``), so ``./x.png``, an absolute path,
    a symlink and a hard link to one file are all the same; a path that does
    not exist is the same as nothing.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> a = os.path.join(folder, "a.png")
    >>> _ = open(a, "wb").write(b"x")
    >>> os.link(a, os.path.join(folder, "b.png"))
    >>> same_file(a, os.path.join(folder, "b.png")), same_file(a, os.path.join(folder, "c.png"))
    (True, False)
    """
    try:
        first, second = os.stat(a), os.stat(b)
    except (OSError, ValueError):
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def refuse_inputs(outputs, inputs) -> None:
    """Raise :class:`InputOverwriteError` if any of `outputs` is one of `inputs`.

    The one check every command makes before writing: an input is never
    written over, with or without ``--overwrite`` (``None`` entries are
    skipped, so optional outputs can be passed as they are).

    Parameters
    ----------
    outputs, inputs : iterable of path-like or None

    Raises
    ------
    InputOverwriteError
        Naming the output and the input it is.

    Examples
    --------
    >>> refuse_inputs([__file__], [__file__])
    Traceback (most recent call last):
    ...
    imgot.exceptions.InputOverwriteError: ... is an input; refusing to write over it (pick another output)
    """
    inputs = [Path(path) for path in inputs if path is not None]
    for output in outputs:
        if output is None:
            continue
        for source in inputs:
            if same_file(output, source):
                shown = f"{output}" if Path(output) == source else f"{output} (the same file as {source})"
                raise InputOverwriteError(f"{shown} is an input; refusing to write over it (pick another output)")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_write(path: str | os.PathLike, *, overwrite: bool = False, what: str = "file",
                 protect=()) -> Iterator[str]:
    """Yield a temporary path beside `path`; on success rename it into place.

    A crash or an error leaves no partial file under the final name, and the
    temporary file (``.NAME.*.part``) is removed.

    Parameters
    ----------
    path : str or path-like
        The final file.
    overwrite : bool, default False
        Replace an existing file; otherwise raise :class:`OutputExistsError`.
    what : str
        What is written, for error messages.
    protect : iterable of path-like, optional
        Inputs that `path` must not be (:func:`refuse_inputs`).

    Raises
    ------
    OutputExistsError
        If `path` exists and `overwrite` is False.
    InputOverwriteError
        If `path` is one of `protect`.
    ImageWriteError
        If the folder is missing or the write fails with an OSError.

    Examples
    --------
    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "note.txt")
    >>> with atomic_write(target) as temp:
    ...     _ = open(temp, "w").write("done")
    >>> open(target).read()
    'done'
    """
    path = Path(path)
    refuse_inputs([path], protect)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: exists; pass overwrite=True (--overwrite) to replace it")
    if not path.parent.is_dir():
        raise ImageWriteError(f"{path.parent}: no such folder")
    if path.is_dir():
        raise ImageWriteError(f"{path}: is a folder")
    try:  # a read-only or full folder fails here (EROFS, EACCES, ENOSPC)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as error:
        raise ImageWriteError(f"{path}: cannot write {what} ({error.strerror or error})") from None
    os.close(handle)
    try:
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
        yield temp
        os.replace(temp, path)
    except OSError as error:
        if isinstance(error, ImageWriteError):
            raise
        raise ImageWriteError(f"{path}: cannot write {what} ({error.strerror or error})") from None
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


class _Checked(Exception):
    """Leaves :func:`check_writable`'s trial write before anything is renamed into place."""


def check_writable(path: str | os.PathLike, *, overwrite: bool = False, what: str = "file", protect=()) -> None:
    """Make :func:`atomic_write`'s checks now, before a long job whose result goes to `path`.

    Creates and removes the temporary file beside `path` (so a missing,
    read-only or full folder fails here); `path` itself is not touched.

    Raises
    ------
    OutputExistsError, InputOverwriteError, ImageWriteError
        As :func:`atomic_write` would.

    Examples
    --------
    >>> import os, tempfile
    >>> check_writable(os.path.join(tempfile.mkdtemp(), "missing", "grade.cube"))
    Traceback (most recent call last):
    ...
    imgot.exceptions.ImageWriteError: ...missing: no such folder
    """
    try:
        with atomic_write(path, overwrite=overwrite, what=what, protect=protect):
            raise _Checked
    except _Checked:
        pass
