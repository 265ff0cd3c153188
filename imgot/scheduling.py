"""Run the per-file tasks of a batch in parallel: local worker processes or a Dask cluster.

:func:`run_tasks` submits ``(input, output)`` tasks, at most a bounded number
in flight, and yields one :class:`~imgot.perfile.BatchResult` per task as it
finishes; each task is :func:`imgot.perfile.process_file` with the one mapper
(a fitted model, or one LUT for all). A worker that dies becomes a
``"failed"`` result, not an exception.

Local workers start from a fork server (forking a parent whose OpenMP
threads have run can deadlock), receive the mapper once, and die with the
batch process: a watch thread in each worker checks it five times a second,
and each task checks it before writing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import fused
from .mapping import ColorLUT
from .perfile import BatchResult, process_file
from .transfer import LUTTransform

__all__ = ["BAKE_AFTER", "run_tasks"]

# A worker that has mapped this many images through one LUT bakes it
# (ColorLUT.bake costs about 12 two-megapixel images' worth of mapping, then
# each image maps ~2.5x faster): small batches skip the cost, big ones gain.
BAKE_AFTER = 4
_WORKER: dict[str, Any] = {"mapper": None, "done": 0}


def run_tasks(tasks: Iterable[tuple[Path, Path, BatchResult | None]], mapper, options: dict, *,
              jobs: int | None = None, client=None, context=None) -> Iterator[BatchResult]:
    """Run :func:`~imgot.perfile.process_file` on each task, yielding results as they finish.

    Parameters
    ----------
    tasks : iterable of (input, output, BatchResult or None)
        A task whose result is already decided (not None) is yielded as is.
    mapper : ColorTransfer, LUTTransform or ColorLUT
        What every task maps its image through.
    options : dict
        Keyword arguments of ``process_file`` (``quality``, ``overwrite``).
    jobs : int, optional
        Local worker processes; default ``os.cpu_count()``. Ignored with `client`.
    client : distributed.Client, optional
        Run the tasks on this Dask cluster instead.
    context : multiprocessing context, optional
        How local workers start; see :func:`_mp_context`.

    Returns
    -------
    iterator of BatchResult
        At most ``2 * jobs`` (or twice the cluster's threads) tasks are in
        flight; the workers are started here, the tasks as it is consumed.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from imgot import write_image
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_image(folder / "gray.png", np.full((2, 2, 3), 128, np.uint8))
    >>> black = ColorLUT(np.zeros((2, 2, 2, 3)))
    >>> tasks = [(folder / "gray.png", folder / "out" / "gray.png", None),
    ...          (folder / "gone.png", folder / "out" / "gone.png", BatchResult(folder / "gone.png",
    ...           folder / "out" / "gone.png", "skipped", "output exists"))]
    >>> sorted((r.output.name, r.status) for r in run_tasks(tasks, black, {}, jobs=1))
    [('gone.png', 'skipped'), ('gray.png', 'done')]
    """
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


def _watch_parent(pid: int, every: float = 0.2) -> None:
    """Exit this worker within `every` seconds of the batch process `pid` being gone, even while idle.

    Nothing else would end it: a worker's parent is the fork server, which
    exits only once every worker has (each holds its "alive" pipe), and an idle
    worker blocks reading a task queue whose write end it holds itself.
    """
    import threading
    import time

    def watch() -> None:
        while not _parent_gone(pid):
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="imgot-parent-watch", daemon=True).start()


def _parent_gone(pid: int) -> bool:
    """True once the batch process `pid` has exited: a worker then stops."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # the pid is alive, reused by another user's process: keep on
        return False
    return False


def _on_interrupt(signum, frame) -> None:
    """A worker's Ctrl+C: the task under way stops (its temporary output is removed), an idle worker just exits.

    (An idle worker interrupted in its wait printed a traceback under the
    batch's own one-line message; the batch process reports the interrupt.)
    """
    if _WORKER.get("busy"):
        raise KeyboardInterrupt
    os._exit(1)


def _init_worker(mapper, limit_threads: bool, parent: int | None = None) -> None:
    import signal

    signal.signal(signal.SIGINT, _on_interrupt)
    _WORKER.update(mapper=mapper, done=0, parent=parent, busy=False)
    fused.expect_many()  # a worker renders many images: the detail step's kernel pays from 1 MP
    if parent is not None:
        _watch_parent(parent)
    if limit_threads:  # one process per core: no OpenMP/BLAS oversubscription
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)


