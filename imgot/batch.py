"""Recolor many image files toward one reference: datasets and frame sequences.

:func:`transfer_many` fits the reference once and streams the inputs through a
pool of worker processes (or a Dask ``distributed.Client``), a bounded number
at a time, yielding one :class:`BatchResult` per file as it finishes.

Two modes:

- per image (``fit_on=None``): every image gets its own map toward the
  reference fitted once (for the palette methods, its own source palette
  and transport plan toward the shared reference palette);
- one map for all (``fit_on="first"``, ``"pooled"`` or a file; LUT methods
  only): one 3-D LUT is fitted up front (a :class:`~imgot.recolor.LUTTransform`)
  and the workers only apply it, so every frame of a sequence is graded
  identically (and `save_lut` can export that LUT as a ``.cube``).

Outputs keep the inputs' relative folders and file names under `out_dir` and
are written atomically; an existing output is skipped unless `overwrite`;
inputs are only ever read. A file that cannot be read or written is reported
as ``"failed"`` with the reason, and the batch goes on.

A killed run may leave hidden ``.NAME.*.part`` temporary files in `out_dir`;
they are never taken for outputs and are safe to delete.

This module fits and plans; the stages it strings together live below it:
:mod:`imgot.discovery` finds the inputs, :mod:`imgot.perfile` recolors one
file, :mod:`imgot.scheduling` runs those tasks in parallel. Their public
names are re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import replace
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import refuse_inputs
from .discovery import IMAGE_EXTENSIONS, _output_suffix, companion, find_inputs, is_companion_pattern
from .exceptions import ImageReadError, ImgotError, InputOverwriteError
from .frames import read_for_fit
from .palette import sample_rgb
from .perfile import BatchResult, process_file, read_selection
from .scheduling import _mp_context, run_tasks
from .transfer import ColorTransfer, LUTTransform

__all__ = ["IMAGE_EXTENSIONS", "BatchResult", "find_inputs", "pooled_sample", "process_file", "transfer_many"]

FIT_ON_MODES = ("first", "pooled")
POOL_IMAGES = 32  # images read for fit_on="pooled"


def pooled_sample(paths: Iterable[str | os.PathLike], *, n_samples: int = 10000,
                  random_state: int = 0) -> np.ndarray:
    """Pixels drawn from several images, as one float RGB strip to fit a shared map on.

    Parameters
    ----------
    paths : iterable of path-like
        Image files; unreadable ones are left out.
    n_samples : int, default 10000
        Pixels drawn (seeded) from each image, fully transparent ones excluded.
    random_state : int, default 0

    Returns
    -------
    ndarray of shape (1, M, 3), float64 in [0, 1]

    Raises
    ------
    ImageReadError
        If none of the files can be read.

    Examples
    --------
    >>> import tempfile
    >>> from imgot import write_image
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_image(folder / "red.png", np.full((4, 4, 3), [255, 0, 0], np.uint8))
    >>> write_image(folder / "blue.png", np.full((4, 4, 3), [0, 0, 255], np.uint8))
    >>> strip = pooled_sample([folder / "red.png", folder / "blue.png"], n_samples=16)
    >>> strip.shape, strip[0].max(axis=0).tolist()
    ((1, 32, 3), [1.0, 0.0, 1.0])
    """
    from .pixels import as_pixels

    samples = []
    for index, path in enumerate(paths):
        try:
            pixels = as_pixels(read_for_fit(path))
        except ImgotError:
            continue
        samples.append(sample_rgb(pixels, n_samples, random_state + index))
    if not samples:
        raise ImageReadError("fit_on='pooled': none of the sampled inputs could be read")
    return np.concatenate(samples)[None]


def _spread(items: Iterable, count: int, seed: int) -> list:
    """Up to `count` items drawn uniformly across a stream (reservoir sampling), in stream order."""
    rng = np.random.default_rng(seed)
    reservoir: list = []
    for index, item in enumerate(items):
        if index < count:
            reservoir.append((index, item))
        else:
            slot = int(rng.integers(index + 1))
            if slot < count:
                reservoir[slot] = (index, item)
    return [item for _, item in sorted(reservoir, key=lambda pair: pair[0])]


def _fit_lut(model: ColorTransfer, fit_on, inputs, exclude: Path, first: Path) -> LUTTransform:
    """The one LUT (with the model's finishing steps) used for every image when `fit_on` is given."""
    if fit_on == "first":
        image = read_for_fit(first, n_samples=model.n_samples, random_state=model._seed())
    elif fit_on == "pooled":
        paths = _spread((path for path, _ in find_inputs(inputs, exclude=exclude)), POOL_IMAGES,
                        model._seed())
        image = pooled_sample(paths, n_samples=model.n_samples, random_state=model._seed())
    else:
        image = read_for_fit(fit_on, n_samples=model.n_samples, random_state=model._seed())
    return LUTTransform.from_model(model, image)


def _is_an_input(target: Path, inputs: tuple) -> bool:
    try:
        refuse_inputs([target], inputs)
    except InputOverwriteError:
        return True
    return False


def _plan(pairs: Iterator[tuple[Path, Path]], out_dir: Path, suffix: str | None,
          overwrite: bool, protect: tuple) -> Iterator[tuple[Path, Path, BatchResult | None]]:
    """(input, output, result decided without a worker or None) for each input."""
    seen: set[Path] = set()
    for path, relative in pairs:
        target = out_dir / (relative.with_suffix(suffix) if suffix else relative)
        result = None
        if _is_an_input(target, (path, *protect)):
            result = BatchResult(path, target, "failed", "refusing to write over an input")
        elif target in seen:
            result = BatchResult(path, target, "failed", f"another input also maps to {target}")
        elif target.exists() and not overwrite:
            result = BatchResult(path, target, "skipped", "output exists")
        seen.add(target)
        yield path, target, result


def transfer_many(
    inputs,
    reference,
    out_dir: str | os.PathLike,
    *,
    fit_on=None,
    jobs: int | None = None,
    overwrite: bool = False,
    client=None,
    quality: int = 95,
    format: str | None = None,
    save_lut: str | os.PathLike | None = None,
    hald_level: int = 8,
    source_mask=None,
    reference_mask=None,
    apply_mask=None,
    source_labels=None,
    reference_labels=None,
    **transfer_params,
) -> Iterator[BatchResult]:
    """Recolor many image files toward `reference`, in parallel, as a stream of results.

    The reference (and, with `fit_on`, the shared map) is fitted here, at
    once; the images are then processed as the returned iterator is consumed,
    at most ``2 * jobs`` at a time, and their results come out as they finish
    (not in input order).

    Parameters
    ----------
    inputs : str, path-like, or iterable of them
        A folder (recursive), a glob pattern, a file or a list of files; see
        :func:`find_inputs`.
    reference : path-like, ndarray, PIL.Image.Image or fitted ColorTransfer
        The image whose colors to take, or an estimator already fitted (then
        `transfer_params` must be empty), such as a
        :class:`~imgot.normalize.Normalizer`'s ``transfer_``.
    out_dir : path-like
        Where outputs go, at the inputs' relative paths (created if missing).
        It must not be the input folder; files under it are not inputs.
    fit_on : None, 'first', 'pooled' or path-like, default None
        None: each image gets its own palette and plan. Otherwise one map for
        all, fitted on the first input, on a sample of pixels pooled across up
        to 32 inputs spread over the whole list, or on the given image file.
    jobs : int, optional
        Worker processes; default ``os.cpu_count()``. Ignored with `client`.
    overwrite : bool, default False
        Redo outputs that exist; otherwise they are ``"skipped"`` (resume).
    client : distributed.Client, optional
        Run the tasks on this Dask cluster instead of local processes. The
        workers must see the same paths (a shared file system).
    quality : int, default 95
        JPEG/WebP quality.
    format : str, optional
        Output file extension for all outputs (``"png"``); default: each
        input's own extension.
    save_lut : path-like, optional
        With `fit_on`, also write the one fitted color map as a 3-D LUT
        (``.cube``, or a HaldCLUT for ``.png``: :func:`imgot.hald.write_lut`) to this file, once it is
        fitted and before any image is processed; an existing file is
        replaced only with `overwrite`. The file holds the float32 table
        exactly, so applying it (``imgot apply`` with the same `preserve_detail` and
        `preserve_luminance`) reproduces every output. The LUT holds the
        color map only, not the model's per-pixel `preserve_detail` and
        `preserve_luminance` steps (nor `saturation` and `protect_skin`).
    hald_level : int in 2..16, default 8
        The level of a HaldCLUT `save_lut` (``.png``).
    source_mask, apply_mask, source_labels : optional
        Each image's selection, apply mask and region labels (see
        :meth:`imgot.ColorTransfer.transform`): one file or array for all
        images, or a pattern naming a file next to each image, such as
        ``"{stem}_mask.png"`` or ``"masks/{stem}.png"`` (``{stem}``,
        ``{name}``, ``{parent}``; :func:`imgot.discovery.companion`). Files
        that are some input's companion are not inputs themselves; an image
        whose mask is missing fails, and the batch goes on. With `fit_on`,
        only `apply_mask`.
    reference_mask, reference_labels : optional
        The reference's selection and region labels (a file or an array).
    **transfer_params
        :class:`~imgot.transfer.ColorTransfer` parameters (``method``,
        ``n_clusters``, ``strength``, ``random_state``, ``ignore_color``,
        ``feather``, ...).

    Yields
    ------
    BatchResult
        One per input file.

    Raises
    ------
    ImageReadError
        If the reference or the `fit_on` file cannot be read, or no input
        image is found.
    ValueError
        For bad transfer parameters, `fit_on`, `format`, `out_dir` equal to
        the input folder, or `save_lut` without `fit_on`.
    OutputExistsError
        If `save_lut` exists and `overwrite` is False.

    Notes
    -----
    Worker processes start from a fork server, not by forking the caller
    (forking a process whose OpenMP threads have run, as k-means does, can
    deadlock), so a script that calls this must guard its entry point with
    ``if __name__ == "__main__":``, as on macOS and Windows.

    Examples
    --------
    >>> import tempfile
    >>> from imgot import write_image
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "in").mkdir()
    >>> rng = np.random.default_rng(0)
    >>> for name in ("a.png", "b.png"):
    ...     write_image(root / "in" / name, (rng.random((8, 8, 3)) * 255).astype(np.uint8))
    >>> reference = (rng.random((8, 8, 3)) * [60, 120, 255]).astype(np.uint8)
    >>> results = transfer_many(root / "in", reference, root / "out", jobs=1, n_clusters=4)
    >>> sorted((r.output.name, r.status) for r in results)
    [('a.png', 'done'), ('b.png', 'done')]
    """
    out_dir = Path(out_dir)
    if isinstance(inputs, (str, os.PathLike)) and Path(inputs).is_dir() and \
            Path(inputs).resolve() == out_dir.resolve():
        raise ValueError(f"{out_dir}: the output folder must not be the input folder")
    if fit_on is not None and not isinstance(fit_on, (str, os.PathLike)):
        raise ValueError(f"fit_on must be None, 'first', 'pooled' or an image file, got {fit_on!r}")
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if save_lut is not None and fit_on is None:
        raise ValueError("save_lut needs fit_on ('first', 'pooled' or an image file): without it every "
                         "image gets its own color map")
    per_image = {"source_mask": source_mask, "apply_mask": apply_mask, "source_labels": source_labels}
    per_image = {key: value for key, value in per_image.items() if value is not None}
    if fit_on is not None and set(per_image) - {"apply_mask"}:
        raise ValueError(f"{' and '.join(sorted(set(per_image) - {'apply_mask'}))}: each image's own "
                         "statistics, but fit_on fits one map for all (only apply_mask goes with it)")
    if (source_labels is None) != (reference_labels is None):
        raise ValueError("regions need both source_labels and reference_labels")
    suffix = _output_suffix(format)
    if fit_on == "pooled" and not isinstance(inputs, (str, os.PathLike)):
        inputs = list(inputs)  # read twice: once for the sample, once for the work
    pairs = find_inputs(inputs, exclude=out_dir)
    patterns = [value for value in per_image.values() if is_companion_pattern(value)]
    if patterns:  # a folder holding photos and their masks: the masks are not photos
        found = list(pairs)
        companions = {Path(companion(pattern, path)).resolve() for pattern in patterns for path, _ in found}
        pairs = iter([pair for pair in found if pair[0].resolve() not in companions])
    first = next(pairs, None)
    if first is None:
        raise ImageReadError(f"{inputs}: no input images found")
    context = _mp_context(fits=fit_on is None) if client is None else None
    if isinstance(reference, ColorTransfer):  # already fitted (imgot normalize: a barycenter palette)
        if transfer_params:
            raise TypeError(f"a fitted ColorTransfer reference takes no transfer parameters, got "
                            f"{', '.join(sorted(transfer_params))}")
        model = reference
    else:
        ref = read_for_fit(reference) if isinstance(reference, (str, os.PathLike)) else reference
        fit_data = read_selection({"reference_mask": reference_mask, "reference_labels": reference_labels})
        model = ColorTransfer(**transfer_params).fit(ref, **fit_data)
    mapper = model if fit_on is None else _fit_lut(model, fit_on, inputs, out_dir, first[0])
    files = (reference, fit_on, reference_mask, reference_labels, *per_image.values())
    protect = tuple(p for p in files if isinstance(p, (str, os.PathLike)) and p not in (*FIT_ON_MODES, "alpha")
                    and not is_companion_pattern(p))
    if save_lut is not None:
        from .cube import cube_title
        from .hald import read_lut, write_lut

        write_lut(save_lut, mapper.lut, title=cube_title("batch", reference), hald_level=hald_level,
                  overwrite=overwrite, protect=(first[0], *protect))
        # The workers apply the table as the file holds it: the LUT file is, by construction, the map
        # every output went through.
        mapper = replace(mapper, lut=read_lut(save_lut))
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks = _plan(chain([first], pairs), out_dir, suffix, overwrite, protect)
    options: dict[str, Any] = {"quality": quality, "overwrite": overwrite}
    if per_image:
        options["selection"] = per_image
    return run_tasks(tasks, mapper, options, jobs=jobs, client=client, context=context)
