"""Streaming a clip through a frame function into the encoder, one frame in memory at a time.

Decoding, grading (two frames at a time where there are two cores) and
encoding overlap in threads; every output frame keeps its input frame's
time stamp. The output is written to a temporary file and renamed into
place at the end (:func:`imgot.atomic.atomic_write`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from ..atomic import atomic_write
from ..exceptions import VideoReadError, VideoWriteError
from .encoding import EncoderChoice, EncoderSettings, _check_paths, _from_rgb, _Output
from .reading import (CONTAINERS, _av, _check_complete, _open_input, _reason, _to_rgb, is_image_sequence, iter_frames,
                      probe)

__all__ = ["FrameFunction", "stream_video"]

class _Abort(Exception):
    """Carries a read error out of atomic_write, which would relabel an OSError as a write error."""

    def __init__(self, error: Exception):
        self.error = error


FrameFunction = Callable[[np.ndarray, int], np.ndarray]


def stream_video(
    path: str | os.PathLike,
    out_path: str | os.PathLike,
    frame_function: FrameFunction | None,
    *,
    encoder: EncoderChoice | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    yuv420_function: Callable[[np.ndarray, int], np.ndarray | None] | None = None,
) -> tuple[EncoderSettings | None, list[str]]:
    """Decode `path`, pass each frame's RGB through `frame_function`, encode to `out_path`.

    One frame in memory at a time. The output is written to a temporary file
    and renamed into place at the end, so an error or Ctrl-C leaves nothing
    under the final name. With ``frame_function=None`` the decoded frames go
    straight to the encoder (a plain re-encode, for comparisons).

    Parameters
    ----------
    path : str or path-like
        The input clip; never written to.
    out_path : str or path-like
        A video file (extension in :data:`CONTAINERS`) or a numbered image
        pattern (``frames_%05d.png``, numbered from 1, rotation applied to
        the pixels).
    frame_function : callable ``(rgb, index) -> rgb`` or None
        Gets (H, W, 3) uint8, or uint16 for sources of more than 8 bits, and
        returns the same shape and dtype.
    encoder : EncoderChoice, optional
        The user's encoder choices, see :func:`imgot.video.choose_encoder`.
    overwrite : bool, default False
    progress : callable ``(frames_done, frames_expected)``, optional
    yuv420_function : callable ``(planes, index) -> planes or None``, optional
        A faster route for 8-bit 4:2:0 frames encoded as they came: gets
        PyAV's array of the frame's stacked Y, U, V planes and returns the
        graded planes, or None to send that frame through `frame_function`.

    Returns
    -------
    settings : EncoderSettings or None
        The encoder used (None for an image sequence).
    notes : list of str
        What happened to the other streams ("audio aac copied", ...).

    Raises
    ------
    VideoReadError, VideoWriteError, OutputExistsError, InputOverwriteError, ValueError
    """
    path, out_path = Path(path), Path(out_path)
    _check_paths(path, out_path)
    info = probe(path)
    if is_image_sequence(out_path):
        if frame_function is None:
            raise ValueError("an image sequence output needs a frame function")
        return None, _write_sequence(path, out_path, info, frame_function, overwrite, progress)
    av = _av()
    encoder = encoder or EncoderChoice()
    container_format = CONTAINERS[out_path.suffix.lower()]
    try:
        with _open_input(path) as (source, stream), atomic_write(out_path, overwrite=overwrite, what="video") as temp:
            try:
                output = _Output(temp, container_format, info, source, stream, encoder)
            except av.FFmpegError as error:
                raise VideoWriteError(f"{out_path}: cannot set up the encoder ({_reason(error)})") from None
            try:
                _pump(path, source, stream, output, info, frame_function, progress, yuv420_function)
                output.close()
            except VideoReadError as error:
                raise _Abort(error) from None
            except av.FFmpegError as error:
                raise VideoWriteError(f"{out_path}: cannot encode ({_reason(error)})") from None
            finally:
                output.abandon()
    except _Abort as abort:
        raise abort.error from None
    return output.settings, output.notes


_YUV420 = ("yuv420p", "yuvj420p")


def _graders() -> int:
    """Frames graded at once: two where there are two cores (each frame's own steps may thread further)."""
    return 2 if (os.cpu_count() or 1) > 1 else 1


def _converter(output, info, frame_function, yuv420_function) -> Callable:
    """``(decoded frame, index) -> frame in the encoder's format``: graded in YUV, in RGB, or passed through."""
    av = _av()
    pix_fmt = output.settings.pix_fmt
    direct = (yuv420_function is not None and pix_fmt in _YUV420 and info.width % 2 == 0 and info.height % 2 == 0)

    def convert(frame, index: int):
        planes = None
        if direct and frame.format.name == pix_fmt:
            planes = yuv420_function(frame.to_ndarray(), index)
        if planes is not None:
            out = av.VideoFrame.from_ndarray(planes, format=pix_fmt)
            for name, value in info.color.items():
                setattr(out, name, value)
            return out
        if frame_function is None:
            return frame if frame.format.name == pix_fmt else frame.reformat(format=pix_fmt)
        rgb = frame_function(_to_rgb(frame, info.rgb_format), index)
        return _from_rgb(rgb, info.rgb_format, pix_fmt, info.color)

    return convert


def _produce(path, source, stream, output, info, frame_function, yuv420_function=None) -> Iterator[tuple]:
    """Demux once: ('video', encoded-format frame, pts, time_base, index, duration) or ('other', packet), in file order.

    Frames to grade go to a small thread pool as they are decoded, at most
    ``2 * workers`` in flight, and come out in order: decoding, the grading
    of consecutive frames and (in the caller) the encoder overlap.
    """
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    others = [s for s in source.streams if s.index in output.copied or s.index in output.transcoded]
    convert = _converter(output, info, frame_function, yuv420_function)
    workers = _graders() if frame_function is not None or yuv420_function is not None else 1
    pool = ThreadPoolExecutor(workers, thread_name_prefix="imgot-grade") if workers > 1 else None
    pending: deque = deque()
    in_flight = index = packets = 0
    try:
        for packet in source.demux(stream, *others):
            if packet.stream.index != stream.index:
                pending.append(("other", packet))
            else:
                packets += packet.size > 0
                try:
                    frames = packet.decode()
                except _av().FFmpegError as error:
                    raise VideoReadError(f"{path}: cannot decode after frame {index} ({_reason(error)})") from None
                for frame in frames:
                    job = pool.submit(convert, frame, index) if pool is not None else convert(frame, index)
                    pending.append(("video", job, frame.pts, frame.time_base, index, frame.duration))
                    in_flight += 1
                    index += 1
            while pending and (pending[0][0] == "other" or in_flight > 2 * workers - 1):
                item = pending.popleft()
                if item[0] == "video":
                    in_flight -= 1
                    item = (item[0], item[1].result() if pool is not None else item[1], *item[2:])
                yield item
        while pending:
            item = pending.popleft()
            if item[0] == "video":
                item = (item[0], item[1].result() if pool is not None else item[1], *item[2:])
            yield item
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    if index == 0:
        raise VideoReadError(f"{path}: no frame could be decoded (truncated or empty video)")
    _check_complete(path, stream, packets)


_DONE = object()


def _in_thread(items: Iterator, depth: int = 3) -> Iterator:
    """Run a generator in a worker thread, `depth` items ahead; its exceptions re-raised here.

    Decoding, grading and color conversion then overlap with the encoder (all
    release the GIL in C); at most `depth` frames wait in between.
    """
    import queue
    import threading

    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which re-raises it
            put(error)

    worker = threading.Thread(target=work, name="imgot-video-frames", daemon=True)
    worker.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _pump(path, source, stream, output, info, frame_function, progress, yuv420_function=None) -> None:
    """Frames through the function to the encoder, other packets to the output, decoding one step ahead."""
    for item in _in_thread(_produce(path, source, stream, output, info, frame_function, yuv420_function)):
        if item[0] == "other":
            output.mux_other(item[1])
            continue
        _, frame, pts, time_base, index, duration = item
        output.write(frame, pts, time_base, index, duration)
        if progress is not None:
            progress(index + 1, info.n_frames)


def _write_sequence(path, pattern, info, frame_function, overwrite, progress) -> list[str]:
    from ..io import write_image

    first = Path(str(pattern) % 1)
    if first.exists() and not overwrite:
        from ..exceptions import OutputExistsError

        raise OutputExistsError(f"{first}: exists; pass overwrite=True (--overwrite) to replace it")
    turns = int(round(info.rotation / 90)) % 4
    for frame in iter_frames(path):
        rgb = frame_function(frame.rgb, frame.index)
        write_image(str(pattern) % (frame.index + 1), np.rot90(rgb, turns) if turns else rgb, overwrite=overwrite)
        if progress is not None:
            progress(frame.index + 1, info.n_frames)
    notes = [f"{len(info.audio)} audio stream(s) dropped: an image sequence has no audio"] if info.audio else []
    return notes
