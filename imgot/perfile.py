"""Recolor one image file: read it, map its colors, write the result atomically.

The step that every worker of a batch runs (:func:`process_file`, which turns
any failure into a :class:`BatchResult` so that the batch goes on) and that
``imgot apply`` runs for each image (:func:`recolor_file`, which raises). The
output keeps the input's ICC profile and EXIF, and appears under its final
name only once complete (:func:`imgot.io.write_image`).
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .exceptions import ImgotError, OutputExistsError
from .io import load_image, write_image
from .mapping import ColorLUT
from .transfer import ColorTransfer, LUTTransform, apply_lut_to_image

__all__ = ["BatchResult", "process_file", "recolor_file", "read_selection"]


@dataclass(frozen=True)
class BatchResult:
    """What happened to one input file.

    Attributes
    ----------
    input : Path
    output : Path
    status : {'done', 'skipped', 'failed'}
        ``skipped``: the output already existed (and `overwrite` was off).
    reason : str or None
        Why it failed or was skipped.
    seconds : float
        Time spent on the file by its worker.
    warnings : tuple of str
        Warnings raised while processing it (e.g. 16-bit written as 8-bit).
    """

    input: Path
    output: Path
    status: str
    reason: str | None = None
    seconds: float = 0.0
    warnings: tuple[str, ...] = ()


def read_selection(selection: dict | None, image: Path | None = None) -> dict:
    """The masks and label images of `selection` for the image file `image`, read.

    Parameters
    ----------
    selection : dict, optional
        ``source_mask``, ``apply_mask``, ``source_labels`` (and the
        reference's) -> a file, a per-image pattern such as
        ``{stem}_mask.png`` (:func:`imgot.discovery.companion`), an array,
        ``'alpha'`` or None.
    image : Path, optional
        The image the patterns are filled in for.

    Returns
    -------
    dict
        The same keys with arrays (``'alpha'`` and None kept); masks are read
        as images, ``*_labels`` by :func:`imgot.io.read_labels`.

    Raises
    ------
    ImageReadError
        If a file is missing or unreadable; the message names it.
    """
    from .discovery import companion
    from .io import read_labels

    read = {}
    for key, value in (selection or {}).items():
        if image is not None:
            value = companion(value, image)
        if isinstance(value, (str, os.PathLike)) and value != "alpha":
            value = read_labels(value) if key.endswith("_labels") else load_image(value).pixels
        read[key] = value
    return read


def _transform(mapper: ColorTransfer | LUTTransform | ColorLUT, pixels: np.ndarray, selection: dict) -> np.ndarray:
    selected = {key: value for key, value in selection.items() if value is not None}
    if isinstance(mapper, ColorTransfer):
        return mapper.transform(pixels, **selected)
    if set(selected) - {"apply_mask"}:  # one LUT for all: no image's own statistics to select
        raise ValueError(f"{', '.join(sorted(set(selected) - {'apply_mask'}))}: not with one map for all images")
    if isinstance(mapper, ColorLUT):
        return apply_lut_to_image(mapper, pixels, **selected)
    return mapper.transform(pixels, **selected)


def recolor_file(
    mapper: ColorTransfer | LUTTransform | ColorLUT,
    source: str | os.PathLike,
    target: str | os.PathLike,
    *,
    quality: int = 95,
    overwrite: bool = False,
    protect=(),
    selection: dict | None = None,
) -> None:
    """Map the colors of the image file `source` and write them to `target`.

    Parameters
    ----------
    mapper : ColorTransfer, LUTTransform or ColorLUT
        A fitted estimator, a LUT with its finishing steps, or a bare LUT.
    source, target : path-like
        Input file and output file (its folder is created if missing); the
        output keeps the input's ICC profile and EXIF.
    quality : int, default 95
        JPEG/WebP quality.
    overwrite : bool, default False
        Replace an existing `target`; otherwise that is an error.
    protect : iterable of path-like, optional
        Input files that `target` must not be, whatever `overwrite` says.
    selection : dict, optional
        This image's ``source_mask``, ``apply_mask`` and ``source_labels``
        (files, per-image patterns or arrays; see :func:`read_selection`),
        passed to ``mapper.transform``; one LUT takes only ``apply_mask``.

    Raises
    ------
    ImageReadError
        If `source` is not an image imgot can read.
    ValueError
        For a multi-frame `source` (recolored by :func:`imgot.frames.recolor_frames`,
        one map for every frame) with a selection, a `target` format that holds
        one image, or a method that is not one LUT.
    OutputExistsError
        If `target` exists and `overwrite` is False.
    ImageWriteError, InputOverwriteError
        If `target` cannot be written, or is one of `protect`.

    Examples
    --------
    >>> import tempfile
    >>> from imgot import read_image, write_image
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_image(folder / "gray.png", np.full((2, 2, 3), 128, np.uint8))
    >>> black = ColorLUT(np.zeros((2, 2, 2, 3)))
    >>> recolor_file(black, folder / "gray.png", folder / "out" / "gray.png")
    >>> int(read_image(folder / "out" / "gray.png").max())
    0
    """
    source, target = Path(source), Path(target)
    from .frames import count_frames

    if count_frames(source) > 1:  # an animated GIF, PNG or WebP, a multi-page TIFF: every frame, one map
        if any(value is not None for value in (selection or {}).values()):
            raise ValueError(f"{source}: masks and regions are for still images, not for its frames")
        from .frames import recolor_frames

        target.parent.mkdir(parents=True, exist_ok=True)
        recolor_frames(mapper, source, target, quality=quality, overwrite=overwrite, protect=protect)
        return
    image = load_image(source)
    result = _transform(mapper, image.pixels, read_selection(selection, source))
    target.parent.mkdir(parents=True, exist_ok=True)
    write_image(target, result, icc_profile=image.icc_profile, exif=image.exif,
                quality=quality, overwrite=overwrite, protect=protect)


def process_file(
    mapper: ColorTransfer | ColorLUT,
    source: str | os.PathLike,
    target: str | os.PathLike,
    *,
    quality: int = 95,
    overwrite: bool = False,
    selection: dict | None = None,
) -> BatchResult:
    """Recolor one image file into `target`: the task every worker runs.

    Parameters
    ----------
    mapper : ColorTransfer or ColorLUT
        A fitted estimator (own palette and plan per image) or one LUT for all.
    source, target : path-like
        Input file and output file (its folder is created if missing).
    quality : int, default 95
        JPEG/WebP quality.
    overwrite : bool, default False
        Redo an existing output; otherwise it is ``"skipped"``.
    selection : dict, optional
        Masks and labels of each image (see :func:`recolor_file`); a missing
        mask fails this file only.

    Returns
    -------
    BatchResult
        Never raises for a bad file: the error becomes ``status="failed"``.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "broken.png").write_text("not an image")
    >>> lut = ColorLUT(np.zeros((2, 2, 2, 3)))
    >>> result = process_file(lut, folder / "broken.png", folder / "out" / "broken.png")
    >>> result.status, result.reason.endswith("not an image file imgot can read")
    ('failed', True)
    """
    source, target = Path(source), Path(target)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status, reason = _process(mapper, source, target, quality, overwrite, selection)
    messages = tuple(dict.fromkeys(str(w.message) for w in caught))
    return BatchResult(source, target, status, reason, time.perf_counter() - start, messages)


def _process(mapper, source: Path, target: Path, quality: int, overwrite: bool,
             selection: dict | None) -> tuple[str, str | None]:
    if target.exists() and not overwrite:
        return "skipped", "output exists"
    try:
        recolor_file(mapper, source, target, quality=quality, overwrite=overwrite, selection=selection)
    except OutputExistsError:
        return "skipped", "output exists"
    except (ImgotError, ValueError, TypeError) as error:
        return "failed", str(error).splitlines()[0] if str(error) else type(error).__name__
    except Exception as error:  # a batch reports every other failure too, and goes on
        return "failed", f"{type(error).__name__}: {error}"
    return "done", None
