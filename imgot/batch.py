"""Recolor many image files toward one reference: datasets and frame sequences.

:func:`transfer_many` fits the reference once and streams the inputs through a
pool of worker processes (or a Dask ``distributed.Client``), a bounded number
at a time, yielding one :class:`BatchResult` per file as it finishes.

Two modes:

- per image (``fit_on=None``): every image gets its own source palette and
  transport plan toward the shared reference palette;
- one map for all (``fit_on="first"``, ``"pooled"`` or a file): one
  :class:`~imgot.transfer.ColorMap` is solved up front and the workers only
  apply its LUT, so every frame of a sequence is graded identically.

Outputs keep the inputs' relative folders and file names under `out_dir` and
are written atomically; an existing output is skipped unless `overwrite`;
inputs are only ever read. A file that cannot be read or written is reported
as ``"failed"`` with the reason, and the batch goes on.

A killed run may leave hidden ``.NAME.*.part`` temporary files in `out_dir`;
they are never taken for outputs and are safe to delete.
"""

from __future__ import annotations

import glob
import os
import time
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path

import numpy as np

from .atomic import same_file
from .exceptions import ImageReadError, ImgotError, OutputExistsError
from .io import load_image, write_image
from .mapping import ColorLUT
from .methods import sample_rgb
from .transfer import ColorTransfer, LUTTransform, apply_lut_to_image

