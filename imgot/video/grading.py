"""Grade a video clip toward a reference image, without flicker by construction.

Matching each frame on its own flickers: every frame gets a slightly different
map. Here the map belongs to the clip, not the frame:

- by default one :class:`~imgot.mapping.ColorLUT` for the whole clip, fitted
  on a pooled sample of pixels from all its frames;
- with ``per_shot=True`` one per shot (cuts found from color histograms),
  switching exactly at the cut, or cross-faded over ``crossfade`` frames;
- with ``smooth=SECONDS`` maps fitted on windows of about that length and
  interpolated linearly in between, for clips whose content drifts.

Every frame then goes through the same per-pixel LUT step as
:func:`imgot.transfer.apply_lut_to_image`, which is deterministic per frame.
Decoding and encoding stream one frame at a time (:mod:`imgot.video.streaming`).
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from .. import fused
from ..mapping import ColorLUT
from ..transfer import ColorTransfer, apply_lut_to_image
from ..validation import renamed
from .encoding import EncoderChoice, EncoderSettings, check_encoder
from .reading import Frame, iter_frames, probe
from .shots import sample_clip
from .streaming import stream_video
from .yuvlut import YUV420LUT

__all__ = ["ClipGrade", "VideoResult", "apply_lut_video", "fit_video", "iter_graded_frames", "transfer_video"]

Progress = Callable[[str, int, int], None]


@dataclass
class ClipGrade:
    """The color maps of a clip and which frames use which.

    Attributes
    ----------
    luts : list of ColorLUT
        The fitted maps, in time order.
    anchors : ndarray of shape (len(luts),)
        The frame (fractional) where each map applies fully.
    shot_of : ndarray of shape (len(luts),)
        The shot of each map.
    cuts : tuple of int
        Frames that start a new shot (empty unless fitted per shot).
    n_frames : int
    crossfade : int
        Frames over which the maps of two shots are blended at a cut (0: switch at the cut).
    preserve_detail, preserve_luminance : bool
        The per-pixel finishing steps of the model.
    bake : bool
        Tabulate each unblended map for every 8-bit color when first used
        (:meth:`ColorLUT.bake`, bit-identical, about 3x faster per frame);
        one baked copy (64 MB) is kept at a time.
    saturation, protect_skin : float
        The model's color intensity and skin protection (per pixel, after the map).
    """

    luts: list[ColorLUT]
    anchors: np.ndarray
    shot_of: np.ndarray
    cuts: tuple[int, ...] = ()
    n_frames: int = 0
    crossfade: int = 0
    preserve_detail: bool = False
    preserve_luminance: bool = False
    bake: bool = False
    saturation: float = 1.0
    protect_skin: float = 0.0
    _cache: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __getstate__(self) -> dict:
        # Picklable for pipelines that fit once and grade in other processes: no lock, no cached tables.
        state = dict(self.__dict__)
        state["_cache"], state["_lock"] = {}, None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def _shot(self, index: int) -> int:
        return int(np.searchsorted(self.cuts, index, side="right"))

    def _within_shot(self, index: float, shot: int) -> list[tuple[int, float]]:
        """(map, weight) pairs interpolating the maps of `shot` at frame `index`."""
        members = np.flatnonzero(self.shot_of == shot)
        where = self.anchors[members]
        if index <= where[0] or len(members) == 1:
            return [(int(members[0]), 1.0)]
        if index >= where[-1]:
            return [(int(members[-1]), 1.0)]
        right = int(np.searchsorted(where, index, side="right"))
        t = float((index - where[right - 1]) / (where[right] - where[right - 1]))
        return [(int(members[right - 1]), 1.0 - t), (int(members[right]), t)]

    def weights(self, index: int) -> list[tuple[int, float]]:
        """Which maps frame `index` uses, with their weights (summing to 1).

        Examples
        --------
        >>> identity = ColorLUT(np.stack(np.meshgrid(*[np.linspace(0, 1, 2)] * 3, indexing="ij"), -1))
        >>> grade = ClipGrade([identity, identity], np.array([0.0, 9.0]), np.array([0, 0]), n_frames=10)
        >>> grade.weights(3)
        [(0, 0.6666666666666667), (1, 0.3333333333333333)]
        """
        shot = self._shot(index)
        pairs = self._within_shot(index, shot)
        half = self.crossfade / 2
        for cut_shot, cut in enumerate(self.cuts, start=1):
            if self.crossfade and cut - half <= index < cut + half:
                t = (index - (cut - half) + 0.5) / self.crossfade  # share of the next shot
                before = self._within_shot(cut - 1, cut_shot - 1)
                after = self._within_shot(cut, cut_shot)
                pairs = [(m, w * (1 - t)) for m, w in before] + [(m, w * t) for m, w in after]
        return [(m, float(w)) for m, w in pairs if w > 0]

    def lut_at(self, index: int) -> ColorLUT:
        """The map of frame `index` (one of :attr:`luts`, or their blend); safe to call from several threads."""
        with self._lock:  # frames are graded two at a time: one baked or blended table is made once
            return self._lut_at(index)

    def _lut_at(self, index: int) -> ColorLUT:
        pairs = self.weights(index)
        key: tuple
        if len(pairs) == 1:
            if not self.bake:
                return self.luts[pairs[0][0]]
            key = ("baked", pairs[0][0])
            if key not in self._cache:
                self._cache.clear()
                self._cache[key] = ColorLUT(self.luts[pairs[0][0]].table).bake()
            return self._cache[key]
        key = tuple((m, round(w, 9)) for m, w in pairs)
        if key not in self._cache:
            self._cache.clear()  # consecutive frames rarely share a blend; keep one
            self._cache[key] = ColorLUT(np.asarray(sum(w * self.luts[m].table for m, w in pairs)))
        return self._cache[key]

    def grade(self, rgb: np.ndarray, index: int) -> np.ndarray:
        """Grade frame `index`'s RGB pixels with its map and the per-pixel finishing steps."""
        if self.preserve_detail and self.n_frames > 1:
            fused.expect_many()  # many frames: the detail step's compiled kernel pays for its loading
        return apply_lut_to_image(self.lut_at(index), rgb, preserve_detail=self.preserve_detail,
                                  preserve_luminance=self.preserve_luminance, saturation=self.saturation,
                                  protect_skin=self.protect_skin)

    @property
    def per_pixel(self) -> bool:
        """Whether frames need per-pixel steps after the LUT (not the YUV tables)."""
        return bool(self.preserve_detail or self.preserve_luminance or self.saturation != 1.0
                    or self.protect_skin > 0)


