"""Morphs by displacement interpolation: frames from one image to another.

Two kinds:

- **color** (default): the source recolored at strength t = 0 .. 1. The
  transport is solved once; each frame rebuilds only the 3-D LUT, moving every
  palette color t of the way to its destination.
- **spatial**: each image is a distribution of mass over position and color.
  Superpixel-like k-means in the joint (x, y, L*, a*, b*) space reduces it to
  weighted clusters; exact OT pairs the two cluster sets; every pair (i, j) of
  the plan is a particle of mass ``plan[i, j]`` moving on the straight line
  from cluster i (position, color, size) to cluster j. A frame splats the
  particles with Gaussian kernels and normalizes by the splatted mass, so the
  first frame is a blurred source and the last a blurred reference.
"""

from __future__ import annotations

import os
from numbers import Integral, Real
from pathlib import Path
from typing import Iterator

import numpy as np

from .colorspace import lab_to_srgb, srgb_to_lab
from .methods import DEFAULT_METHOD
from .pixels import as_pixels, quantize, to_output

__all__ = ["morph", "save_frames", "output_paths"]

# Weight of one image side in the joint space, in Lab units: moving across the
# whole frame costs like changing L* by this much.
_SPATIAL_WEIGHT = 200.0
# Pixels per chunk of the splatting (bounds the temporaries).
_SPLAT_CHUNK = 4096

_ANIMATION_FORMATS = {".gif": "GIF", ".webp": "WEBP", ".png": "PNG"}


def _check_frames(frames) -> int:
    if not isinstance(frames, Integral) or isinstance(frames, bool) or frames < 2:
        raise ValueError(f"frames must be an integer >= 2, got {frames!r}")
    return int(frames)


def morph(
    source,
    reference,
    *,
    frames: int = 24,
    spatial: bool = False,
    method: str = DEFAULT_METHOD,
    n_clusters: int | None = None,
    color_space: str = "lab",
    size: tuple[int, int] | None = None,
    spatial_weight: float = _SPATIAL_WEIGHT,
    random_state: int = 0,
) -> Iterator:
    """Yield the frames of a morph from `source` to `reference`.

    Parameters
    ----------
    source, reference : ndarray or PIL.Image.Image
        Any images :func:`imgot.transfer` accepts.
    frames : int, default 24
        Number of frames, >= 2; frame k is at time ``t = k / (frames - 1)``.
    spatial : bool, default False
        Color morph (False) or spatial morph (True); see the module notes.
    method : {'emd', 'sinkhorn'}, default 'emd'
        Transport of the color morph's palettes (the spatial morph uses 'emd').
    n_clusters : int, optional
        Palette size of the color morph (default 64), or number of joint
        clusters of the spatial morph (default 300).
    color_space : {'lab', 'rgb'}, default 'lab'
        Working space of the color morph.
    size : (width, height), optional
        Spatial morph only: frame size; both images are resized to it.
        Default: the source's size, fitted within 160 x 160.
    spatial_weight : float, default 200
        Spatial morph only: the cost of crossing the frame's longer side, in
        Lab units. Larger keeps mass in place (more cross-fade); smaller lets
        colors travel further.
    random_state : int, default 0

    Yields
    ------
    frame
        Color morph: the source's kind, shape and dtype (frame 0 is the
        source exactly). Spatial morph: uint8 RGB arrays of shape
        (height, width, 3).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> warm = (rng.random((16, 16, 3)) * [255, 120, 60]).astype(np.uint8)
    >>> cool = (rng.random((16, 16, 3)) * [60, 120, 255]).astype(np.uint8)
    >>> frames = list(morph(warm, cool, frames=3, n_clusters=4))
    >>> len(frames), bool((frames[0] == warm).all())
    (3, True)
    >>> [f.shape for f in morph(warm, cool, frames=2, spatial=True, n_clusters=8, size=(12, 10))]
    [(10, 12, 3), (10, 12, 3)]
    """
    frames = _check_frames(frames)
    if not isinstance(spatial_weight, Real) or not spatial_weight > 0:
        raise ValueError(f"spatial_weight must be a positive number, got {spatial_weight!r}")
    if n_clusters is not None and (not isinstance(n_clusters, Integral) or isinstance(n_clusters, bool)
                                   or n_clusters < 1):
        raise ValueError(f"n_clusters must be an integer >= 1, got {n_clusters!r}")
    times = np.linspace(0.0, 1.0, frames)
    if spatial:
        return _spatial_morph(source, reference, times, n_clusters or 300, size, float(spatial_weight),
                              int(random_state))
    if size is not None:
        raise ValueError("size applies to the spatial morph only; the color morph keeps the source's size")
    return _color_morph(source, reference, times, method=method, n_clusters=n_clusters or 64,
                        color_space=color_space, random_state=random_state)


