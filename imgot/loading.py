"""``imgot.load``: read back any estimator imgot saved, whichever it is.

A saved :class:`~imgot.ColorTransfer` (:meth:`~imgot.ColorTransfer.save`) and
a saved :class:`~imgot.Normalizer` (:meth:`~imgot.Normalizer.save`) are both
versioned ``.npz`` archives that name their format (:mod:`imgot.persist`);
this module sits above both estimators and picks the reader by that name.
"""

from __future__ import annotations

import os

__all__ = ["load"]


def load(path: str | os.PathLike):
    """Load a :class:`~imgot.ColorTransfer` or a :class:`~imgot.Normalizer` saved with its ``save``.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    ColorTransfer or Normalizer
        Fitted, with the saved parameters; it transforms images to the same
        bytes as the estimator that was saved.

    Raises
    ------
    ImageReadError
        If the file is missing.
    ModelFormatError
        If the file is neither, is damaged, or is of another format version.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from imgot import ColorTransfer, Normalizer
    >>> folder = tempfile.mkdtemp()
    >>> ColorTransfer(n_clusters=2).fit(np.eye(3)[None]).save(os.path.join(folder, "a.npz"))
    >>> Normalizer(n_clusters=2).fit([np.eye(3)[None]]).save(os.path.join(folder, "b.npz"))
    >>> type(load(os.path.join(folder, "a.npz"))).__name__, type(load(os.path.join(folder, "b.npz"))).__name__
    ('ColorTransfer', 'Normalizer')
    """
    from .persist import archive_format

    if archive_format(path) == "imgot.Normalizer":
        from .normalize import load_normalizer

        return load_normalizer(path)
    from .transfer import load as load_transfer

    return load_transfer(path)
