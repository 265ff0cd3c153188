"""The live preview: a downscaled source, a base map solved once, finishing steps per slider move.

The expensive part of a transfer (palettes, transport, sliced iterations) does
not depend on `strength`, `preserve_luminance` or `preserve_detail`. :func:`base_map`
solves it once per preview (at full strength, and at 0.25 for LUT methods);
:func:`finish` then rebuilds only the 3-D LUT from those LUTs' displacements,
maps the small preview through it (Pillow's C LUT) and, with `preserve_detail`,
filters the preview. That is what a slider move costs: tens of milliseconds.

The preview is a close approximation of the full-resolution result, not its
pixels: it is a box-downscaled 8-bit copy, and where a method moves a color
out of the sRGB gamut even at strength 0.25 the partial move starts from the
clipped color. The downloads are computed afresh at full resolution.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..colorspace import get_color_space
from ..mapping import ColorLUT
from ..methods import default_color_space
from ..pixels import quantize
from ..transfer import ColorTransfer, apply_lut_to_image

__all__ = ["PREVIEW_SIDE", "downscale", "BaseMap", "base_map", "finish", "encode_jpeg", "encode_png"]

PREVIEW_SIDE = 768



def downscale(pixels: np.ndarray, side: int = PREVIEW_SIDE) -> np.ndarray:
    """An 8-bit RGB copy of an image whose longest side is at most `side`.

    Box averaging over integer blocks: O(pixels), no float copy of the whole
    image, and the same for uint8 and uint16. Alpha is dropped (the preview is
    shown opaque) and gray becomes three equal channels.

    Parameters
    ----------
    pixels : ndarray of shape (H, W) or (H, W, C), uint8 or uint16
    side : int, default 768

    Returns
    -------
    ndarray of shape (h, w, 3), uint8

    Examples
    --------
    >>> downscale(np.zeros((1000, 2000, 3), np.uint16)).shape
    (333, 666, 3)
    >>> downscale(np.full((4, 6), 65535, np.uint16), side=3)[0, 0].tolist()
    [255, 255, 255]
    """
    image = pixels if pixels.ndim == 3 else pixels[..., None]
    image = image[..., :3] if image.shape[2] >= 3 else np.repeat(image[..., :1], 3, axis=2)
    factor = max(1, -(-max(image.shape[:2]) // side))
    height, width = image.shape[0] // factor, image.shape[1] // factor
    scale = 255.0 / (65535.0 if image.dtype == np.uint16 else 255.0)
    out = np.empty((height, width, 3), np.uint8)
    rows = max(1, (1 << 22) // max(1, width * factor * factor * 3))  # ~4 M values per block
    for top in range(0, height, rows):
        block = image[top * factor:min(top + rows, height) * factor, : width * factor].astype(np.float32)
        h = block.shape[0] // factor
        block = block.reshape(h, factor, width, factor, 3).mean(axis=(1, 3))
        out[top:top + h] = np.clip(np.rint(block * scale), 0, 255)
    return out


_LOW = 0.25  # the second, less clipped, strength at which LUT methods are solved


@dataclass(frozen=True)
class BaseMap:
    """A method's map of one preview, solved once, without finishing.

    Attributes
    ----------
    lut : ColorLUT or None
        For LUT methods: the map at ``strength=1``, no luminance swap.
    low : ColorLUT or None
        The same at ``strength=0.25``: where the full-strength map leaves the
        sRGB gamut (and the LUT is clipped), the displacement is read from it.
    output : ndarray or None
        For per-pixel methods (histogram, composites): the mapped preview,
        float32 in [0, 1].
    color_space : str
        The method's working space (strength is applied there for LUTs).
    """

    lut: ColorLUT | None
    low: ColorLUT | None
    output: np.ndarray | None
    color_space: str

    @functools.cached_property
    def field(self) -> "Field":
        """What every strength shares (computed at the first move, then kept): see :func:`scaled_lut`."""
        return _field(self)


@dataclass(frozen=True)
class Field:
    """A LUT method's displacement on the RGB lattice, with the lattice in RGB and in the working space.

    Attributes
    ----------
    grid : ndarray (N, 3)
        The lattice colors, RGB.
    working : ndarray (N, 3)
        The same in the method's working space.
    shift : ndarray (N, 3)
        The displacement d(x) of each lattice color, in the working space.
    identity : ndarray (N, 3)
        ``to_rgb(working)``, subtracted so that a zero move is the identity to the last bit.
    """

    grid: np.ndarray
    working: np.ndarray
    shift: np.ndarray
    identity: np.ndarray


def _luts(base: BaseMap) -> tuple[ColorLUT, ColorLUT]:
    """The full-strength and 0.25 LUTs of a LUT method's map."""
    if base.lut is None or base.low is None:
        raise ValueError("a per-pixel method's preview has no LUT to scale")
    return base.lut, base.low


def _field(base: BaseMap) -> Field:
    from ..mapping import _lattice

    space = get_color_space(base.color_space)
    lut, low_lut = _luts(base)
    grid = _lattice(lut.table.shape[0])
    working = space.from_rgb(grid)
    full = lut.table.reshape(-1, 3).astype(np.float64)
    low = low_lut.table.reshape(-1, 3).astype(np.float64)
    shift = np.where(_inside(full)[:, None], space.from_rgb(full) - working,
                     (space.from_rgb(low) - working) / _LOW)
    return Field(grid, working, shift, space.to_rgb(working))


