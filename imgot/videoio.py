"""Reading, writing and streaming video files with PyAV (FFmpeg's libraries).

A clip is decoded one frame at a time and re-encoded as it goes: memory does
not grow with the clip's length. What users expect to keep is kept: frame
rate and time stamps (each output frame has its input frame's pts), the
rotation (display matrix), color metadata (primaries, transfer, matrix,
range), audio and subtitle streams (packets copied where the container takes
their codec, audio re-encoded otherwise). 10-bit sources are decoded to
16-bit RGB (``rgb48le``) and encoded back in a 10-bit pixel format.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .atomic import atomic_write
from .exceptions import VideoReadError, VideoWriteError

__all__ = [
    "CONTAINERS", "EncoderSettings", "Frame", "VideoInfo", "check_encoder", "choose_encoder", "is_image_sequence",
    "is_still_image", "is_video_file", "is_video_path", "iter_frames", "probe", "stream_video",
]

#: Output containers by file extension (FFmpeg muxer names).
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}
_OTHER_VIDEO = (".ts", ".mts", ".m2ts", ".mxf", ".flv", ".wmv", ".mpg", ".mpeg", ".ogv", ".3gp")
_SEQUENCE = re.compile(r"%0?\d*d")
_SEQUENCE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".webp")

# The encoder of each source codec family, and the default of each container.
_FAMILY = {
    "h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9", "vp8": "libvpx", "av1": "libsvtav1",
    "prores": "prores_ks", "mpeg4": "mpeg4", "mjpeg": "mjpeg", "dnxhd": "dnxhd", "ffv1": "ffv1",
}
_CONTAINER_DEFAULT = {"webm": "libvpx-vp9"}
_CRF = {"libx264": 18, "libx265": 20, "libvpx-vp9": 31, "libvpx": 10, "libsvtav1": 30}
_PRESET = {"libx264": "medium", "libx265": "medium", "libsvtav1": "8"}
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

    index: int
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
    >>> from imgot.videoio import iter_frames
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


@dataclass(frozen=True)
class EncoderSettings:
    """The video encoder chosen for an output, as :func:`choose_encoder` picks it."""

    codec: str
    pix_fmt: str
    options: dict
    bit_rate: int | None = None

    def describe(self) -> str:
        """A one-line summary, e.g. ``'libx264 yuv420p crf=18 preset=medium'``."""
        parts = [self.codec, self.pix_fmt, *(f"{key}={value}" for key, value in self.options.items())]
        if self.bit_rate:
            parts.append(f"bitrate={self.bit_rate}")
        return " ".join(parts)


def _pick_pix_fmt(codec: str, source: str, depth: int) -> str:
    av = _av()
    formats = [f.name for f in av.Codec(codec, "w").video_formats or ()]
    if not formats or source in formats:
        return source
    chroma = source[:7]  # 'yuv420p', 'yuv422p', 'yuv444p'
    ranked = sorted(formats, key=lambda name: (abs(_bit_depth(name) - min(depth, 10)), not name.startswith(chroma),
                                                not name.startswith("yuv")))
    choice = ranked[0]
    if _bit_depth(choice) < depth:
        warnings.warn(f"{codec} has no {depth}-bit format here; encoding in {choice} ({_bit_depth(choice)} bits)",
                      stacklevel=3)
    return choice


def choose_encoder(
    info: VideoInfo,
    container_format: str,
    supported: set[str] | None = None,
    *,
    codec: str | None = None,
    crf: int | None = None,
    bitrate: int | None = None,
    preset: str | None = None,
) -> EncoderSettings:
    """The encoder for re-encoding `info`'s clip into `container_format`.

    Same codec family as the source where FFmpeg has an encoder and the
    container takes it (H.264 -> libx264, HEVC -> libx265, ProRes ->
    prores_ks, VP9 -> libvpx-vp9, ...), else the container's default; the
    source's pixel format where the encoder has it (so 10 bits stay 10 bits).

    Parameters
    ----------
    info : VideoInfo
    container_format : str
        FFmpeg muxer name (``'mp4'``, ``'matroska'``, ...).
    supported : set of str, optional
        Codecs the container accepts (``OutputContainer.supported_codecs``).
    codec, crf, bitrate, preset
        The user's choices: encoder name, constant rate factor, bit rate in
        bits/s (one of `crf`, `bitrate`), encoder speed preset.

    Raises
    ------
    ValueError
        For an unknown encoder, one the container does not take, both `crf`
        and `bitrate`, or a `crf`/`preset` the encoder does not have.
    """
    av = _av()
    if crf is not None and bitrate is not None:
        raise ValueError("pass one of crf or bitrate, not both")
    if codec is not None:
        try:
            av.Codec(codec, "w")
        except Exception:  # noqa: BLE001 - PyAV raises UnknownCodecError or ValueError
            raise ValueError(f"codec {codec!r}: no such video encoder in this FFmpeg build") from None
        if supported is not None and codec not in supported:
            raise ValueError(f"codec {codec!r} cannot go into a {container_format} file")
        name = codec
    else:
        name = _FAMILY.get(info.codec, "")
        if supported is not None and name not in supported:
            name = ""
        name = name or _CONTAINER_DEFAULT.get(container_format, "libx264")
    options: dict = {}
    if crf is not None and name not in _CRF:
        raise ValueError(f"crf: {name} has no constant rate factor; use bitrate (encoders with crf: {', '.join(_CRF)})")
    if preset is not None and name not in _PRESET:
        raise ValueError(f"preset: {name} has no presets (encoders with presets: {', '.join(_PRESET)})")
    if name in _PRESET:
        options["preset"] = str(preset or _PRESET[name])
    if bitrate is None and name in _CRF:
        options["crf"] = str(_CRF[name] if crf is None else crf)
        if name.startswith("libvpx"):
            options["b"] = "0"  # constant quality mode
    elif bitrate is None and name == "prores_ks":
        options["profile"] = "3"  # HQ
    elif bitrate is None:
        bitrate = info.bit_rate
    return EncoderSettings(name, _pick_pix_fmt(name, info.pix_fmt, info.bit_depth), options, bitrate)


def check_encoder(
    path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    codec: str | None = None,
    crf: int | None = None,
    bitrate: int | None = None,
    preset: str | None = None,
) -> EncoderSettings | None:
    """The encoder :func:`stream_video` would choose, checked before any frame is graded.

    Returns None for an image sequence output (no encoder).

    Raises
    ------
    ValueError
        For a bad output name or encoder choice (see :func:`choose_encoder`).
    VideoReadError
        If `path` is not a readable video.
    """
    import io

    path, out_path = Path(path), Path(out_path)
    _check_paths(path, out_path)
    info = probe(path)
    if is_image_sequence(out_path):
        if any(value is not None for value in (codec, crf, bitrate, preset)):
            raise ValueError("codec, crf, bitrate and preset are for video files, not image sequences")
        return None
    container_format = CONTAINERS[out_path.suffix.lower()]
    with _av().open(io.BytesIO(), "w", format=container_format) as probe_out:
        supported = probe_out.supported_codecs
    return choose_encoder(info, container_format, supported, codec=codec, crf=crf, bitrate=bitrate, preset=preset)


class _Abort(Exception):
    """Carries a read error out of atomic_write, which would relabel an OSError as a write error."""

    def __init__(self, error: Exception):
        self.error = error


def _encoder_time_base(container_format: str, source_stream) -> Fraction | None:
    """The encoder's time base: the source stream's, so every pts passes through exactly.

    None (one tick per frame at the average rate) for AVI, whose muxer writes
    an empty chunk per unused tick of a fine time base.
    """
    if container_format == "avi" or not source_stream.time_base:
        return None
    return Fraction(source_stream.time_base)


class _Output:
    """An output container: the graded video stream plus copied or re-encoded audio and subtitles."""

    def __init__(self, temp: str, container_format: str, info: VideoInfo, source, source_stream, encoder: dict):
        av = _av()
        self.info = info
        self.notes: list[str] = []
        self.last_pts: int | None = None
        time_base = _encoder_time_base(container_format, source_stream)
        try:
            self._open(temp, container_format, source_stream, encoder, time_base)
        except av.FFmpegError:
            if time_base is None:
                raise
            # Some encoders (MPEG-2, H.263, MPEG-4 part 2) take only standard or small time bases.
            self.abandon()
            self._open(temp, container_format, source_stream, encoder, None)
            self.notes.append(f"time stamps rounded to 1/{info.frame_rate} s ({self.settings.codec} cannot take "
                              f"the source's time base {time_base})")
        self.copied: dict[int, object] = {}
        self.transcoded: dict[int, object] = {}
        out = self.container
        for key, value in source.metadata.items():
            if key not in ("major_brand", "minor_version", "compatible_brands", "encoder", "creation_time"):
                out.metadata[key] = value
        for kind in ("audio", "subtitles"):
            for template in getattr(source.streams, kind):
                self._add_copy(template, kind)

    def _open(self, temp: str, container_format: str, source_stream, encoder: dict, time_base) -> None:
        """The container and its video encoder, opened (so a time base the encoder refuses fails here)."""
        av, info = _av(), self.info
        self.container = out = av.open(temp, "w", format=container_format)
        self.settings = choose_encoder(info, container_format, out.supported_codecs, **encoder)
        extra = {} if time_base is None else {"time_base": time_base}
        stream = out.add_stream(self.settings.codec, rate=info.frame_rate, options=dict(self.settings.options),
                                **extra)
        stream.width, stream.height, stream.pix_fmt = info.width, info.height, self.settings.pix_fmt
        stream.time_base = time_base or source_stream.time_base
        if source_stream.sample_aspect_ratio:
            stream.codec_context.sample_aspect_ratio = source_stream.sample_aspect_ratio
        if self.settings.bit_rate:
            stream.codec_context.bit_rate = int(self.settings.bit_rate)
        for name, value in info.color.items():
            setattr(stream.codec_context, name, value)
        if info.rotation:
            stream.set_display_rotation(info.rotation)
        self.video = stream
        stream.codec_context.open()
        self.time_base = stream.codec_context.time_base

    def _add_copy(self, template, kind: str) -> None:
        av = _av()
        name = template.codec_context.name
        if name in self.container.supported_codecs:
            self.copied[template.index] = self.container.add_stream_from_template(template)
            self.notes.append(f"{kind} {name} copied")
        elif kind == "audio":
            codec = self.container.default_audio_codec
            codec = {"opus": "libopus", "none": "aac"}.get(codec, codec)
            rates = av.Codec(codec, "w").audio_rates
            rate = template.codec_context.sample_rate
            if rates and rate not in rates:
                rate = 48000 if 48000 in rates else rates[0]
            self.transcoded[template.index] = self.container.add_stream(codec, rate=rate,
                                                                        layout=template.codec_context.layout)
            self.notes.append(f"audio {name} re-encoded to {codec} ({self.container.format.name} cannot hold {name})")
        else:
            warnings.warn(f"subtitle stream {name} dropped: {self.container.format.name} cannot hold it", stacklevel=4)
        target = self.copied.get(template.index) or self.transcoded.get(template.index)
        if target is not None and template.language:
            target.metadata["language"] = template.language

    def mux_other(self, packet) -> None:
        if packet.stream.index in self.copied:
            if packet.dts is None:  # the demuxer's end-of-stream marker
                return
            packet.stream = self.copied[packet.stream.index]
            self.container.mux(packet)
        elif packet.stream.index in self.transcoded:
            target = self.transcoded[packet.stream.index]
            for frame in packet.decode():
                frame.pts = None
                self.container.mux(target.encode(frame))

    def write(self, frame, pts: int | None, time_base, index: int, duration: int = 0) -> None:
        """Encode `frame` at the source's `pts` (in `time_base`), kept exactly when the encoder has that time base."""
        tick = self.time_base
        if pts is None or not time_base:  # no time stamp: one frame period after the last
            step = max(1, round(1 / (self.info.frame_rate * tick)))
            pts, duration = (0 if self.last_pts is None else self.last_pts + step), 0
        elif Fraction(time_base) != tick:
            scale = Fraction(time_base) / tick
            pts, duration = round(pts * scale), round(duration * scale)
        if self.last_pts is not None and pts <= self.last_pts:  # two frames on one tick (or a broken file)
            pts = self.last_pts + 1
        frame.pts, frame.time_base, frame.duration = pts, tick, max(0, int(duration or 0))
        self.last_pts = pts
        self.container.mux(self.video.encode(frame))

    def close(self) -> None:
        self.container.mux(self.video.encode(None))
        for target in self.transcoded.values():
            self.container.mux(target.encode(None))
        self.container.close()
        self.container = None

    def abandon(self) -> None:
        """Close after an error; the temporary file is removed by atomic_write."""
        if self.container is not None:
            try:
                self.container.close()
            except Exception:  # noqa: BLE001 - already failing; the first error is the one to report
                pass
            self.container = None


