"""Reading and writing image files.

Pillow reads and writes everything it can; 16-bit RGB(A), which Pillow would
reduce to 8 bits, goes through pypng (PNG) and tifffile (TIFF). The EXIF
orientation is applied on read, and the ICC profile and EXIF are kept on write
where the format allows. Outputs are written to a temporary file in the same
folder and renamed into place, so a crash never leaves a half-written image.
"""

from __future__ import annotations

import os
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write
from .exceptions import ImageReadError

__all__ = ["ImageFile", "load_image", "read_image", "read_labels", "write_image"]

_TIFF = (".tif", ".tiff")
_ANIMATED = ("GIF", "PNG", "WEBP", "TIFF")  # multi-frame formats: imgot.frames reads every frame
_ORIENTATION_TAG = 274
_ICC_TAG = 34675


@dataclass
class ImageFile:
    """Pixels and the metadata worth carrying to the output.

    Attributes
    ----------
    pixels : ndarray of shape (H, W) or (H, W, C)
        uint8 or uint16, upright (EXIF orientation applied).
    icc_profile : bytes or None
    exif : bytes or None
        EXIF with the orientation reset, since the pixels are upright.
    """

    pixels: np.ndarray
    icc_profile: bytes | None = None
    exif: bytes | None = None


def _orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1..8) to an array, as Pillow's exif_transpose does."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, k=-1),
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
        8: lambda a: np.rot90(a, k=1),
    }
    op = ops.get(int(orientation or 1))
    return np.ascontiguousarray(op(array)) if op else array


def _is_16bit_color(image) -> bool:
    return image.mode in ("RGB", "RGBA") and any(";16" in str(tile.args) for tile in image.tile)


def _exif_bytes(image) -> bytes | None:
    exif = image.getexif()
    if not exif:
        return None
    exif.pop(_ORIENTATION_TAG, None)
    return exif.tobytes() if len(exif) else None


def _read_png16(path: Path, image) -> ImageFile:
    import png

    width, height, rows, info = png.Reader(filename=str(path)).asDirect()
    planes = info["planes"]
    array = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows]).reshape(height, width, planes)
    orientation = image.getexif().get(_ORIENTATION_TAG, 1)
    return ImageFile(_orient(array, orientation), image.info.get("icc_profile"), _exif_bytes(image))


def _check_size(path: Path, width: int, height: int) -> None:
    """Refuse an image over Pillow's decompression-bomb limit before decoding it."""
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    if limit and width * height > 2 * limit:
        raise ImageReadError(f"{path}: image too large ({width}x{height} pixels; the limit is {2 * limit})")


def _check_float(path: Path, array: np.ndarray) -> np.ndarray:
    """Float images must hold levels in [0, 1], as float arrays passed to the API."""
    if array.dtype.kind != "f":
        return array
    array = array.astype(np.float32, copy=False) if array.dtype != np.float64 else array
    if array.size and (not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 1):
        raise ImageReadError(f"{path}: float image with values outside [0, 1] (HDR or raw data); "
                             "imgot reads float images as levels in [0, 1]")
    return array


def _read_tiff(path: Path) -> ImageFile:
    import tifffile

    with tifffile.TiffFile(str(path)) as tif:
        page = tif.pages[0]
        _check_size(path, int(page.imagewidth), int(page.imagelength))
        array = page.asarray()
        icc = page.tags.get(_ICC_TAG)
        orientation = page.tags.get(_ORIENTATION_TAG)
    if array.dtype not in (np.uint8, np.uint16, np.float32, np.float64) or array.ndim not in (2, 3) or \
            (array.ndim == 3 and array.shape[2] not in (1, 2, 3, 4)):
        raise ImageReadError(f"{path}: unsupported TIFF layout {array.dtype} {array.shape}")
    array = _check_float(path, array)
    icc_bytes = bytes(icc.value) if icc is not None else None
    return ImageFile(_orient(array, orientation.value if orientation else 1), icc_bytes, None)