def _color_morph(source, reference, times, **options) -> Iterator:
    """Frames at each time t: the transfer at strength t, through the same finishing steps."""
    from .transfer import ColorTransfer, apply_lut, finish

    model = ColorTransfer(**options).fit(reference)
    pixels = as_pixels(source)
    color_map = model.color_map(source)

    def frames() -> Iterator:
        for t in times:
            if t == 0:
                yield to_output(pixels, pixels.color.copy())
                continue
            mapped = apply_lut(color_map.lut_at(float(t)), pixels)
            yield to_output(pixels, finish(pixels, mapped, detail=bool(model.detail), preserve_luminance=False))

    return frames()


def _parse_size(size, source_shape) -> tuple[int, int]:
    if size is None:
        height, width = source_shape[:2]
        factor = min(1.0, 160.0 / max(height, width))
        return max(1, round(width * factor)), max(1, round(height * factor))
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be (width, height), got {size!r}") from None
    if width < 2 or height < 2 or width * height > 1_000_000:
        raise ValueError(f"size must be at least 2 x 2 and at most 1 MP, got {width} x {height}")
    return width, height


def _lab_image(image, width: int, height: int) -> np.ndarray:
    """The image resized to (height, width), in CIELAB."""
    from PIL import Image

    pixels = as_pixels(image)
    rgb = quantize(pixels.color.astype(np.float64) / pixels.scale, np.uint8)
    if pixels.is_gray:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    resized = Image.fromarray(np.ascontiguousarray(rgb)).resize((width, height), Image.Resampling.LANCZOS)
    return srgb_to_lab(np.asarray(resized) / 255.0)


def _clusters(lab: np.ndarray, n_clusters: int, weight: float, seed: int):
    """Joint (x, y, Lab) k-means: features, masses and kernel widths (pixels) of the clusters."""
    from sklearn.cluster import KMeans

    height, width = lab.shape[:2]
    side = max(height, width)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    features = np.column_stack([x.ravel() * weight / side, y.ravel() * weight / side, lab.reshape(-1, 3)])
    # Seeds on a regular grid, as SLIC superpixels do: compact, spread, and cheap.
    columns = max(1, round(np.sqrt(n_clusters * width / height)))
    rows = max(1, round(n_clusters / columns))
    seed_y = ((np.arange(rows) + 0.5) * height / rows).astype(int)
    seed_x = ((np.arange(columns) + 0.5) * width / columns).astype(int)
    init = features[(seed_y[:, None] * width + seed_x[None, :]).ravel()]
    n_clusters = init.shape[0]
    kmeans = KMeans(n_clusters=n_clusters, init=init, n_init=1, max_iter=30, random_state=seed)
    labels = kmeans.fit_predict(features)
    counts = np.bincount(labels, minlength=n_clusters).astype(np.float64)
    keep = counts > 0
    sums = np.zeros((n_clusters, 5))
    np.add.at(sums, labels, features)
    centers = sums[keep] / counts[keep, None]
    # Spread of each cluster in pixels: the rms distance of its pixels to the center, per axis.
    position = features[:, :2] * side / weight
    center_px = (sums[:, :2] / np.maximum(counts, 1.0)[:, None]) * side / weight
    spread = np.zeros(n_clusters)
    np.add.at(spread, labels, ((position - center_px[labels]) ** 2).sum(axis=1))
    sigma = np.sqrt(spread[keep] / counts[keep] / 2.0)
    return centers, counts[keep] / counts.sum(), np.maximum(sigma, 0.7)


def _spatial_morph(source, reference, times, n_clusters, size, weight, seed) -> Iterator:
    import ot

    width, height = _parse_size(size, as_pixels(source).color.shape)
    side = max(width, height)
    ca, wa, sa = _clusters(_lab_image(source, width, height), n_clusters, weight, seed)
    cb, wb, sb = _clusters(_lab_image(reference, width, height), n_clusters, weight, seed)
    plan = ot.emd(wa, wb, ot.dist(ca, cb), numItermax=1_000_000)
    rows, cols = np.nonzero(plan > 1e-12)
    mass = plan[rows, cols]
    start, end = ca[rows], cb[cols]
    grid = np.stack(np.mgrid[0:height, 0:width][::-1], axis=-1).reshape(-1, 2).astype(np.float64)

    def frames() -> Iterator:
        for t in times:
            state = (1 - t) * start + t * end
            sigma = (1 - t) * sa[rows] + t * sb[cols]
            lab = _splat(grid, state[:, :2] * side / weight, sigma, mass, state[:, 2:])
            yield quantize(lab_to_srgb(lab).reshape(height, width, 3), np.uint8)

    return frames()