def _clip_lut(model: ColorTransfer, sample: np.ndarray) -> ColorLUT:
    """The model's LUT for the pooled sample; with detail, the LUT of the map before the detail step.

    Its table only: every frame interpolates it (and its unclipped table), as the
    blended and baked LUTs of a clip do; the per-pixel exact map of the linear
    methods costs too much per frame.
    """
    try:
        lut = model.color_lut(sample)
    except ValueError:
        if not model.preserve_detail:
            raise
        plain = copy.copy(model)  # the fitted state is shared, only the flag differs
        plain.preserve_detail = False
        lut = plain.color_lut(sample)
    return ColorLUT(lut.table, extended=lut.extended)


def _anchors(first: int, stop: int, times: np.ndarray, smooth: float | None) -> list[tuple[float, int, int]]:
    """(anchor frame, window first, window stop) of each map in one shot."""
    if smooth is None:
        return [((first + stop - 1) / 2, first, stop)]
    span = times[stop - 1] - times[first]
    count = max(1, int(round(span / smooth)) + 1)
    centers = np.linspace(times[first], times[stop - 1], count)
    out = []
    for center in centers:
        inside = np.flatnonzero(np.abs(times[first:stop] - center) <= smooth) + first
        anchor = first + int(np.argmin(np.abs(times[first:stop] - center)))
        out.append((float(anchor), int(inside[0]), int(inside[-1]) + 1))
    return out


def _reference_pixels(reference):
    if isinstance(reference, (str, os.PathLike)):
        from ..io import load_image

        return load_image(reference).pixels
    return reference


