"""The video side of ``imgot transfer`` and ``imgot apply``: options, progress line, and the two runs.

The commands stay image commands; when their input is a video they hand over
to :func:`transfer_video` or :func:`apply_video` here. Nothing heavy is
imported until a video is actually graded.
"""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path

import click

ENCODER_KEYS = ("codec", "crf", "bitrate", "preset")
GRADING_KEYS = ("per_shot", "smooth", "crossfade", "shot_threshold")


def _bitrate(ctx, param, value: str | None) -> int | None:
    """``8M``, ``2500k`` or ``800000`` as bits per second."""
    if value is None:
        return None
    text = value.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    try:
        number = float(text[:-1] if scale != 1 else text)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a bit rate such as 8M or 2500k") from None
    if not number > 0:
        raise click.BadParameter(f"{value!r} must be positive")
    return int(number * scale)


_ENCODER_OPTIONS = [
    click.option("--codec", default=None, metavar="NAME",
                 help="Video: encoder (libx264, libx265, libvpx-vp9, prores_ks, ...). [default: the source's family]"),
    click.option("--crf", type=click.IntRange(0, 63), default=None,
                 help="Video: constant rate factor (lower is better). [default: 18 for libx264]"),
    click.option("--bitrate", callback=_bitrate, default=None, metavar="RATE",
                 help="Video: target bit rate, e.g. 8M or 2500k (instead of --crf)."),
    click.option("--preset", default=None, metavar="NAME",
                 help="Video: encoder speed preset (libx264/libx265: ultrafast .. veryslow). [default: medium]"),
]
_GRADING_OPTIONS = [
    click.option("--per-shot", is_flag=True, help="Video: one color map per shot (cuts found automatically)."),
    click.option("--smooth", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
                 help="Video: let the map follow the content, fitted on windows of SECONDS and interpolated."),
    click.option("--crossfade", type=click.IntRange(min=0), default=0, show_default=True, metavar="FRAMES",
                 help="Video, with --per-shot: blend the maps of two shots over FRAMES at each cut."),
    click.option("--shot-threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.4,
                 show_default=True, help="Video: color-histogram change between frames that makes a cut."),
]


def _gather(keys: tuple[str, ...], options: list):
    """Add `options` to a command and pass their values as one ``video`` dict."""

    def decorate(command):
        @functools.wraps(command)
        def run(*args, **kwargs):
            video = dict(kwargs.pop("video", {}))
            video.update({key: kwargs.pop(key) for key in keys})
            return command(*args, video=video, **kwargs)

        for option in reversed(options):
            run = option(run)
        return run

    return decorate


encoder_options = _gather(ENCODER_KEYS, _ENCODER_OPTIONS)
grading_options = _gather(GRADING_KEYS, _GRADING_OPTIONS)


def is_video(path: Path) -> bool:
    from ..video.reading import is_video_file

    return is_video_file(path)


def refuse_for_images(video: dict) -> None:
    """Video-only options given for an image: a usage error (exit 2)."""
    defaults = {"crossfade": 0, "shot_threshold": 0.4, "per_shot": False}
    given = [key for key, value in video.items() if value is not None and value != defaults.get(key, None)]
    if given:
        names = ", ".join("--" + key.replace("_", "-") for key in given)
        raise click.UsageError(f"{names}: only for a video input")


class Progress:
    """A one-line progress display on stderr: stage, frames, fps and ETA (only on a terminal)."""

    def __init__(self, stream=None, *, every: float = 0.25):
        self.stream = stream or sys.stderr
        self.every = every
        self.start = time.perf_counter()
        self.shown = 0.0
        self.stage: str | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if stage != self.stage:
            self.stage, self.start = stage, now
        if now - self.shown < self.every and done != total:
            return
        self.shown = now
        rate = done / (now - self.start) if now > self.start else 0.0
        line = f"{stage} {done}" + (f"/{total}" if total else "")
        if stage == "grading":
            line += f" frames {rate:5.1f} fps"
            if total and rate > 0 and done < total:
                eta = int((total - done) / rate)
                line += f" ETA {eta // 60}:{eta % 60:02d}"
        self.stream.write("\r" + line.ljust(60))
        self.stream.flush()

    def close(self) -> None:
        if self.stage is not None:
            self.stream.write("\n")


def _progress() -> Progress | None:
    return Progress() if sys.stderr.isatty() else None


def check_encoder(source: Path, output: Path, video: dict) -> None:
    """Bad encoder choices are bad option values (exit 2), found before any work."""
    from ..exceptions import ImgotError
    from ..video.encoding import EncoderChoice, check_encoder
    from .options import fail

    try:
        check_encoder(source, output, EncoderChoice(**{key: video[key] for key in ENCODER_KEYS}))
    except (ImgotError, ImportError) as error:
        raise fail(error) from None
    except ValueError as error:
        raise click.UsageError(str(error)) from None


def _report(result) -> None:
    chosen = result.encoder.describe() if result.encoder else "image sequence"
    click.echo("; ".join([f"encoded with {chosen}", *result.notes]), err=True)


def transfer_video(source: Path, reference: Path, output: Path, save_lut: Path | None, overwrite: bool,
                   video: dict, options: dict, hald_level: int = 8) -> None:
    """``imgot transfer CLIP REF``: grade the clip; also write its .cube (or HaldCLUT) with --save-lut."""
    from ..atomic import check_writable
    from ..cube import cube_title
    from ..hald import write_lut
    from ..exceptions import ImgotError
    from ..video.grading import transfer_video as run
    from .options import fail, lut_note

    if save_lut and (video["per_shot"] or video["smooth"]):
        raise click.UsageError("--save-lut writes one map: not with --per-shot or --smooth")
    check_encoder(source, output, video)
    if save_lut:  # a .cube that cannot be written fails now, not after the whole clip is encoded
        try:
            check_writable(save_lut, overwrite=overwrite, what="LUT", protect=(source, reference))
        except ImgotError as error:
            raise fail(error) from None
    progress = _progress()
    try:
        result = run(source, reference, output, overwrite=overwrite, progress=progress, **video, **options)
        if save_lut and result.grade is not None:  # a transfer always has its grade
            write_lut(save_lut, result.grade.luts[0], title=cube_title("transfer", reference),
                      hald_level=hald_level, overwrite=overwrite, protect=(source, reference))
    except (ImgotError, ValueError, TypeError, ImportError) as error:
        raise fail(error) from None
    finally:
        if progress is not None:
            progress.close()
    _report(result)
    click.echo(str(output))
    if save_lut:
        click.echo(str(save_lut))
        note = lut_note(save_lut, options.get("preserve_detail", False), options.get("preserve_luminance", False),
                        saturation=options.get("saturation", 1.0), protect_skin=options.get("protect_skin", 0.0))
        if note:
            click.echo(note, err=True)


def apply_video(lut, source: Path, output: Path, overwrite: bool, video: dict, *, preserve_detail: bool = False,
                preserve_luminance: bool = False, saturation: float = 1.0, protect_skin: float = 0.0) -> None:
    """``imgot apply LUT CLIP``: map every frame through the LUT, then the per-pixel steps asked for."""
    from ..video.grading import apply_lut_video

    progress = _progress()
    try:
        result = apply_lut_video(lut, source, output, overwrite=overwrite, progress=progress, preserve_detail=preserve_detail,
                                 preserve_luminance=preserve_luminance, saturation=saturation,
                                 protect_skin=protect_skin, **video)
    finally:
        if progress is not None:
            progress.close()
    _report(result)
