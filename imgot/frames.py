"""Multi-frame images: animated GIF, PNG (APNG) and WebP, and multi-page TIFF.

Every frame is recolored with one color map, fitted on pixels pooled from all
the frames, as a video clip's (:mod:`imgot.video`): the same color gets the
same new color in every frame, so nothing flickers. The file is read twice,
one frame at a time: a first pass samples each frame (a few thousand pixels,
fully transparent ones left out) and notes its timing; the second recolors
each frame and hands it to the writer.

Kept: the frame durations and the loop count (GIF, APNG, WebP), the frame
count, fully transparent pixels (alpha is copied, as for a still image) and,
for a GIF written as a GIF, each frame's disposal method. Frames are decoded
as whole pictures (Pillow composes a GIF's or an APNG's partial frames), so
what a viewer shows at each frame is the recolored source frame:

- **GIF**: each recolored frame gets its own palette of at most 255 colors
  (exactly its colors when it has no more, otherwise Pillow's median cut,
  without dithering: the same frame gives the same bytes), plus one
  transparent index for pixels whose alpha is under 128. A GIF whose frames mix the
  "restore to background" disposal with others, or use "restore to previous",
  is written with "restore to background" on every frame, the one choice that
  shows whole frames exactly; other disposals are kept as they were.
- **APNG**: whole frames, each replacing the last (dispose none, blend source).
- **WebP**: libwebp's own animation encoder, at the given `quality`.
- **TIFF**: one page per frame, each in its own mode and depth (16-bit and
  float kept), zlib-compressed; a TIFF has no timing.

Pillow's APNG and WebP writers merge consecutive frames that come out
identical into one frame with their durations summed (the animation looks
the same); imgot's own GIF writer keeps every frame.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_write
from .exceptions import ImageReadError
from .gifwrite import pixel_codes

__all__ = ["FRAME_FORMATS", "FrameInfo", "count_frames", "frame_format", "recolor_frames", "read_for_fit", "sample_frames",
           "transfer_frames"]

FRAME_FORMATS = ("GIF", "PNG", "WEBP", "TIFF")  # formats whose frames imgot reads and writes
_FRAME_SUFFIXES = {".gif": "GIF", ".png": "PNG", ".apng": "PNG", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF"}
_TOTAL_SAMPLES = 400_000  # pooled pixels kept at most, whatever the frame count (as a clip's)


@dataclass
class FrameInfo:
    """What the first pass learns about a multi-frame file.

    Attributes
    ----------
    format : str
        ``'GIF'``, ``'PNG'``, ``'WEBP'`` or ``'TIFF'``.
    n_frames : int
    durations : list of float or None
        Display time of each frame in milliseconds (None: the format has none).
    disposals : list of int or None
        Each GIF frame's disposal method (0 to 3), None for other formats.
    loop : int or None
        The loop count as the file holds it (GIF: None plays once, 0 forever).
    has_alpha, has_color : bool
        Whether any frame has alpha, whether any is in color (not gray).
    icc_profile : bytes or None
    sample : ndarray of shape (1, M, 3)
        Pixels pooled from all frames, float64 RGB in [0, 1].
    """

    format: str
    n_frames: int
    durations: list = field(default_factory=list)
    disposals: list = field(default_factory=list)
    loop: int | None = None
    has_alpha: bool = False
    has_color: bool = False
    icc_profile: bytes | None = None
    sample: np.ndarray | None = None


def count_frames(path: str | os.PathLike) -> int:
    """How many frames (pages) a GIF, PNG, WebP or TIFF file holds: 1 for a still image or any other file.

    Cheap: the frames are counted, not decoded. Unreadable files count 1
    (reading them then says what is wrong).

    Examples
    --------
    >>> import tempfile
    >>> from PIL import Image
    >>> path = Path(tempfile.mkdtemp()) / "blink.gif"
    >>> frames = [Image.new("RGB", (4, 4), color) for color in ("red", "blue")]
    >>> frames[0].save(path, save_all=True, append_images=frames[1:])
    >>> count_frames(path)
    2
    """
    from PIL import Image

    try:
        with Image.open(path) as image:
            return int(getattr(image, "n_frames", 1)) if image.format in FRAME_FORMATS else 1
    except Exception:  # noqa: BLE001 - anything Pillow cannot open is not a multi-frame image
        return 1


def frame_format(target: str | os.PathLike, source: str | os.PathLike = "the source") -> str:
    """The format that writes the frames of `source` to `target`, from its extension.

    Raises
    ------
    ValueError
        For a format that holds one image (``.jpg``, ``.bmp``).

    Examples
    --------
    >>> frame_format("out.png"), frame_format("out.tif")
    ('PNG', 'TIFF')
    """
    fmt = _FRAME_SUFFIXES.get(Path(target).suffix.lower())
    if fmt is None:
        raise ValueError(f"{Path(target).name}: holds one image; write the frames of {Path(source).name} as .gif, "
                         ".png (APNG), .webp or .tif")
    return fmt


def _frames(path: Path) -> Iterator[tuple[np.ndarray, dict, str]]:
    """(pixels, the frame's own info, format) of each frame, decoded one at a time, upright."""
    from PIL import Image, ImageOps

    from .io import _check_float, _check_size, _is_16bit_color, _orient
    from .pixels import _pil_to_array

    with Image.open(path) as image:
        fmt, count = image.format, int(getattr(image, "n_frames", 1))
        tiff = None
        try:
            for index in range(count):
                try:
                    image.seek(index)
                    _check_size(path, *image.size)
                    info = dict(image.info, disposal_method=getattr(image, "disposal_method", None))
                    if fmt == "TIFF" and (_is_16bit_color(image) or image.mode == "F"):
                        import tifffile

                        tiff = tiff or tifffile.TiffFile(str(path))
                        page = tiff.pages[index]
                        orientation = page.tags.get(274) if isinstance(page, tifffile.TiffPage) else None
                        array = _orient(_check_float(path, page.asarray()), orientation.value if orientation else 1)
                    else:
                        image.load()
                        upright = ImageOps.exif_transpose(image)
                        if upright.mode == "1":
                            upright = upright.convert("L")
                        array = _check_float(path, _pil_to_array(upright, from_file=True)[0])
                except ImageReadError:
                    raise
                except Exception as error:  # noqa: BLE001 - damaged files raise anything; one line says so
                    raise ImageReadError(f"{path}: cannot read frame {index + 1} of {count} ({error})") from None
                yield array, info, fmt
        finally:
            if tiff is not None:
                tiff.close()


def _open_check(path: Path) -> int:
    """The frame count of `path`, with the errors of :func:`imgot.io.load_image` for a bad file."""
    from PIL import Image

    if not path.is_file():
        raise ImageReadError(f"{path}: no such file")
    try:
        with Image.open(path) as image:
            count = int(getattr(image, "n_frames", 1))
    except Exception as error:  # noqa: BLE001
        raise ImageReadError(f"{path}: cannot read image ({error})") from None
    if count < 1:
        raise ImageReadError(f"{path}: no frames")
    return count


def sample_frames(path: str | os.PathLike, *, n_samples: int = 10000, random_state: int = 0) -> FrameInfo:
    """Decode every frame of a multi-frame file once: pooled pixels and the frames' timing.

    Parameters
    ----------
    path : path-like
        An animated GIF, PNG or WebP, or a multi-page TIFF.
    n_samples : int, default 10000
        Pixels pooled in all: about ``4 * n_samples / n_frames`` from each
        frame (at least 256, at most 400,000 in all), drawn seeded by
        :func:`imgot.palette.sample_rgb`; fully transparent frames give none.
    random_state : int, default 0

    Returns
    -------
    FrameInfo

    Raises
    ------
    ImageReadError
        If the file is missing, unreadable, truncated (a frame cannot be
        decoded) or holds no frame.
    """
    from .palette import sample_rgb
    from .pixels import as_pixels

    path = Path(path)
    count = _open_check(path)
    per_frame = max(256, -(-4 * int(n_samples) // count))
    per_frame = max(1, min(per_frame, _TOTAL_SAMPLES // count))
    info = FrameInfo(format="", n_frames=count)
    samples: list[np.ndarray] = []
    fallback: np.ndarray | None = None
    for index, (array, frame_info, fmt) in enumerate(_frames(path)):
        if index == 0:
            info.format, info.icc_profile = fmt, frame_info.get("icc_profile")
            info.loop = frame_info.get("loop")
        info.durations.append(frame_info.get("duration"))
        info.disposals.append(frame_info.get("disposal_method") if fmt == "GIF" else None)
        pixels = as_pixels(array)
        info.has_alpha |= pixels.alpha is not None
        info.has_color |= not pixels.is_gray
        if pixels.alpha is not None and not pixels.alpha.any():
            fallback = fallback if fallback is not None else sample_rgb(pixels, per_frame, random_state + index)
            continue
        samples.append(sample_rgb(pixels, per_frame, int(random_state) + index))
    if not samples and fallback is not None:
        samples = [fallback]  # every frame fully transparent: their hidden colors are all there is
    info.sample = np.concatenate(samples)[None]
    return info


def read_for_fit(path: str | os.PathLike, *, n_samples: int = 10000, random_state: int = 0):
    """The pixels of an image file to fit on: a still image's own, or a multi-frame file's pooled sample.

    What a reference (or ``fit_on``) given as an animated GIF or a
    multi-page TIFF stands for: all its frames at once.

    Returns
    -------
    ndarray
        The image (uint8, uint16 or float), or a (1, M, 3) float strip.
    """
    from .io import load_image

    if count_frames(path) > 1:
        return sample_frames(path, n_samples=n_samples, random_state=random_state).sample
    return load_image(path).pixels


def _mapper_for(mapper, info: FrameInfo, path: Path):
    """One LUT with its finishing steps for all frames: a fitted ColorTransfer's map of the pooled pixels."""
    from .transfer import ColorTransfer, LUTTransform

    if not isinstance(mapper, ColorTransfer):
        return mapper
    try:
        return LUTTransform.from_model(mapper, info.sample)
    except ValueError as error:
        raise ValueError(f"{path}: the {info.n_frames} frames get one color map, a 3-D LUT: {error}") from None


def _recolor(mapper, array: np.ndarray) -> np.ndarray:
    from .mapping import ColorLUT
    from .transfer import apply_lut_to_image

    if isinstance(mapper, ColorLUT):
        return apply_lut_to_image(mapper, array)
    return mapper.transform(array)


def _steady(mapper, frames) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Each frame recolored, and where the source did not change since the previous frame (None: nowhere).

    There the output keeps the previous frame's colors: a static background
    stays static (the detail step and a GIF's palette would otherwise move
    it by a level or two from frame to frame).
    """
    previous = None
    for array, _, _ in frames:
        out = _recolor(mapper, array)
        keep = None
        if previous is not None and previous[0].shape == array.shape:
            keep = pixel_codes(previous[0]) == pixel_codes(array)
            if keep.any():
                out = np.array(out, copy=True) if not out.flags.writeable else out
                np.copyto(out, previous[1], where=keep[..., None] if out.ndim == 3 else keep)
        previous = (array, out)
        yield out, keep


def _to_mode(array: np.ndarray, info: FrameInfo, fmt: str, alpha_wanted: bool = False) -> np.ndarray:
    """A frame in the one layout all frames of a GIF, PNG or WebP output share: 8-bit, alpha if any has it."""
    from .io import _float_to_8bit, _to_8bit

    if array.dtype == np.uint16:
        array = _to_8bit(array, fmt)
    elif array.dtype.kind == "f":
        array = _float_to_8bit(array, fmt)
    if array.ndim == 2:
        array = array[..., None]
    color, alpha = (array[..., :-1], array[..., -1:]) if array.shape[2] in (2, 4) else (array, None)
    if (info.has_color or fmt in ("GIF", "WEBP")) and color.shape[2] == 1:
        color = np.repeat(color, 3, axis=2)
    if (info.has_alpha or alpha_wanted) and alpha is None:
        alpha = np.full(color.shape[:2] + (1,), 255, np.uint8)
    out = color if alpha is None else np.concatenate([color, alpha], axis=2)
    return out[..., 0] if out.shape[2] == 1 else out


def _write_gif(target: str, frames, info: FrameInfo) -> None:
    from .gifwrite import GifWriter

    disposals = [d if d in (0, 1, 2, 3) else 0 for d in info.disposals] if info.format == "GIF" else []
    with open(target, "wb") as fp:
        writer = None
        for index, (array, keep) in enumerate(frames):
            rgba = _to_mode(array, info, "GIF", alpha_wanted=True)
            if writer is None:
                writer = GifWriter(fp, rgba.shape[:2], 0 if info.loop is None and info.format != "GIF" else info.loop)
            elif rgba.shape[:2] != writer.size:
                raise ValueError(f"frame {index + 1} is {rgba.shape[1]} x {rgba.shape[0]}, the first "
                                 f"{writer.size[1]} x {writer.size[0]}: a GIF's frames share one size")
            rgba[..., 3] = np.where(rgba[..., 3] >= 128, 255, 0)
            writer.add(rgba, disposals[index] if disposals else 1, info.durations[index], keep)
        if writer is not None:  # (a source always has a frame: reading refuses one without)
            writer.close()


def _write_tiff(target: str, frames: Iterator[np.ndarray], icc_profile: bytes | None) -> None:
    import tifffile

    with tifffile.TiffWriter(target) as tiff:
        for array in frames:
            channels = 1 if array.ndim == 2 else array.shape[2]
            options: dict = {"photometric": "rgb" if channels >= 3 else "minisblack"}
            if channels in (2, 4):
                options["extrasamples"] = ["unassalpha"]
            if channels == 1 and array.ndim == 3:
                array = array[..., 0]
            extratags = [(34675, "B", len(icc_profile), icc_profile, True)] if icc_profile else []
            tiff.write(array, compression="zlib", extratags=extratags, metadata=None, **options)


def _write(target: str, fmt: str, recolored: Iterator[tuple[np.ndarray, np.ndarray | None]], info: FrameInfo,
           quality: int) -> None:
    from PIL import Image

    if fmt == "GIF":
        return _write_gif(target, recolored, info)
    frames = (array for array, _ in recolored)
    if fmt == "TIFF":
        return _write_tiff(target, frames, info.icc_profile)
    durations = [d for d in info.durations if d is not None]
    options: dict = {"save_all": True, "format": fmt}
    if len(durations) == info.n_frames:
        options["duration"] = [int(round(d)) for d in durations]
    loop = info.loop if info.loop is not None or fmt == "GIF" else (1 if info.format == "GIF" else 0)
    if loop is not None:
        options["loop"] = int(loop)
    if info.icc_profile and fmt in ("PNG", "WEBP"):
        options["icc_profile"] = info.icc_profile
    images = (Image.fromarray(np.ascontiguousarray(_to_mode(a, info, fmt))) for a in frames)
    if fmt == "PNG":
        options.update(disposal=0, blend=0)  # whole frames, each replacing the last
    else:
        options["quality"] = quality
    first = next(images)
    first.save(target, append_images=list(images), **options)  # Pillow goes over them twice


def recolor_frames(
    mapper,
    source: str | os.PathLike,
    target: str | os.PathLike,
    *,
    quality: int = 95,
    overwrite: bool = False,
    protect=(),
):
    """Recolor every frame of a multi-frame file with one map and write them as one file.

    Parameters
    ----------
    mapper : ColorTransfer, LUTTransform or ColorLUT
        A fitted estimator (then one LUT is fitted on the pixels pooled from
        all frames, with the estimator's finishing steps: its method must be
        a LUT method), a LUT with its finishing steps, or a bare LUT.
    source : path-like
        An animated GIF, PNG or WebP, or a multi-page TIFF.
    target : path-like
        ``.gif``, ``.png`` (APNG), ``.webp`` or ``.tif``: any of them, whatever
        the source's format (see the module notes for what each keeps).
    quality : int, default 95
        WebP quality.
    overwrite : bool, default False
    protect : iterable of path-like
        Inputs that `target` must not be.

    Returns
    -------
    LUTTransform or ColorLUT
        The map every frame went through.

    Raises
    ------
    ImageReadError
        For a missing, unreadable or truncated file, or one without frames.
    ValueError
        For a target format that holds one image (``.jpg``), or a method
        that is not one LUT.
    """
    source, target = Path(source), Path(target)
    fmt = frame_format(target, source)
    from .transfer import ColorTransfer

    seed = mapper._seed() if isinstance(mapper, ColorTransfer) else 0
    n_samples = mapper.n_samples if isinstance(mapper, ColorTransfer) else 10000
    info = sample_frames(source, n_samples=n_samples, random_state=seed)
    mapper = _mapper_for(mapper, info, source)
    recolored = _steady(mapper, _frames(source))
    with atomic_write(target, overwrite=overwrite, what="image", protect=protect) as temp:
        _write(temp, fmt, recolored, info, int(quality))
    return mapper


def transfer_frames(frames, reference, **params) -> list:
    """Recolor every frame of an animation toward `reference`, with one color map fitted on all the frames.

    What :func:`imgot.transfer` does for one image, for a sequence: frames
    that share colors get the same new colors (no flicker). ``imgot.transfer``
    refuses a multi-frame PIL image rather than recolor its current frame.

    Parameters
    ----------
    frames : multi-frame PIL.Image.Image, or sequence of ndarray or PIL.Image.Image
        An opened animated GIF, APNG, WebP or multi-page TIFF (every frame
        is read), or frames of any accepted kind.
    reference : ndarray or PIL.Image.Image
    **params
        :class:`imgot.ColorTransfer` parameters; the method must be a LUT
        method (not ``'histogram'`` or a composite).

    Returns
    -------
    list
        One recolored frame per frame, each of its frame's kind, shape and
        dtype (PIL frames of a multi-frame image come back as PIL images).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> frames = [rng.integers(0, 128, (8, 8, 3), dtype=np.uint8) for _ in range(3)]
    >>> out = transfer_frames(frames, rng.integers(128, 256, (8, 8, 3), dtype=np.uint8), preserve_detail=False)
    >>> len(out), out[0].shape, bool(out[0].mean() > frames[0].mean())
    (3, (8, 8, 3), True)
    """
    from .palette import sample_rgb
    from .pixels import as_pixels
    from .transfer import ColorTransfer, LUTTransform

    if hasattr(frames, "seek") and hasattr(frames, "n_frames"):
        from PIL import ImageSequence

        frames = [frame.copy() for frame in ImageSequence.Iterator(frames)]
    frames = list(frames)
    if not frames:
        raise ValueError("frames is empty")
    model = ColorTransfer(**params).fit(reference)
    seed = model._seed()
    per_frame = max(256, -(-4 * int(model.n_samples) // len(frames)))
    sample = np.concatenate([sample_rgb(as_pixels(frame), per_frame, seed + index)
                             for index, frame in enumerate(frames)])[None]
    try:
        mapper = LUTTransform.from_model(model, sample)
    except ValueError as error:
        raise ValueError(f"{len(frames)} frames get one color map, a 3-D LUT: {error}") from None
    return [mapper.transform(frame) for frame in frames]