def base_map(model: ColorTransfer, preview: np.ndarray) -> BaseMap:
    """Solve `model`'s map for `preview`: at full strength, and at 0.25 for LUT methods.

    `model` is fitted; its finishing settings are changed for the call and
    restored after.
    """
    space = model.color_space or default_color_space(model.method)
    saved = model.strength, model.preserve_luminance, model.preserve_detail, model.saturation, model.protect_skin
    model.preserve_luminance, model.preserve_detail, model.saturation, model.protect_skin = False, False, 1.0, 0.0
    try:
        model.strength = 1.0
        try:
            lut = model.color_lut(preview)
        except ValueError:  # not a single LUT: histogram and the composites
            output = model.transform(preview).astype(np.float32) / np.float32(255)
            return BaseMap(None, None, output, space)
        model.strength = _LOW
        return BaseMap(lut, model.color_lut(preview), None, space)
    finally:
        model.strength, model.preserve_luminance, model.preserve_detail, model.saturation, model.protect_skin = saved


def _inside(table: np.ndarray) -> np.ndarray:
    return np.asarray(((table > 0.0) & (table < 1.0)).all(axis=1))


def scaled_lut(base: BaseMap, strength: float, preserve_luminance: bool) -> ColorLUT:
    """The LUT that moves each color `strength` of the way along the method's displacement.

    A LUT method's displacement is linear in strength in its working space:
    the LUT at `strength` is ``x -> x + strength * d(x)``, clipped to sRGB.
    ``d`` is read back from the full-strength LUT, or from the 0.25 one where
    the full-strength color was clipped, so the result equals the method's own
    LUT wherever one of the two is inside the gamut.

    Examples
    --------
    >>> from imgot.mapping import lut_from_field
    >>> from imgot.colorspace import get_color_space
    >>> lab = get_color_space("lab")
    >>> shift = lambda x: np.tile([30.0, 40.0, -60.0], (len(x), 1))
    >>> at = lambda s: lut_from_field(shift, lab, size=9, strength=s)
    >>> half = scaled_lut(BaseMap(at(1.0), at(0.25), None, "lab"), 0.5, False)
    >>> inside = _inside(at(0.25).table.reshape(-1, 3))
    >>> bool(np.abs(half.table - at(0.5).table).reshape(-1, 3)[inside].max() < 1e-4)
    True
    >>> full, low = (at(s).table.reshape(-1, 3).astype(np.float64) for s in (1.0, 0.25))
    >>> field = lambda x: np.where(_inside(full)[:, None], lab.from_rgb(full) - x,
    ...                            (lab.from_rgb(low) - x) / 0.25)  # the same, through lut_from_field
    >>> bool(np.array_equal(half.table, lut_from_field(field, lab, size=9, strength=0.5).table))
    True
    """
    lut, _ = _luts(base)
    if strength == 1.0 and not preserve_luminance:
        return lut
    from ..mapping import _finish

    # lut_from_field's own steps, with the parts every strength shares kept in base.field:
    # one color conversion per move instead of five.
    space = get_color_space(base.color_space)
    field = base.field
    mapped = field.grid + (space.to_rgb(field.working + float(strength) * field.shift) - field.identity)
    return _finish(field.grid, mapped, lut.table.shape[0], bool(preserve_luminance))


def finish(base: BaseMap, preview: np.ndarray, *, strength: float, preserve_luminance: bool,
           preserve_detail: bool, saturation: float = 1.0, protect_skin: float = 0.0) -> np.ndarray:
    """The preview at these finishing settings, uint8 (h, w, 3).

    Per-pixel methods get the library's own finishing: the blend toward the
    source in sRGB, then the luminance swap; `preserve_detail` filters the result with
    :func:`imgot.detail.preserve_detail`, as :meth:`imgot.ColorTransfer.transform` does;
    then the color intensity and the skin protection (:mod:`imgot.recolor`).
    """
    from ..pixels import as_pixels
    from ..recolor import blend_back
    from ..transfer import finish as finish_pixels

    pixels = as_pixels(preview)
    if base.lut is not None:
        # The LUT at this strength (luminance on its lattice, as color_lut), then
        # the library's own per-pixel finishing steps, as ColorTransfer.transform.
        lut = scaled_lut(base, strength, preserve_luminance)
        return apply_lut_to_image(lut, preview, preserve_detail=preserve_detail, preserve_luminance=preserve_luminance,
                                  saturation=saturation, protect_skin=protect_skin)
    source = preview.astype(np.float32) / np.float32(255)
    out = quantize(source + np.float32(strength) * (base.output - source), np.uint8)
    out = finish_pixels(pixels, out, preserve_detail=preserve_detail, preserve_luminance=preserve_luminance,
                        saturation=saturation)
    return blend_back(pixels, pixels, out, None, protect_skin=protect_skin)


def encode_jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    """JPEG bytes of an 8-bit RGB image (the preview format: a few ms to encode)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def encode_png(image) -> bytes:
    """PNG bytes of a PIL image or an 8-bit array."""
    import io

    from PIL import Image

    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