def _from_rgb(rgb: np.ndarray, rgb_format: str, pix_fmt: str, color: dict):
    av = _av()
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format=rgb_format)
    out = frame.reformat(format=pix_fmt, dst_colorspace=color.get("colorspace") or None,
                         dst_color_range=color.get("color_range") or None, interpolation=_exact(rgb_format))
    for name, value in color.items():
        setattr(out, name, value)
    return out


FrameFunction = Callable[[np.ndarray, int], np.ndarray]


def _check_paths(source: Path, out_path: Path) -> None:
    if out_path.resolve() == source.resolve():
        raise ValueError(f"{out_path}: refusing to write over the input; pick another output")
    if not is_video_path(out_path):
        raise ValueError(f"{out_path}: unknown video output; use one of {', '.join(CONTAINERS)} "
                         "or a numbered image pattern such as frames_%05d.png")


def stream_video(
    path: str | os.PathLike,
    out_path: str | os.PathLike,
    frame_function: FrameFunction | None,
    *,
    codec: str | None = None,
    crf: int | None = None,
    bitrate: int | None = None,
    preset: str | None = None,
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
    codec, crf, bitrate, preset
        Encoder choices, see :func:`choose_encoder`.
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
    VideoReadError, VideoWriteError, OutputExistsError, ValueError
    """
    path, out_path = Path(path), Path(out_path)
    _check_paths(path, out_path)
    info = probe(path)
    if is_image_sequence(out_path):
        if frame_function is None:
            raise ValueError("an image sequence output needs a frame function")
        return None, _write_sequence(path, out_path, info, frame_function, overwrite, progress)
    av = _av()
    encoder = {"codec": codec, "crf": crf, "bitrate": bitrate, "preset": preset}
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
    from .io import write_image

    first = Path(str(pattern) % 1)
    if first.exists() and not overwrite:
        from .exceptions import OutputExistsError

        raise OutputExistsError(f"{first}: exists; pass overwrite=True (--overwrite) to replace it")
    turns = int(round(info.rotation / 90)) % 4
    for frame in iter_frames(path):
        rgb = frame_function(frame.rgb, frame.index)
        write_image(str(pattern) % (frame.index + 1), np.rot90(rgb, turns) if turns else rgb, overwrite=overwrite)
        if progress is not None:
            progress(frame.index + 1, info.n_frames)
    notes = [f"{len(info.audio)} audio stream(s) dropped: an image sequence has no audio"] if info.audio else []
    return notes
