"""Reading video files with PyAV (FFmpeg's libraries): probing, decoding to RGB, what a path names.

A clip is decoded one frame at a time: memory does not grow with its length.
10-bit sources are decoded to 16-bit RGB (``rgb48le``). The conversions to
and from RGB (:func:`_exact`) are the ones every route uses, so the sample a
clip's maps are fitted on and the graded frames agree.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..exceptions import VideoReadError

__all__ = [
    "CONTAINERS", "Frame", "VideoInfo", "is_image_sequence", "is_still_image", "is_video_file", "is_video_path",
    "iter_frames", "probe",
]
#: Output containers by file extension (FFmpeg muxer names).
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}
_OTHER_VIDEO = (".ts", ".mts", ".m2ts", ".mxf", ".flv", ".wmv", ".mpg", ".mpeg", ".ogv", ".3gp")
_SEQUENCE = re.compile(r"%0?\d*d")
_SEQUENCE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".webp")

_COLOR = ("color_range", "color_primaries", "color_trc", "colorspace")


def _av():
    try:
        import av
    except ImportError:
        raise ImportError("video needs PyAV: pip install 'imgot[video]'") from None
    return av


class Frame(NamedTuple):
    """One decoded frame: its index, its time in seconds, and its RGB pixels.

    ``rgb`` is (H, W, 3) uint8, or uint16 for sources of more than 8 bits.
    """

    index: int  # type: ignore[assignment]  # (shadows tuple.index, which a frame has no use for)
    time: float
    rgb: np.ndarray


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` reads of a clip's video stream."""

    path: Path
    width: int
    height: int
    frame_rate: Fraction
    time_base: Fraction
    n_frames: int
    duration: float | None
    codec: str
    pix_fmt: str
    bit_depth: int
    rotation: float
    color: dict = field(default_factory=dict)
    bit_rate: int | None = None
    audio: tuple[str, ...] = ()
    subtitles: tuple[str, ...] = ()

    @property
    def rgb_format(self) -> str:
        """``'rgb48le'`` (16-bit) for sources of more than 8 bits, else ``'rgb24'``."""
        return "rgb48le" if self.bit_depth > 8 else "rgb24"


def is_image_sequence(path: str | os.PathLike) -> bool:
    """Whether `path` is a numbered image pattern such as ``frames_%05d.png``.

    >>> is_image_sequence("out/frames_%05d.png"), is_image_sequence("clip.mp4")
    (True, False)
    """
    path = Path(path)
    return bool(_SEQUENCE.search(path.name)) and path.suffix.lower() in _SEQUENCE_SUFFIXES


def is_video_path(path: str | os.PathLike) -> bool:
    """Whether `path` names a video output: a video container extension or an image sequence.

    >>> is_video_path("graded.mkv"), is_video_path("graded.jpg")
    (True, False)
    """
    return Path(path).suffix.lower() in CONTAINERS or is_image_sequence(path)


def is_video_file(path: str | os.PathLike) -> bool:
    """Whether `path` is a video input: by extension, or by probing a file of another extension.

    >>> is_video_file("clip.mov"), is_video_file("no_such_photo.jpg")
    (True, False)
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in CONTAINERS or suffix in _OTHER_VIDEO:
        return not is_still_image(path)  # a JPEG named .mp4 is a photo
    if suffix in _SEQUENCE_SUFFIXES or suffix in (".gif", ".bmp", ".cube", ".npz") or not path.is_file():
        return False
    try:
        av = _av()
        with av.open(str(path)) as container:
            stream = container.streams.video[0] if container.streams.video else None
            return stream is not None and stream.codec_context.name not in ("png", "mjpeg", "tiff", "bmp")
    except Exception:  # noqa: BLE001 - anything FFmpeg cannot open is not a video
        return False


def is_still_image(path: str | os.PathLike) -> bool:
    """Whether `path` is a single image whatever its extension (a JPEG named ``.mp4``).

    >>> is_still_image("no_such_clip.mp4")
    False
    """
    path = Path(path)
    if not path.is_file():
        return False
    try:
        with _av().open(str(path)) as container:
            return _is_still_image(container)
    except Exception:  # noqa: BLE001 - not readable by FFmpeg: not an image FFmpeg sees either
        return False


def _reason(error: Exception) -> str:
    text = getattr(error, "strerror", None) or str(error)  # FFmpegError: without errno and file name
    return text.splitlines()[0] if text else type(error).__name__


def _is_still_image(container) -> bool:
    """Whether FFmpeg opened the file as a single image (JPEG, PNG, ... whatever its name says)."""
    name = container.format.name
    return bool(container.streams.video) and (name.endswith("_pipe") or name == "image2")


def _declared_frames(stream) -> int:
    """The frame count the container's index declares (MP4/MOV sample tables), or 0 if it has none."""
    return int(stream.frames or 0)


def _check_complete(path: Path, stream, packets: int) -> None:
    """Raise VideoReadError if the file holds fewer video packets than its index declares (cut short).

    Packets, not decoded frames: an edit list may hide a few decoded frames of
    a complete file (a trim without re-encoding), never its packets.
    """
    declared = _declared_frames(stream)
    if declared and packets < declared:
        raise VideoReadError(f"{path}: truncated: the file holds {packets} of the {declared} frames its index "
                             "declares (cut short while copying or downloading?)")


