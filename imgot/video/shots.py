"""One pass over a clip: shot cuts and a small pixel sample of every frame.

The sample is what the clip's color maps are fitted on: a few hundred pixels
of each frame (point-sampled from a thumbnail, so real pixel colors, not
averages), stored per frame so that any span of the clip (the whole clip, a
shot, a window around a time) can be pooled. Its size is capped in total, so
memory does not grow with the clip's length.

Cuts are found from the distance between the coarse color histograms of
consecutive frames (half the L1 distance between normalized 8x8x8 RGB
histograms, in [0, 1]): a cut changes most colors at once, a pan or zoom a
few at a time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .reading import _decode, _exact, _open_input, probe

__all__ = ["ClipSample", "histogram_distance", "sample_clip"]

_THUMB_WIDTH = 128
_TOTAL_PIXELS = 400_000
_BINS = 8


def _histogram(rgb: np.ndarray) -> np.ndarray:
    shift = 8 - 3 if rgb.dtype == np.uint8 else 16 - 3
    codes = rgb.reshape(-1, 3).astype(np.intp) >> shift
    flat = (codes[:, 0] * _BINS + codes[:, 1]) * _BINS + codes[:, 2]
    counts = np.bincount(flat, minlength=_BINS**3).astype(np.float64)
    return counts / counts.sum()


def histogram_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Half the L1 distance between the 8x8x8 color histograms of two RGB images, in [0, 1].

    Parameters
    ----------
    a, b : ndarray of shape (H, W, 3), uint8 or uint16

    Returns
    -------
    float
        0 for the same colors in any arrangement, 1 for disjoint colors.

    Examples
    --------
    >>> black, white = np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 255, np.uint8)
    >>> histogram_distance(black, black), histogram_distance(black, white)
    (0.0, 1.0)
    """
    return float(0.5 * np.abs(_histogram(a) - _histogram(b)).sum())


@dataclass
class ClipSample:
    """Pixel samples and timing of every frame of a clip, and its shot cuts.

    Attributes
    ----------
    pixels : ndarray of shape (N, 3)
        The samples of all frames, frame after frame; uint8 or uint16.
    offsets : ndarray of shape (n_frames + 1,)
        Frame ``i``'s samples are ``pixels[offsets[i]:offsets[i + 1]]``.
    times : ndarray of shape (n_frames,)
        Time of each frame, in seconds.
    distances : ndarray of shape (n_frames,)
        Histogram distance of each frame to the previous one (0 for the first).
    cuts : tuple of int
        Frames that start a new shot (never 0), found with `threshold`.
    """

    pixels: np.ndarray
    offsets: np.ndarray
    times: np.ndarray
    distances: np.ndarray
    cuts: tuple[int, ...]

    @property
    def n_frames(self) -> int:
        return len(self.times)

    def shots(self) -> list[tuple[int, int]]:
        """``(first, stop)`` frame ranges of the shots."""
        bounds = [0, *self.cuts, self.n_frames]
        return list(zip(bounds[:-1], bounds[1:]))

    def pooled(self, first: int, stop: int) -> np.ndarray:
        """The samples of frames ``first .. stop - 1`` as one (1, N, 3) image."""
        return self.pixels[self.offsets[first] : self.offsets[stop]][None]


def find_cuts(distances: np.ndarray, threshold: float, min_length: int) -> tuple[int, ...]:
    """Frames whose distance to the previous one exceeds `threshold`, at least `min_length` apart.

    >>> find_cuts(np.array([0, .1, .9, .1, .8, .1]), 0.5, 2)
    (2, 4)
    """
    cuts: list[int] = []
    for index in np.flatnonzero(np.asarray(distances) > threshold):
        if index > 0 and index - (cuts[-1] if cuts else 0) >= min_length:
            cuts.append(int(index))
    return tuple(cuts)


def sample_clip(
    path: str | os.PathLike,
    *,
    threshold: float = 0.4,
    min_shot: float = 0.4,
    random_state: int | None = 0,
) -> ClipSample:
    """Decode a clip once and sample its frames' pixels and shot cuts.

    Parameters
    ----------
    path : str or path-like
    threshold : float in (0, 1), default 0.4
        Histogram distance between consecutive frames above which a new shot starts.
    min_shot : float, default 0.4
        Shortest shot, in seconds: a flash does not make two cuts.
    random_state : int or None, default 0
        Seed of the pixel sampling.

    Returns
    -------
    ClipSample

    Raises
    ------
    VideoReadError
        If the clip cannot be decoded.
    ValueError
        If `threshold` is not in (0, 1).
    """
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")
    path = Path(path)
    info = probe(path)
    per_frame = int(np.clip(_TOTAL_PIXELS // max(info.n_frames, 1), 16, 1024))
    width = min(_THUMB_WIDTH, info.width)
    height = max(2, round(info.height * width / info.width))
    rng = np.random.default_rng(random_state)
    samples, times, distances, offsets = [], [], [], [0]
    previous = None
    # Point sampling keeps real pixel colors, converted as the graded frames are (or the sample is
    # ~1.3 levels darker than the frames and the fit compensates for it).
    flags = _exact(info.rgb_format, "POINT")
    with _open_input(path) as (container, stream):
        rate = float(stream.average_rate or info.frame_rate)
        for index, frame in enumerate(_decode(path, container, stream)):
            thumb = frame.reformat(width=width, height=height, format=info.rgb_format, interpolation=flags,
                                   src_color_range=frame.color_range or None).to_ndarray()
            flat = thumb.reshape(-1, 3)
            samples.append(flat[rng.choice(flat.shape[0], min(per_frame, flat.shape[0]), replace=False)])
            offsets.append(offsets[-1] + samples[-1].shape[0])
            times.append(float(frame.time) if frame.time is not None else index / rate)
            distances.append(0.0 if previous is None else histogram_distance(previous, thumb))
            previous = thumb
    steps = np.asarray(distances)
    cuts = find_cuts(steps, threshold, max(1, round(min_shot * rate)))
    return ClipSample(np.concatenate(samples), np.asarray(offsets), np.asarray(times), steps, cuts)
