"""Morphs by displacement interpolation: frames from one image to another.

Two kinds:

- **color** (default): the source recolored at strength t = 0 .. 1. The
  transport is solved once; each frame rebuilds only the 3-D LUT, moving every
  palette color t of the way to its destination.
- **spatial**: each image is a distribution of mass over position and color;
  every pixel is a particle, transported one to one onto the other image's
  pixels and moved on a straight line (McCann's interpolation), splatted
  without dimming. The first frame is the source and the last the reference,
  exactly (at the frame size). See :mod:`imgot.spatial_morph`.
"""

from __future__ import annotations

import os
from numbers import Integral, Real
from pathlib import Path
from typing import Iterator

import numpy as np

from .method_table import DEFAULT_ROTATIONS
from .methods import DEFAULT_METHOD
from .pixels import as_pixels, quantize, to_output
from .validation import check_integer, renamed

__all__ = ["morph", "save_frames", "output_paths"]


_ANIMATION_FORMATS = {".gif": "GIF", ".webp": "WEBP", ".png": "PNG"}


def _check_frames(frames) -> int:
    check_integer("frames", frames, 2)
    return int(frames)


def _like(source, frames: Iterator[np.ndarray]) -> Iterator:
    """uint8 RGB frames in the kind and depth of `source` (PIL stays PIL; 16-bit and float keep theirs).

    They stay RGB even for a gray source: the spatial morph's frames carry the
    reference's colors.
    """
    pixels = as_pixels(source)
    for frame in frames:
        if pixels.pil_mode is not None:
            from PIL import Image

            yield Image.fromarray(frame)
        elif pixels.dtype == np.uint8:
            yield frame
        else:
            yield quantize(frame.astype(np.float32) / np.float32(255.0), pixels.dtype)


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
    reach: float = 1.0,
    max_iter: int = 1000,
    random_state: int = 0,
    reg: float = 0.01,
    reg_m: float = 1.0,
    n_iter: int = DEFAULT_ROTATIONS,
    preserve_detail: bool = True,
    preserve_luminance: bool = False,
    **deprecated,
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
    method : {'emd-sliced', 'emd', 'sinkhorn', 'unbalanced'}, default 'emd-sliced'
        The color morph's map: one of the methods with a palette plan
        (:data:`imgot.methods.PLAN_METHODS`); the spatial morph is exact.
    n_clusters : int, optional
        Palette size of the color morph (default 64), or number of joint
        superpixels of the spatial morph's coarse plan (default 300).
    color_space : {'lab', 'rgb'}, default 'lab'
        Working space of the color morph.
    size : (width, height), optional
        Spatial morph only: frame size; both images are resized to it.
        Default: the source's size, fitted within 160 x 160.
    reach : float, default 1.0
        Spatial morph only: the move, as a fraction of the frame's longer
        side, that costs as much as a complete change of color. Larger lets
        mass travel further to keep its color; smaller keeps it in place
        (more cross-fade).
    max_iter : int, default 1000
        Sinkhorn iteration cap of the color morph.
    random_state : int, default 0
    reg, reg_m, n_iter, preserve_detail, preserve_luminance
        The color morph's :class:`imgot.ColorTransfer` parameters (the same
        defaults): frame t is ``transfer(source, reference, strength=t, ...)``
        with them. The spatial morph takes none of them.
    **deprecated
        ``detail``, the old name of `preserve_detail` (DeprecationWarning).

    Yields
    ------
    frame
        Color morph: the source's kind, shape and dtype. Spatial morph: the
        source's kind and dtype, RGB of shape (height, width, 3) (also for a
        gray source: the frames carry the reference's colors). Either way frame 0 is the
        source exactly (the spatial morph's, resized to `size`) and the
        spatial morph's last frame is the reference.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> warm = (rng.random((16, 16, 3)) * [255, 120, 60]).astype(np.uint8)
    >>> cool = (rng.random((16, 16, 3)) * [60, 120, 255]).astype(np.uint8)
    >>> frames = list(morph(warm, cool, frames=3, n_clusters=4))
    >>> len(frames), bool((frames[0] == warm).all())
    (3, True)
    >>> first, last = morph(warm, cool, frames=2, spatial=True, n_clusters=8)
    >>> bool((first == warm).all() and (last == cool).all())
    True
    """
    preserve_detail = renamed("morph", deprecated).get("preserve_detail", preserve_detail)
    frames = _check_frames(frames)
    if not isinstance(reach, Real) or isinstance(reach, bool) or not reach > 0:
        raise ValueError(f"reach must be a positive number, got {reach!r}")
    if n_clusters is not None:
        check_integer("n_clusters", n_clusters, 1)
    times = np.linspace(0.0, 1.0, frames)
    if spatial:
        from .spatial_morph import spatial_frames

        color_options = {"reg": (reg, 0.01), "reg_m": (reg_m, 1.0), "n_iter": (n_iter, DEFAULT_ROTATIONS),
                         "preserve_detail": (preserve_detail, True), "preserve_luminance": (preserve_luminance, False)}
        given = [name for name, (value, default) in color_options.items() if value != default]
        if given:
            raise ValueError(f"{', '.join(given)}: color morph parameters; the spatial morph takes none of them")

        size = _parse_size(size, as_pixels(source).color.shape)
        frames_rgb = spatial_frames(source, reference, times, size=size, n_clusters=n_clusters or 300,
                                    reach=float(reach), seed=int(random_state))
        return _like(source, frames_rgb)
    if size is not None:
        raise ValueError("size applies to the spatial morph only; the color morph keeps the source's size")
    return _color_morph(source, reference, times, method=method, n_clusters=n_clusters or 64,
                        color_space=color_space, max_iter=max_iter, random_state=random_state, reg=reg,
                        reg_m=reg_m, n_iter=n_iter, preserve_detail=preserve_detail,
                        preserve_luminance=preserve_luminance)


def _color_morph(source, reference, times, **options) -> Iterator:
    """Frames at each time t: the transfer at strength t, through the same finishing steps."""
    from .recolor import apply_lut, finish
    from .transfer import ColorTransfer

    model = ColorTransfer(**options).fit(reference)
    pixels = as_pixels(source)
    color_map = model.color_map(source)

    def frames() -> Iterator:
        for t in times:
            if t == 0:
                yield to_output(pixels, pixels.color.copy())
                continue
            luminance = bool(model.preserve_luminance)
            mapped = apply_lut(color_map.lut_at(float(t), preserve_luminance=luminance), pixels)
            yield to_output(pixels, finish(pixels, mapped, preserve_detail=bool(model.preserve_detail),
                                           preserve_luminance=luminance))

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
