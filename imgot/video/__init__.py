"""Grade video clips toward a reference image (needs the ``video`` extra, PyAV).

The package, by stage:

- :mod:`~imgot.video.reading`: probing and decoding clips to RGB frames;
- :mod:`~imgot.video.encoding`: the user's encoder choices
  (:class:`EncoderChoice`) and the encoder they give;
- :mod:`~imgot.video.streaming`: decode, grade and encode one frame at a time;
- :mod:`~imgot.video.shots`: one pass of pixel samples and shot cuts;
- :mod:`~imgot.video.yuvlut`: a LUT tabulated for 8-bit YUV 4:2:0 frames;
- :mod:`~imgot.video.grading`: the clip's color maps and the entry points.

The names below are imported on first use (PEP 562), so that the CLI's
checks of a path (:func:`is_video_file`) do not import the solvers.
"""

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what the lazy names below are, for type checkers
    from .encoding import EncoderChoice, EncoderSettings, check_encoder, choose_encoder
    from .grading import (ClipGrade, VideoResult, apply_lut_video, fit_video, iter_graded_frames,
                          transfer_video)
    from .reading import (CONTAINERS, Frame, VideoInfo, is_image_sequence, is_video_file, is_video_path,
                          iter_frames, probe)
    from .shots import ClipSample, sample_clip
    from .streaming import stream_video
    from .yuvlut import YUV420LUT

# Public name -> the module of this package that defines it.
_EXPORTS = {
    "ClipGrade": "grading",
    "VideoResult": "grading",
    "apply_lut_video": "grading",
    "fit_video": "grading",
    "iter_graded_frames": "grading",
    "transfer_video": "grading",
    "CONTAINERS": "reading",
    "Frame": "reading",
    "VideoInfo": "reading",
    "is_image_sequence": "reading",
    "is_video_file": "reading",
    "is_video_path": "reading",
    "iter_frames": "reading",
    "probe": "reading",
    "EncoderChoice": "encoding",
    "EncoderSettings": "encoding",
    "check_encoder": "encoding",
    "choose_encoder": "encoding",
    "stream_video": "streaming",
    "ClipSample": "shots",
    "sample_clip": "shots",
    "YUV420LUT": "yuvlut",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'imgot.video' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*__all__, "encoding", "grading", "reading", "shots", "streaming", "yuvlut"})