def _process_in_worker(source: Path, target: Path, options: dict) -> BatchResult:
    parent = _WORKER.get("parent")
    if parent is not None and _parent_gone(parent):  # no one to report to: write nothing more
        os._exit(1)
    mapper = _WORKER["mapper"]
    _WORKER["busy"] = True
    try:
        result = process_file(mapper, source, target, **options)
    finally:
        _WORKER["busy"] = False
    _WORKER["done"] += result.status == "done"
    lut = mapper.lut if isinstance(mapper, LUTTransform) else mapper
    if isinstance(lut, ColorLUT) and _WORKER["done"] == BAKE_AFTER:
        lut.bake()
    return result


# What the fork server imports once, so that each worker starts warm: this
# module holds the worker functions (_init_worker, _process_in_worker).
_PRELOAD_APPLY = ["imgot.scheduling"]
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
    if threading.current_thread() is threading.main_thread():
        _start_fork_server(forkserver)
    else:  # (signal dispositions can only be set from the main thread)
        threading.Thread(target=forkserver.ensure_running, daemon=True).start()
    return context


def _start_fork_server(forkserver) -> None:
    """Start the fork server now (a few ms; it imports in its own process), with Ctrl+C ignored.

    The server ignores Ctrl+C itself only once its preloads are imported
    (about a second): a Ctrl+C in the terminal before that printed its
    traceback under the batch's own one-line message. An ignored signal stays
    ignored across the server's exec; the workers set their own handler
    (:func:`_on_interrupt`).
    """
    import signal

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


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
    """The same task on a Dask cluster, the mapper sent to every worker once.

    The mapper (a fitted model with its reference's palette, sample and
    sorted projections, or one LUT: a few megabytes) is scattered to all
    workers at start (``broadcast=True``) and each task only names it, so a
    batch of N images does not ship it N times. Every worker holds a copy: a
    worker that dies takes only its own, and its tasks are run again
    elsewhere. Tasks are pure (the same input, output and options give the
    same key and the same bytes), so a task that is run twice writes the same
    file, or finds it there and reports it ``"skipped"``.
    """

    def __init__(self, client, mapper, options: dict):
        self.client, self.options = client, options
        [self.mapper] = client.scatter([mapper], broadcast=True, hash=False)

    def submit(self, source: Path, target: Path):
        return self.client.submit(_process_on_dask, self.mapper, source.resolve(), target.resolve(),
                                  pure=True, **self.options)

    @staticmethod
    def wait_first(futures: list) -> set:
        from distributed import wait

        return wait(futures, return_when="FIRST_COMPLETED").done

    def close(self, pending: dict) -> None:
        if pending:
            self.client.cancel(list(pending))
        self.mapper.release()


def _process_on_dask(mapper, source: Path, target: Path, **options) -> BatchResult:
    """:func:`~imgot.perfile.process_file` as a Dask task: the same result, after :func:`_tune_malloc`."""
    _tune_malloc()
    return process_file(mapper, source, target, **options)


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MALLOC_TUNED: list = []


def _tune_malloc() -> None:
    """Undo, once per process, what Dask's nanny does to glibc's malloc for NumPy's temporaries.

    The nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``. Setting
    any threshold also freezes glibc's mmap threshold at 128 KB, so every
    temporary array above it (a detail step makes dozens per image) is
    mapped fresh and page-faulted in: a 256x256 image took about 2.4 times as
    long (200 against 80-85 ms in a plain process with that variable set;
    benchmarks/dask_batch.py measures the cluster). Arrays below 4 MB then come from the heap
    again, which keeps up to 32 MB free at its top. Only where that variable
    is set, and only on glibc (elsewhere nothing happens).
    """
    if _MALLOC_TUNED:
        return
    _MALLOC_TUNED.append(True)
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 4 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 32 << 20)
    except (OSError, AttributeError):  # not glibc
        pass


def _dask_workers(client) -> int:
    threads = client.nthreads()
    return max(1, sum(threads.values()) if threads else 1)
