"""The input gate and the output gate.

Every accepted input (numpy array of uint8, uint16 or float in [0, 1], or a
PIL image; gray, gray+alpha, RGB or RGBA) becomes one internal form,
:class:`Pixels`, and the result goes back to the caller's kind, dtype and
shape. Levels are never stretched; quantization rounds to nearest.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar, Union

import numpy as np
from numpy.typing import DTypeLike

if TYPE_CHECKING:
    import PIL.Image

__all__ = ["Pixels", "as_pixels", "to_output", "quantize", "ImageLike", "ImageT", "MaskLike"]

# What the public API takes as an image: a numpy array (uint8, uint16 or float in [0, 1]) or a PIL image.
ImageLike = Union[np.ndarray, "PIL.Image.Image"]
# An image given back in the kind it came in (an array for an array, a PIL image for a PIL image).
ImageT = TypeVar("ImageT", np.ndarray, "PIL.Image.Image")
# A mask: a gray image (bool, levels or weights in [0, 1]), or 'alpha' for the image's own alpha.
MaskLike = Union[np.ndarray, "PIL.Image.Image", str]

_MAX = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


@dataclass
class Pixels:
    """An image split into color and alpha, in its original dtype.

    Attributes
    ----------
    color : ndarray of shape (H, W, 3) or (H, W)
        RGB, or gray levels for a gray image.
    alpha : ndarray of shape (H, W) or None
    scale : float
        The value of full intensity: 255, 65535 or 1.0.
    shape : tuple
        The caller's array shape, restored on output.
    pil_mode : str or None
        The PIL mode to return, when the input was a PIL image.
    selection : ndarray of shape (H, W), float32 in [0, 1] or bool, or None
        How much each pixel counts in the image's statistics (palettes,
        histograms, moments, samples): a mask or the pixels left after an
        ignored color (:mod:`imgot.regions`). None counts every pixel.
    """

    color: np.ndarray
    alpha: np.ndarray | None
    scale: float
    shape: tuple
    pil_mode: str | None = None
    selection: np.ndarray | None = None

    @property
    def is_gray(self) -> bool:
        return self.color.ndim == 2

    @property
    def dtype(self) -> np.dtype:
        return self.color.dtype

    def rgb_rows(self) -> np.ndarray:
        """A (N, 3) or (N,) view of the color, one row per pixel."""
        return self.color.reshape(-1, 3) if not self.is_gray else self.color.reshape(-1)

    def with_color(self, color: np.ndarray, scale: float | None = None) -> "Pixels":
        """The same image (alpha, selection, shape, mode) with other color values."""
        return replace(self, color=color, scale=self.scale if scale is None else scale)

    def sample_weights(self) -> np.ndarray | None:
        """How much each pixel counts in the statistics, shape (N,), or None if all count the same.

        Fully transparent pixels count 0; a `selection` multiplies in. Bool
        when every weight is 0 or 1 (alpha, an ignored color), float32 with a
        gray selection.
        When nothing would count (a fully transparent image without a
        selection), every pixel counts.
        """
        opaque = None if self.alpha is None else self.alpha.reshape(-1) > 0
        if self.selection is None:
            return opaque if opaque is not None and opaque.any() else None
        weights = self.selection.reshape(-1)
        if opaque is None:
            return weights
        return weights & opaque if weights.dtype == bool else weights * opaque


def _pil_to_array(image, *, from_file: bool = False) -> tuple[np.ndarray, str]:
    """A PIL image as an array imgot accepts, and the mode to give back.

    Modes whose white level is unknown are refused for PIL images: ``'I'``
    (32-bit integers: 255? 65535?) and ``'1'`` (bilevel: recolored levels do
    not fit in it). A file says its own bit depth, so ``load_image`` reads a
    32-bit integer file holding 0..65535 as 16-bit, and a 1-bit file as 8-bit
    gray (`from_file`).
    """
    mode = image.mode
    if not from_file and getattr(image, "n_frames", 1) > 1:  # never silently the current frame alone
        raise ValueError(f"a PIL image with {image.n_frames} frames: imgot.frames.transfer_frames recolors every "
                         "frame with one map; pass image.convert('RGB') for the current frame alone")
    if mode in ("RGB", "RGBA", "L", "LA"):
        return np.asarray(image), mode
    if mode.startswith("I;16"):
        return np.asarray(image).astype(np.uint16), "I;16"
    if mode == "F":  # 32-bit float gray: levels in [0, 1], as float arrays
        return np.asarray(image, dtype=np.float32), "F"
    if mode == "I" and not from_file:
        raise ValueError("PIL mode 'I' (32-bit integers) has no fixed white level; convert it first: "
                         "image.convert('L') for 0..255, or np.asarray(image).astype(np.uint16) for 0..65535")
    if mode == "1" and not from_file:
        raise ValueError("PIL mode '1' (bilevel) cannot hold recolored levels; pass image.convert('L') "
                         "to get an 8-bit gray result")
    if mode == "I":
        array = np.asarray(image)
        if array.size and (array.min() < 0 or array.max() > 65535):
            raise ValueError("32-bit integer images must hold values in 0..65535 to be read as 16-bit")
        return array.astype(np.uint16), "I;16"
    if mode == "P":
        target = "RGBA" if "transparency" in image.info else "RGB"
        return np.asarray(image.convert(target)), target
    if mode in ("PA", "RGBa", "La"):
        target = "RGBA" if mode != "La" else "LA"
        return np.asarray(image.convert(target)), target
    if mode == "1":
        return np.asarray(image.convert("L")), "L"
    # CMYK, YCbCr, LAB, HSV, RGBX: Pillow's own conversion to RGB.
    return np.asarray(image.convert("RGB")), "RGB"


def as_pixels(image) -> Pixels:
    """Check an image and split it into color and alpha.

    Parameters
    ----------
    image : ndarray or PIL.Image.Image
        (H, W) gray, (H, W, 1) gray, (H, W, 2) gray + alpha, (H, W, 3) RGB or
        (H, W, 4) RGBA; uint8, uint16, or float with values in [0, 1].

    Raises
    ------
    TypeError
        For an unsupported type or dtype.
    ValueError
        For an unsupported shape, an empty image, or float values outside [0, 1].
    """
    if isinstance(image, Pixels):
        return image
    pil_mode = None
    if hasattr(image, "mode") and hasattr(image, "getbands"):
        array, pil_mode = _pil_to_array(image)
    elif isinstance(image, np.ndarray):
        array = image
    else:
        raise TypeError(f"image must be a numpy array or a PIL image, got {type(image).__name__}")

    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or array.min(initial=0.0) < 0 or array.max(initial=0.0) > 1:
            what = "PIL mode 'F' images" if pil_mode == "F" else "float images"
            raise ValueError(f"{what} must hold finite values in [0, 1]")
        scale = 1.0
    elif array.dtype in _MAX:
        scale = _MAX[array.dtype]
    else:
        raise TypeError(f"image dtype must be uint8, uint16 or float, got {array.dtype}")

    if array.ndim == 3 and array.shape[2] in (1, 2, 3, 4):
        channels = array.shape[2]
    elif array.ndim == 2:
        channels = 0
    else:
        raise ValueError(f"image must have shape (H, W) or (H, W, C) with C in 1..4, got {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"image is empty: shape {array.shape}")

    if channels == 0:
        color, alpha = array, None
    elif channels in (1, 2):
        color, alpha = array[..., 0], (array[..., 1] if channels == 2 else None)
    else:
        color, alpha = array[..., :3], (array[..., 3] if channels == 4 else None)
    return Pixels(color, alpha, scale, array.shape, pil_mode)


def quantize(values: np.ndarray, dtype: DTypeLike) -> np.ndarray:
    """Turn float values in [0, 1] into `dtype`, rounding and clipping."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.clip(values, 0.0, 1.0).astype(dtype, copy=False)
    scale = _MAX[dtype]
    out = np.asarray(values, dtype=np.float32) * np.float32(scale)
    np.rint(out, out=out)
    np.clip(out, 0, scale, out=out)
    return out.astype(dtype)


def to_output(pixels: Pixels, color: np.ndarray):
    """Reassemble mapped color (in the input dtype) with the untouched alpha.

    Returns the caller's kind: a PIL image for PIL input, else an array of the
    input's shape and dtype.
    """
    if pixels.alpha is not None:
        parts = [color[..., None]] if pixels.is_gray else [color]
        out = np.concatenate(parts + [pixels.alpha[..., None]], axis=-1)
    else:
        out = color
    out = out.reshape(pixels.shape)
    if pixels.pil_mode is not None:
        from PIL import Image

        return Image.fromarray(np.ascontiguousarray(out))
    return out