def load_image(path: str | os.PathLike, *, palette_indices: bool = False) -> ImageFile:
    """Read an image file with its ICC profile and EXIF.

    Parameters
    ----------
    path : str or path-like
        Any format Pillow reads; 16-bit RGB(A) PNG and TIFF keep their 16 bits.
    palette_indices : bool, default False
        Return a palette ("P" mode) image's indices rather than its colors:
        the labels of a segmentation map (:func:`read_labels`).

    Returns
    -------
    ImageFile

    Raises
    ------
    ImageReadError
        If the file is missing, not an image, truncated, or larger than
        Pillow's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    from .pixels import _pil_to_array

    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: no such file")
    try:
        with Image.open(path) as image:
            if getattr(image, "is_animated", False) and image.format in _ANIMATED:
                kind = "multi-page TIFF" if image.format == "TIFF" else f"animated {image.format}"
                unit = "pages" if image.format == "TIFF" else "frames"
                raise ImageReadError(
                    f"{path}: {kind} with {image.n_frames} {unit}; this reads one image (imgot transfer, apply "
                    "and batch recolor every frame: imgot.frames)")
            if image.format == "PNG" and _is_16bit_color(image):
                return _read_png16(path, image)
            if image.format == "TIFF" and (_is_16bit_color(image) or image.mode == "F"):
                return _read_tiff(path)
            image.load()
            icc = image.info.get("icc_profile")
            ImageOps.exif_transpose(image, in_place=True)  # in place: no second copy of a big image
            upright = image
            if palette_indices and upright.mode == "P":
                return ImageFile(np.asarray(upright), icc, None)
            if upright.mode == "1":  # bilevel: recolored levels need 8 bits
                upright = upright.convert("L")
            array, _ = _pil_to_array(upright, from_file=True)
            return ImageFile(_check_float(path, array), icc, _exif_bytes(upright))
    except Image.DecompressionBombError as error:
        raise ImageReadError(f"{path}: image too large ({error})") from None
    except UnidentifiedImageError:
        if path.suffix.lower() in _TIFF:
            try:
                return _read_tiff(path)
            except Exception as error:
                raise ImageReadError(f"{path}: cannot read TIFF ({error})") from None
        raise ImageReadError(f"{path}: not an image file imgot can read") from None
    except ImageReadError:
        raise
    except MemoryError:
        raise ImageReadError(f"{path}: not enough memory to decode this image") from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, TypeError, struct.error,
            zlib.error) as error:  # decoders of damaged files raise all of these
        raise ImageReadError(f"{path}: cannot read image ({error})") from None


def read_labels(path: str | os.PathLike) -> np.ndarray:
    """Read a label image (region labels): gray or 16-bit levels, palette indices, or colors.

    Each distinct value is a label; see :func:`imgot.regions.as_labels`.

    Raises
    ------
    ImageReadError
        As :func:`load_image`; and for a lossy file (JPEG, lossy WebP), whose
        compression invents labels along every border, however few values
        it happens to hold.
    """
    lossy = _lossy_format(Path(path))
    if lossy:
        raise ImageReadError(f"{path}: a label image must be saved losslessly (PNG, TIFF), not as {lossy}: "
                             "lossy compression changes labels along every border")
    return load_image(path, palette_indices=True).pixels


def _webp_is_lossy(path: Path) -> bool:
    """Whether a WebP file holds a lossy ('VP8 ') bitstream rather than a lossless ('VP8L') one."""
    with open(path, "rb") as file:
        header = file.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WEBP":
            return False
        while chunk := file.read(8):
            if len(chunk) < 8:
                return False
            fourcc, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if fourcc in (b"VP8 ", b"VP8L"):
                return fourcc == b"VP8 "
            file.seek(size + (size & 1), os.SEEK_CUR)
    return False


def _lossy_format(path: Path) -> str | None:
    """'JPEG' or 'lossy WebP' for a file stored with lossy compression; None otherwise (or unreadable)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            kind = image.format
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, struct.error):
        return None  # load_image says what is wrong with it
    if kind in ("JPEG", "MPO"):
        return "JPEG"
    if kind == "WEBP" and _webp_is_lossy(path):
        return "lossy WebP"
    return None


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as an upright numpy array.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    ndarray of shape (H, W) or (H, W, C), uint8 or uint16

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny.png")
    >>> write_image(path, np.zeros((2, 3, 3), np.uint8))
    >>> read_image(path).shape
    (2, 3, 3)
    """
    return load_image(path).pixels


def _format_for(path: Path) -> str:
    from PIL import Image

    extensions = Image.registered_extensions()
    suffix = path.suffix.lower()
    if suffix not in extensions:
        raise ValueError(f"cannot tell the output format from {path.name!r}; use e.g. .png, .jpg or .tif")
    fmt = extensions[suffix]
    Image.init()
    if fmt not in Image.SAVE:
        raise ValueError(f"{path.name!r}: imgot can read {fmt} but not write it; use e.g. .png, .jpg or .tif")
    return fmt


def _to_8bit(array: np.ndarray, fmt: str) -> np.ndarray:
    warnings.warn(f"{fmt} stores 8 bits per channel: 16-bit output rounded to 8 bits", stacklevel=3)
    return np.rint(array.astype(np.float32) / 257.0).astype(np.uint8)


def _to_16bit(array: np.ndarray, fmt: str) -> np.ndarray:
    warnings.warn(f"{fmt} has no float samples: float output rounded to 16 bits", stacklevel=3)
    from .pixels import quantize

    return quantize(array, np.uint16)


def _float_to_8bit(array: np.ndarray, fmt: str) -> np.ndarray:
    warnings.warn(f"{fmt} stores 8 bits per channel: float output rounded to 8 bits", stacklevel=3)
    from .pixels import quantize

    return quantize(array, np.uint8)


def _tiff(target: str, array: np.ndarray, icc_profile) -> None:
    """16-bit and float TIFF through tifffile (Pillow writes neither with several channels)."""
    import tifffile

    channels = 1 if array.ndim == 2 else array.shape[2]
    extratags = [(_ICC_TAG, "B", len(icc_profile), icc_profile, True)] if icc_profile else []
    options: dict[str, Any] = {"photometric": "rgb" if channels >= 3 else "minisblack"}
    if channels in (2, 4):
        options["extrasamples"] = ["unassalpha"]
    if channels == 1 and array.ndim == 3:
        array = array[..., 0]
    tifffile.imwrite(target, array, compression="zlib", extratags=extratags, **options)


def _save(array, target: str, fmt: str, icc_profile, exif, quality: int) -> None:
    from PIL import Image

    channels = 1 if array.ndim == 2 else array.shape[2]
    if array.dtype.kind == "f":
        if fmt == "TIFF":
            _tiff(target, array.astype(np.float32, copy=False), icc_profile)
            return
        array = _to_16bit(array, fmt) if fmt == "PNG" else _float_to_8bit(array, fmt)
    if array.dtype == np.uint16 and channels != 1:
        if fmt == "PNG":
            import png

            mode = {2: "LA;16", 3: "RGB;16", 4: "RGBA;16"}[channels]
            height, width = array.shape[:2]
            png.from_array(array.reshape(height, width * channels), mode=mode).save(target)
            return
        if fmt == "TIFF":
            _tiff(target, array, icc_profile)
            return
        array = _to_8bit(array, fmt)
    elif array.dtype == np.uint16:
        if fmt in ("PNG", "TIFF"):
            array = array.reshape(array.shape[:2])
        else:
            array = _to_8bit(array, fmt)
    if fmt == "JPEG" and array.ndim == 3 and array.shape[2] in (2, 4):
        raise ValueError("JPEG has no alpha channel; write .png, .tif or .webp to keep it")
    image = Image.fromarray(np.ascontiguousarray(array.squeeze(-1) if array.ndim == 3 and array.shape[2] == 1 else array))
    options = {}
    if icc_profile and fmt in ("JPEG", "PNG", "TIFF", "WEBP"):
        options["icc_profile"] = icc_profile
    if exif and fmt in ("JPEG", "PNG", "TIFF", "WEBP"):
        options["exif"] = exif
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = quality
    image.save(target, format=fmt, **options)


def write_image(
    path: str | os.PathLike,
    pixels: np.ndarray,
    *,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    quality: int = 95,
    overwrite: bool = False,
    protect=(),
) -> None:
    """Write an image atomically; the format follows the file extension.

    Parameters
    ----------
    path : str or path-like
        Output file; its extension picks the format.
    pixels : ndarray of shape (H, W) or (H, W, C), uint8, uint16 or float in [0, 1]
        16-bit is kept in PNG and TIFF, and rounded to 8 bits (with a
        warning) in formats that have only 8; float is kept (as float32) in
        TIFF and rounded to 16 bits (with a warning) elsewhere.
    icc_profile, exif : bytes, optional
        Metadata to embed where the format allows.
    quality : int, default 95
        JPEG and WebP quality, 1..100.
    overwrite : bool, default False
        Replace an existing file. Without it an existing file is an error.
    protect : iterable of path-like, optional
        Input files that `path` must not be, whatever `overwrite` says
        (compared by device and inode; :func:`imgot.atomic.refuse_inputs`).

    Raises
    ------
    OutputExistsError
        If `path` exists and `overwrite` is False.
    InputOverwriteError
        If `path` is one of `protect`.
    ImageWriteError
        If the file cannot be written (missing or read-only folder, ...).
    ValueError, TypeError
        For an unknown or read-only extension (``.psd``), out-of-range
        quality, alpha to JPEG, or pixels that are not uint8/uint16/float.
    """
    path = Path(path)
    pixels = np.asarray(pixels)
    if pixels.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raise TypeError(f"pixels must be uint8, uint16 or float to be written, got {pixels.dtype}")
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (1, 2, 3, 4)) or \
            0 in pixels.shape[:2]:
        raise ValueError(f"pixels must have shape (H, W) or (H, W, C) with C in 1..4, got {pixels.shape}")
    if pixels.dtype.kind == "f" and (not np.all(np.isfinite(pixels)) or pixels.min() < 0 or pixels.max() > 1):
        raise ValueError("float pixels must hold finite values in [0, 1] to be written")
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"quality must be in 1..100, got {quality}")
    fmt = _format_for(path)
    with atomic_write(path, overwrite=overwrite, what="image", protect=protect) as temp:
        _save(pixels, temp, fmt, icc_profile, exif, int(quality))