def _splat(grid: np.ndarray, centers: np.ndarray, sigma: np.ndarray, mass: np.ndarray,
           values: np.ndarray) -> np.ndarray:
    """Gaussian-splatted, mass-normalized values at the grid points (in the log domain)."""
    out = np.empty((grid.shape[0], values.shape[1]))
    inverse = 0.5 / sigma**2
    # -|g - c|^2 / (2 s^2) = (2 g.c - |g|^2 - |c|^2) / (2 s^2), as one matrix product.
    log_weight = (np.log(mass) - 2.0 * np.log(sigma) - (centers**2).sum(axis=1) * inverse).astype(np.float32)
    scaled = (2.0 * centers.T * inverse).astype(np.float32)
    inverse = inverse.astype(np.float32)
    grid = grid.astype(np.float32)
    values = values.astype(np.float32)
    for begin in range(0, grid.shape[0], _SPLAT_CHUNK):
        block = grid[begin : begin + _SPLAT_CHUNK]
        logits = block @ scaled + log_weight
        logits -= (block**2).sum(axis=1, keepdims=True) * inverse
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits, out=logits)
        out[begin : begin + _SPLAT_CHUNK] = (weights @ values) / weights.sum(axis=1, keepdims=True)
    return out


def output_paths(path: str | os.PathLike, n_frames: int, *, overwrite: bool = False) -> list[Path]:
    """The files :func:`save_frames` would write, checked before any work is done.

    Parameters
    ----------
    path : str or path-like
        An animation (.gif, .webp, .png) or a numbered pattern (``frames_%03d.png``).
    n_frames : int
    overwrite : bool, default False

    Returns
    -------
    list of Path
        One animation file, or one file per frame.

    Raises
    ------
    ValueError
        For an unknown extension or a pattern without a ``%d`` field.
    OutputExistsError
        If a target exists and `overwrite` is False.

    Examples
    --------
    >>> [p.name for p in output_paths("/nonexistent/f_%02d.png", 3)]
    ['f_00.png', 'f_01.png', 'f_02.png']
    """
    from .exceptions import ImageWriteError, OutputExistsError

    path = str(path)
    if "%" in path:
        try:
            targets = [Path(path % k) for k in range(n_frames)]
        except (TypeError, ValueError):
            raise ValueError(
                f"{path!r}: a numbered output needs one %d field, e.g. frames_%03d.png"
            ) from None
        if len(set(targets)) != len(targets):
            raise ValueError(f"{path!r}: the pattern gives the same name to several frames")
    else:
        targets = [Path(path)]
        if targets[0].suffix.lower() not in _ANIMATION_FORMATS:
            raise ValueError(f"{targets[0].name!r}: write an animation as .gif, .webp or .png, "
                             "or numbered frames with a pattern like frames_%03d.png")
        if not targets[0].parent.is_dir():
            raise ImageWriteError(f"{targets[0].parent}: no such folder")
    for target in targets:
        if target.exists() and not overwrite:
            raise OutputExistsError(f"{target}: exists; pass overwrite=True (--overwrite) to replace it")
    return targets


def save_frames(
    path: str | os.PathLike, frames, *, duration: int = 80, overwrite: bool = False
) -> list[Path]:
    """Write frames as an animation (.gif, .webp, .png) or as numbered files.

    Parameters
    ----------
    path : str or path-like
        ``out.gif`` (also ``.webp`` or ``.png``: animated) or a pattern with a
        ``%d``-style field such as ``frames_%03d.png`` for one file per frame.
    frames : iterable of ndarray
        uint8 images of one size.
    duration : int, default 80
        Milliseconds per frame of an animation; it loops forever.
    overwrite : bool, default False
        Replace existing files; otherwise any existing target is an error and
        nothing is written.

    Returns
    -------
    list of Path
        The files written.

    Examples
    --------
    >>> import os, tempfile
    >>> frames = [np.full((4, 4, 3), v, np.uint8) for v in (0, 128, 255)]
    >>> path = os.path.join(tempfile.mkdtemp(), "fade.gif")
    >>> [p.name for p in save_frames(path, frames)]
    ['fade.gif']
    """
    from PIL import Image

    from .exceptions import ImageWriteError
    from .io import write_image

    if not isinstance(duration, Integral) or isinstance(duration, bool) or duration < 1:
        raise ValueError(f"duration must be a positive number of milliseconds, got {duration!r}")
    frames = [np.asarray(frame) for frame in frames]
    if not frames:
        raise ValueError("no frames to write")
    targets = output_paths(path, len(frames), overwrite=overwrite)
    if len(targets) > 1 or "%" in str(path):
        for target, frame in zip(targets, frames):
            write_image(target, frame, overwrite=overwrite)
        return targets
    target = targets[0]
    images = [Image.fromarray(np.ascontiguousarray(frame)) for frame in frames]
    temp = target.with_name(f".{target.name}.part")
    try:
        images[0].save(temp, format=_ANIMATION_FORMATS[target.suffix.lower()], save_all=True,
                       append_images=images[1:], duration=int(duration), loop=0)
        os.replace(temp, target)
    except OSError as error:
        raise ImageWriteError(f"{target}: cannot write animation ({error})") from None
    finally:
        if temp.exists():
            temp.unlink()
    return targets