@contextmanager
def _open_input(path: Path):
    av = _av()
    if not path.is_file():
        raise VideoReadError(f"{path}: no such file")
    try:
        container = av.open(str(path), "r", metadata_errors="replace")
    except (av.FFmpegError, UnicodeDecodeError) as error:
        raise VideoReadError(f"{path}: not a video file imgot can read ({_reason(error)})") from None
    try:
        if _is_still_image(container):
            codec = container.streams.video[0].codec_context.name.upper()
            raise VideoReadError(f"{path}: a {codec} image, not a video (its name says {path.suffix}); "
                                 "give it an image extension to recolor it as a photo")
        if not container.streams.video:
            raise VideoReadError(f"{path}: no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        yield container, stream
    finally:
        container.close()


def _decode(path: Path, container, stream) -> Iterator:
    """The decoded frames of `stream`, with FFmpeg errors as VideoReadError."""
    av = _av()
    count = packets = 0
    try:
        for packet in container.demux(stream):
            packets += packet.size > 0
            for frame in packet.decode():
                count += 1
                yield frame
    except av.FFmpegError as error:
        raise VideoReadError(f"{path}: cannot decode after frame {count} ({_reason(error)})") from None
    if count == 0:
        raise VideoReadError(f"{path}: no frame could be decoded (truncated or empty video)")
    _check_complete(path, stream, packets)


def _bit_depth(pix_fmt: str) -> int:
    av = _av()
    return max(component.bits for component in av.VideoFormat(pix_fmt).components)


def probe(path: str | os.PathLike) -> VideoInfo:
    """Read a clip's video stream properties (decodes its first frame).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    VideoInfo

    Raises
    ------
    VideoReadError
        If the file is missing, not a video, or has no decodable frame.
    """
    path = Path(path)
    with _open_input(path) as (container, stream):
        first = next(_decode(path, container, stream))
        context = stream.codec_context
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        duration = None
        if stream.duration is not None and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        n_frames = stream.frames or (round(duration * rate) if duration else 0)
        return VideoInfo(
            path=path, width=first.width, height=first.height, frame_rate=Fraction(rate),
            time_base=Fraction(stream.time_base or Fraction(1, int(round(rate)))), n_frames=int(n_frames),
            duration=duration, codec=context.name, pix_fmt=first.format.name,
            bit_depth=_bit_depth(first.format.name), rotation=float(first.rotation or 0),
            color={name: int(getattr(first, name)) for name in _COLOR},
            bit_rate=stream.bit_rate or container.bit_rate or None,
            audio=tuple(s.codec_context.name for s in container.streams.audio),
            subtitles=tuple(s.codec_context.name for s in container.streams.subtitles),
        )


def _exact(rgb_format: str = "rgb24", resample: str = "BILINEAR"):
    """swscale flags for faithful YUV <-> RGB.

    For 8-bit RGB, swscale's default path truncates (RGB -> YUV -> RGB darkens
    by ~1.3 levels of 255) and upsamples chroma crudely; accurate rounding and
    full chroma interpolation remove the bias (mean round-trip error 0.5
    levels on photos) for about 8 ms per 1080p frame. For 16-bit RGB the
    default path is already unbiased, and full chroma interpolation is broken
    there (FFmpeg 8), so it is left out.
    """
    from av.video.reformatter import Interpolation

    flags = getattr(Interpolation, resample)
    if rgb_format == "rgb24":
        flags |= Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT | Interpolation.FULL_CHR_H_INP
    return flags


def _to_rgb(frame, rgb_format: str) -> np.ndarray:
    # swscale takes the range from the caller, not the frame: pass the frame's own.
    return frame.reformat(format=rgb_format, src_color_range=frame.color_range or None,
                          interpolation=_exact(rgb_format)).to_ndarray()


def iter_frames(path: str | os.PathLike) -> Iterator[Frame]:
    """Decode a clip one frame at a time, as RGB arrays (a frame iterator for pipelines).

    Parameters
    ----------
    path : str or path-like

    Yields
    ------
    Frame
        ``(index, time, rgb)``; ``rgb`` is uint8, or uint16 for sources of
        more than 8 bits (10-bit values scaled to the full 16-bit range).

    Raises
    ------
    VideoReadError
        If the file is not a video or cannot be decoded.

    Examples
    --------
    >>> import os, tempfile
    >>> from imgot.video.reading import iter_frames
    >>> list(iter_frames(os.path.join(tempfile.mkdtemp(), "missing.mp4")))
    Traceback (most recent call last):
    ...
    imgot.exceptions.VideoReadError: ...missing.mp4: no such file
    """
    path = Path(path)
    depth = probe(path).rgb_format
    with _open_input(path) as (container, stream):
        for index, frame in enumerate(_decode(path, container, stream)):
            time = float(frame.time) if frame.time is not None else index / float(stream.average_rate or 25)
            yield Frame(index, time, _to_rgb(frame, depth))