def fit_video(
    path: str | os.PathLike,
    reference,
    *,
    per_shot: bool = False,
    smooth: float | None = None,
    crossfade: int = 0,
    shot_threshold: float = 0.4,
    progress: Progress | None = None,
    **params,
) -> ClipGrade:
    """Fit the color maps of a clip toward `reference` (one pass over the clip).

    Parameters
    ----------
    path : str or path-like
        The clip.
    reference : ndarray, PIL image, str or path-like
        The image whose colors to take (a path is read with :func:`imgot.load_image`).
    per_shot : bool, default False
        One map per shot instead of one for the clip.
    smooth : float or None, default None
        Seconds: fit maps on windows of about this length and interpolate
        between them, so the map follows slow drifts of the content.
    crossfade : int, default 0
        With `per_shot`, blend the two shots' maps over this many frames
        around each cut; 0 switches exactly at the cut.
    shot_threshold : float in (0, 1), default 0.4
        Color-histogram distance between consecutive frames that makes a cut.
    progress : callable ``(stage, done, total)``, optional
    **params
        :class:`imgot.ColorTransfer` parameters (``method``, ``strength``,
        ``preserve_luminance``, ``preserve_detail``, ``random_state``...). The method
        must be a LUT method (not ``'histogram'`` or a composite).

    Returns
    -------
    ClipGrade

    Raises
    ------
    ValueError
        For bad parameters or a method that is not one LUT.
    VideoReadError
        If the clip cannot be decoded.

    Examples
    --------
    >>> fit_video("missing.mp4", np.zeros((4, 4, 3), np.uint8), smooth=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: smooth must be a positive number of seconds, got -1.0
    """
    if smooth is not None and not smooth > 0:
        raise ValueError(f"smooth must be a positive number of seconds, got {smooth!r}")
    if crossfade < 0 or int(crossfade) != crossfade:
        raise ValueError(f"crossfade must be a whole number of frames >= 0, got {crossfade!r}")
    if crossfade and not per_shot:
        raise ValueError("crossfade blends the maps of two shots: it needs per_shot=True")
    model = ColorTransfer(**params).fit(_reference_pixels(reference))
    if progress is not None:
        progress("analysing", 0, 0)
    sample = sample_clip(path, threshold=shot_threshold, random_state=model.random_state)
    cuts = sample.cuts if per_shot else ()
    bounds = [0, *cuts, sample.n_frames]
    luts, anchors, shot_of = [], [], []
    plans = [(shot, a) for shot, (first, stop) in enumerate(zip(bounds[:-1], bounds[1:]))
             for a in _anchors(first, stop, sample.times, smooth)]
    for done, (shot, (anchor, first, stop)) in enumerate(plans):
        luts.append(_clip_lut(model, sample.pooled(first, stop)))
        anchors.append(anchor)
        shot_of.append(shot)
        if progress is not None:
            progress("fitting", done + 1, len(plans))
    return ClipGrade(luts, np.asarray(anchors), np.asarray(shot_of), tuple(cuts), sample.n_frames, int(crossfade),
                     bool(model.preserve_detail), bool(model.preserve_luminance), saturation=float(model.saturation),
                     protect_skin=float(model.protect_skin))


@dataclass
class VideoResult:
    """What :func:`transfer_video` did: the maps, the encoder, the other streams."""

    grade: ClipGrade | None
    encoder: EncoderSettings | None
    notes: list[str]


def _yuv420_route(luts: list[ColorLUT], which: Callable[[int], int | None], info) -> Callable:
    """Grade 8-bit 4:2:0 frames without RGB (:class:`imgot.video.yuvlut.YUV420LUT`), one table kept at a time.

    `which(index)` is the map of frame `index`, or None where it needs the RGB route (blends, detail).
    """
    full = info.color.get("color_range") == 2 or info.pix_fmt == "yuvj420p"
    cache: dict = {}
    lock = threading.Lock()

    def run(planes: np.ndarray, index: int) -> np.ndarray | None:
        map_index = which(index)
        if map_index is None:
            return None
        with lock:  # called from the grading threads: each table is built once
            if map_index not in cache:
                cache.clear()
                cache[map_index] = YUV420LUT(luts[map_index], info.color.get("colorspace", 2), full)
            table = cache[map_index]
        return table.apply(planes, info.width, info.height)

    return run


def _pure_map(grade: ClipGrade) -> Callable[[int], int | None]:
    def which(index: int) -> int | None:
        pairs = grade.weights(index)
        return pairs[0][0] if len(pairs) == 1 and not grade.per_pixel else None

    return which


def _worth_baking(path, frames_per_map: float) -> bool:
    """Whether tabulating a map for all 2**24 colors (or YUV codes) pays: 8-bit frames, and enough of them.

    Baking (or building the YUV tables) costs about as much as mapping 8
    two-megapixel frames: it pays from about 24 such frames' worth of pixels
    per map, whatever the frame size (so never on a short thumbnail clip).
    """
    info = probe(path)
    return frames_per_map * info.width * info.height >= 24 * 1920 * 1080 and info.bit_depth == 8


def _encode_progress(progress: Progress | None):
    return None if progress is None else (lambda done, total: progress("grading", done, total))


