"""Atomic file output: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .exceptions import ImageWriteError, OutputExistsError

__all__ = ["atomic_write"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_write(path: str | os.PathLike, *, overwrite: bool = False, what: str = "file") -> Iterator[str]:
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

    Raises
    ------
    OutputExistsError
        If `path` exists and `overwrite` is False.
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
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: exists; pass overwrite=True (--overwrite) to replace it")
    if not path.parent.is_dir():
        raise ImageWriteError(f"{path.parent}: no such folder")
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(handle)
    try:
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
        yield temp
        os.replace(temp, path)
    except OSError as error:
        raise ImageWriteError(f"{path}: cannot write {what} ({error})") from None
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