__all__ = ["IMAGE_EXTENSIONS", "BatchResult", "find_inputs", "pooled_sample", "process_file", "transfer_many"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp")
FIT_ON_MODES = ("first", "pooled")
POOL_IMAGES = 32  # images read for fit_on="pooled"
_GLOB_CHARS = frozenset("*?[")


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


def _transform(mapper: ColorTransfer | LUTTransform | ColorLUT, pixels: np.ndarray) -> np.ndarray:
    if isinstance(mapper, ColorLUT):
        return apply_lut_to_image(mapper, pixels)
    return mapper.transform(pixels)


def process_file(
    mapper: ColorTransfer | ColorLUT,
    source: str | os.PathLike,
    target: str | os.PathLike,
    *,
    quality: int = 95,
    overwrite: bool = False,
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
        status, reason = _process(mapper, source, target, quality, overwrite)
    messages = tuple(dict.fromkeys(str(w.message) for w in caught))
    return BatchResult(source, target, status, reason, time.perf_counter() - start, messages)


def _process(mapper, source: Path, target: Path, quality: int, overwrite: bool) -> tuple[str, str | None]:
    if target.exists() and not overwrite:
        return "skipped", "output exists"
    try:
        image = load_image(source)
        result = _transform(mapper, image.pixels)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_image(target, result, icc_profile=image.icc_profile, exif=image.exif,
                    quality=quality, overwrite=overwrite)
    except OutputExistsError:
        return "skipped", "output exists"
    except (ImgotError, ValueError, TypeError) as error:
        return "failed", str(error).splitlines()[0] if str(error) else type(error).__name__
    except Exception as error:  # a batch reports every other failure too, and goes on
        return "failed", f"{type(error).__name__}: {error}"
    return "done", None


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
            pixels = as_pixels(load_image(path).pixels)
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
        image = load_image(first).pixels
    elif fit_on == "pooled":
        paths = _spread((path for path, _ in find_inputs(inputs, exclude=exclude)), POOL_IMAGES,
                        model.random_state)
        image = pooled_sample(paths, n_samples=model.n_samples, random_state=model.random_state)
    else:
        image = load_image(fit_on).pixels
    return LUTTransform.from_model(model, image)


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


def _plan(pairs: Iterator[tuple[Path, Path]], out_dir: Path, suffix: str | None,
          overwrite: bool, protect: tuple) -> Iterator[tuple[Path, Path, BatchResult | None]]:
    """(input, output, result decided without a worker or None) for each input."""
    seen: set[Path] = set()
    for path, relative in pairs:
        target = out_dir / (relative.with_suffix(suffix) if suffix else relative)
        result = None
        if same_file(target, path) or any(same_file(target, other) for other in protect):
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
    **transfer_params
        :class:`~imgot.transfer.ColorTransfer` parameters (``method``,
        ``n_clusters``, ``strength``, ``random_state``, ...).

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
        For bad transfer parameters, `fit_on`, `format`, or `out_dir` equal
        to the input folder.

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
    suffix = _output_suffix(format)
    if fit_on == "pooled" and not isinstance(inputs, (str, os.PathLike)):
        inputs = list(inputs)  # read twice: once for the sample, once for the work
    pairs = find_inputs(inputs, exclude=out_dir)
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
        ref = load_image(reference).pixels if isinstance(reference, (str, os.PathLike)) else reference
        model = ColorTransfer(**transfer_params).fit(ref)
    mapper = model if fit_on is None else _fit_lut(model, fit_on, inputs, out_dir, first[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    protect = tuple(p for p in (reference, fit_on) if isinstance(p, (str, os.PathLike)) and
                    p not in FIT_ON_MODES)
    tasks = _plan(chain([first], pairs), out_dir, suffix, overwrite, protect)
    options = {"quality": quality, "overwrite": overwrite}
    if client is not None:
        return _run(_DaskBackend(client, mapper, options), tasks, 2 * _dask_workers(client))
    jobs = jobs or os.cpu_count() or 1
    return _run(_ProcessBackend(jobs, mapper, options, context), tasks, 2 * jobs)


def _run(backend, tasks, limit: int) -> Iterator[BatchResult]:
    """Submit tasks, at most `limit` in flight, yielding results as they finish."""
    pending: dict = {}
    try:
        for source, target, decided in tasks:
            if decided is not None:
                yield decided
                continue
            pending[backend.submit(source, target)] = (source, target)
            while len(pending) >= limit:
                yield from _collect(backend, pending)
        while pending:
            yield from _collect(backend, pending)
    finally:
        backend.close(pending)


def _collect(backend, pending: dict) -> Iterator[BatchResult]:
    for future in backend.wait_first(list(pending)):
        source, target = pending.pop(future)
        try:
            result = future.result()
        except Exception as error:  # the worker died (killed, out of memory)
            yield BatchResult(source, target, "failed", f"worker failed: {type(error).__name__}: {error}")
        else:  # the paths as the caller gave them, whatever the worker saw
            yield replace(result, input=source, output=target)


# A worker that has mapped this many images through one LUT bakes it
# (ColorLUT.bake costs about 12 two-megapixel images' worth of mapping, then
# each image maps ~2.5x faster): small batches skip the cost, big ones gain.
BAKE_AFTER = 4
_WORKER = {"mapper": None, "done": 0}


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (prctl PR_SET_PDEATHSIG).

    A worker's parent is the fork server, which exits as soon as the batch
    process is gone (killed or not), so the workers go too; elsewhere the
    check between images (:func:`_parent_gone`) does it.
    """
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return


def _parent_gone(pid: int) -> bool:
    """True once the batch process `pid` has exited: a worker then stops."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # the pid is alive, reused by another user's process: keep on
        return False
    return False


def _init_worker(mapper, limit_threads: bool, parent: int | None = None) -> None:
    _die_with_parent()
    _WORKER.update(mapper=mapper, done=0, parent=parent)
    if parent is not None and _parent_gone(parent):  # the parent died before prctl took effect
        os._exit(1)
    if limit_threads:  # one process per core: no OpenMP/BLAS oversubscription
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)


def _process_in_worker(source: Path, target: Path, options: dict) -> BatchResult:
    parent = _WORKER.get("parent")
    if parent is not None and _parent_gone(parent):  # no one to report to: write nothing more
        os._exit(1)
    mapper = _WORKER["mapper"]
    result = process_file(mapper, source, target, **options)
    _WORKER["done"] += result.status == "done"
    lut = mapper.lut if isinstance(mapper, LUTTransform) else mapper
    if isinstance(lut, ColorLUT) and _WORKER["done"] == BAKE_AFTER:
        lut.bake()
    return result


# What the fork server imports once, so that each worker starts warm.
_PRELOAD_APPLY = ["imgot.batch"]
_PRELOAD_FIT = _PRELOAD_APPLY + ["sklearn.cluster", "ot", "skimage.color"]


def _mp_context(fits: bool):
    """Fresh worker processes: forking a parent whose OpenMP (k-means) has run can deadlock.

    The fork server is started at once, in the background, so that its
    imports overlap the caller's fitting; workers that only apply a LUT
    (`fits` False) do not need scikit-learn or POT.
    """
    import multiprocessing
    import threading

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD_FIT if fits else _PRELOAD_APPLY)
    threading.Thread(target=forkserver.ensure_running, daemon=True).start()
    return context


class _ProcessBackend:
    """A ProcessPoolExecutor whose workers receive the mapper once, at start."""

    def __init__(self, jobs: int, mapper, options: dict, context):
        from concurrent.futures import ProcessPoolExecutor

        self.options = options
        self.pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker,
                                        initargs=(mapper, jobs > 1, os.getpid()))

    def submit(self, source: Path, target: Path):
        return self.pool.submit(_process_in_worker, source, target, self.options)

    @staticmethod
    def wait_first(futures: list) -> set:
        from concurrent.futures import FIRST_COMPLETED, wait

        return wait(futures, return_when=FIRST_COMPLETED).done

    def close(self, pending: dict) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _DaskBackend:
    """The same task on a Dask cluster.

    The mapper (a fitted model or a LUT, well under a megabyte) travels inside
    each task rather than being scattered once: data scattered to a worker
    that dies cannot be recomputed, and every task that needs it would be
    cancelled, while a task that carries its mapper is simply run again on
    another worker.
    """

    def __init__(self, client, mapper, options: dict):
        self.client, self.options = client, options
        self.mapper = mapper

    def submit(self, source: Path, target: Path):
        return self.client.submit(process_file, self.mapper, source.resolve(), target.resolve(),
                                  pure=False, **self.options)

    @staticmethod
    def wait_first(futures: list) -> set:
        from distributed import wait

        return wait(futures, return_when="FIRST_COMPLETED").done

    def close(self, pending: dict) -> None:
        if pending:
            self.client.cancel(list(pending))


def _dask_workers(client) -> int:
    threads = client.nthreads()
    return max(1, sum(threads.values()) if threads else 1)