def transfer_video(
    path: str | os.PathLike,
    reference,
    out_path: str | os.PathLike,
    *,
    per_shot: bool = False,
    smooth: float | None = None,
    crossfade: int = 0,
    shot_threshold: float = 0.4,
    codec: str | None = None,
    crf: int | None = None,
    bitrate: int | None = None,
    preset: str | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    **params,
) -> VideoResult:
    """Grade the clip at `path` toward `reference` and write it to `out_path`.

    Two passes over the clip, one frame in memory at a time: the first
    samples it and fits the maps (:func:`fit_video`), the second grades and
    encodes (:func:`imgot.video.stream_video`), keeping time stamps,
    rotation, color metadata, audio and subtitles.

    Parameters
    ----------
    path : str or path-like
        The input clip; never written to.
    reference : ndarray, PIL image, str or path-like
    out_path : str or path-like
        ``.mp4``, ``.mov``, ``.mkv``, ``.webm``, ``.avi``, or an image
        sequence pattern such as ``frames_%05d.png``.
    per_shot, smooth, crossfade, shot_threshold
        See :func:`fit_video`.
    codec, crf, bitrate, preset
        Encoder choices (default: the source's codec family), see
        :func:`imgot.video.choose_encoder` (they travel as one :class:`EncoderChoice`).
    overwrite : bool, default False
    progress : callable ``(stage, done, total)``, optional
    **params
        :class:`imgot.ColorTransfer` parameters.

    Returns
    -------
    VideoResult

    Examples
    --------
    >>> transfer_video(__file__, np.zeros((4, 4, 3), np.uint8), __file__)
    Traceback (most recent call last):
    ...
    imgot.exceptions.InputOverwriteError: ... is an input; refusing to write over it (pick another output)
    """
    encoder = EncoderChoice(codec, crf, bitrate, preset)
    check_encoder(path, out_path, encoder)  # fail before fitting
    grade = fit_video(path, reference, per_shot=per_shot, smooth=smooth, crossfade=crossfade,
                      shot_threshold=shot_threshold, progress=progress, **params)
    grade.bake = _worth_baking(path, grade.n_frames / len(grade.luts))
    yuv = _yuv420_route(grade.luts, _pure_map(grade), probe(path)) if grade.bake else None
    settings, notes = stream_video(path, out_path, grade.grade, encoder=encoder, overwrite=overwrite,
                                   progress=_encode_progress(progress), yuv420_function=yuv)
    return VideoResult(grade, settings, notes)


def apply_lut_video(
    lut: ColorLUT,
    path: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    codec: str | None = None,
    crf: int | None = None,
    bitrate: int | None = None,
    preset: str | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    preserve_detail: bool = False,
    preserve_luminance: bool = False,
    saturation: float = 1.0,
    protect_skin: float = 0.0,
    **deprecated,
) -> VideoResult:
    """Map every frame of a clip through `lut` (e.g. a ``.cube`` read with :func:`imgot.cube.read_cube`).

    Parameters are those of :func:`transfer_video`; one pass over the clip.
    `preserve_detail`, `preserve_luminance`, `saturation` and `protect_skin` add the
    per-pixel finishing steps a LUT cannot hold: with the ``.cube`` that ``imgot transfer --save-lut``
    wrote for a clip and the transfer's own flags, the frames are the
    transfer's.

    Examples
    --------
    >>> identity = ColorLUT(np.stack(np.meshgrid(*[np.linspace(0, 1, 2)] * 3, indexing="ij"), -1))
    >>> apply_lut_video(identity, "clip.mp4", "graded.txt")
    Traceback (most recent call last):
    ...
    ValueError: graded.txt: unknown video output; use one of .mp4, .m4v, .mov, .mkv, .webm, .avi or a numbered image pattern such as frames_%05d.png
    """
    preserve_detail = renamed("apply_lut_video", deprecated).get("preserve_detail", preserve_detail)
    encoder = EncoderChoice(codec, crf, bitrate, preset)
    check_encoder(path, out_path, encoder)
    info = probe(path)
    yuv = None
    grade = ClipGrade([lut], np.zeros(1), np.zeros(1, int), n_frames=info.n_frames,
                      preserve_detail=bool(preserve_detail), preserve_luminance=bool(preserve_luminance),
                      saturation=float(saturation), protect_skin=float(protect_skin))
    per_pixel = grade.per_pixel
    if _worth_baking(path, info.n_frames):
        if not per_pixel:
            yuv = _yuv420_route([lut], lambda index: 0, info)
        if per_pixel or info.pix_fmt not in ("yuv420p", "yuvj420p"):
            grade.luts = [ColorLUT(lut.table).bake()]  # the RGB route serves every frame
    settings, notes = stream_video(path, out_path, grade.grade, encoder=encoder, overwrite=overwrite,
                                   progress=_encode_progress(progress), yuv420_function=yuv)
    return VideoResult(None, settings, notes)


def iter_graded_frames(path: str | os.PathLike, grade: ClipGrade) -> Iterator[Frame]:
    """Decode and grade a clip one frame at a time, for pipelines (nothing is written).

    Parameters
    ----------
    path : str or path-like
    grade : ClipGrade
        From :func:`fit_video` on the same clip.

    Yields
    ------
    Frame
        ``(index, time, rgb)`` with the graded pixels.
    """
    for frame in iter_frames(path):
        yield Frame(frame.index, frame.time, grade.grade(frame.rgb, frame.index))
