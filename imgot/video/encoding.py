"""Choosing and running the video encoder: the user's choices, the encoder they give, the output container.

The encoder keeps the source's codec family and pixel format where it can
(so 10 bits stay 10 bits); the output keeps frame rate and time stamps, the
rotation (display matrix), color metadata (primaries, transfer, matrix,
range), audio and subtitle streams (packets copied where the container takes
their codec, audio re-encoded otherwise).
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..atomic import refuse_inputs
from .reading import CONTAINERS, VideoInfo, _av, _bit_depth, _exact, is_image_sequence, is_video_path, probe

__all__ = ["EncoderChoice", "EncoderSettings", "check_encoder", "choose_encoder"]

# The encoder of each source codec family, and the default of each container.
_FAMILY = {
    "h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9", "vp8": "libvpx", "av1": "libsvtav1",
    "prores": "prores_ks", "mpeg4": "mpeg4", "mjpeg": "mjpeg", "dnxhd": "dnxhd", "ffv1": "ffv1",
}
_CONTAINER_DEFAULT = {"webm": "libvpx-vp9"}
_CRF = {"libx264": 18, "libx265": 20, "libvpx-vp9": 31, "libvpx": 10, "libsvtav1": 30}
_PRESET = {"libx264": "medium", "libx265": "medium", "libsvtav1": "8"}


class EncoderChoice(NamedTuple):
    """The user's encoder choices for a video output; None leaves each to :func:`choose_encoder`.

    Attributes
    ----------
    codec : str or None
        Encoder name (``'libx264'``, ``'libx265'``, ``'prores_ks'``, ...).
    crf : int or None
        Constant rate factor (lower is better); one of `crf` and `bitrate`.
    bitrate : int or None
        Target bit rate in bits/s.
    preset : str or None
        Encoder speed preset (``'ultrafast'`` .. ``'veryslow'`` for libx264).

    Examples
    --------
    >>> EncoderChoice(crf=16).given
    True
    """

    codec: str | None = None
    crf: int | None = None
    bitrate: int | None = None
    preset: str | None = None

    @property
    def given(self) -> bool:
        """Whether any choice is made."""
        return any(value is not None for value in self)


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
    encoder: EncoderChoice | None = None,
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
    encoder : EncoderChoice, optional
        The user's choices (default: none; each one then follows the source).

    Raises
    ------
    ValueError
        For an unknown encoder, one the container does not take, both `crf`
        and `bitrate`, or a `crf`/`preset` the encoder does not have.
    """
    av = _av()
    codec, crf, bitrate, preset = encoder or EncoderChoice()
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
    encoder: EncoderChoice | None = None,
) -> EncoderSettings | None:
    """The encoder :func:`imgot.video.stream_video` would choose, checked before any frame is graded.

    Returns None for an image sequence output (no encoder).

    Raises
    ------
    ValueError
        For a bad output name or encoder choice (see :func:`choose_encoder`).
    InputOverwriteError
        If `out_path` is `path` (through any name or link).
    VideoReadError
        If `path` is not a readable video.
    """
    path, out_path = Path(path), Path(out_path)
    _check_paths(path, out_path)
    info = probe(path)
    if is_image_sequence(out_path):
        if encoder is not None and encoder.given:
            raise ValueError("codec, crf, bitrate and preset are for video files, not image sequences")
        return None
    container_format = CONTAINERS[out_path.suffix.lower()]
    with _av().open(io.BytesIO(), "w", format=container_format) as probe_out:
        supported = probe_out.supported_codecs
    return choose_encoder(info, container_format, supported, encoder)


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

    def __init__(self, temp: str, container_format: str, info: VideoInfo, source, source_stream, encoder: EncoderChoice):
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
        self.copied: dict[int, Any] = {}  # PyAV output streams, by the source stream's index
        self.transcoded: dict[int, Any] = {}
        out = self.container
        for key, value in source.metadata.items():
            if key not in ("major_brand", "minor_version", "compatible_brands", "encoder", "creation_time"):
                out.metadata[key] = value
        for kind in ("audio", "subtitles"):
            for template in getattr(source.streams, kind):
                self._add_copy(template, kind)

    def _open(self, temp: str, container_format: str, source_stream, encoder: EncoderChoice, time_base) -> None:
        """The container and its video encoder, opened (so a time base the encoder refuses fails here)."""
        av, info = _av(), self.info
        self.container = out = av.open(temp, "w", format=container_format)
        self.settings = choose_encoder(info, container_format, out.supported_codecs, encoder)
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


def _check_paths(source: Path, out_path: Path) -> None:
    """The output is not the input (device and inode) and names a video file or an image sequence."""
    refuse_inputs([out_path], [source])
    if not is_video_path(out_path):
        raise ValueError(f"{out_path}: unknown video output; use one of {', '.join(CONTAINERS)} "
                         "or a numbered image pattern such as frames_%05d.png")
