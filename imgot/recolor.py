"""Recolor pixels through a 3-D LUT, then the per-pixel finishing steps a LUT cannot hold.

A color map is a LUT (:class:`imgot.mapping.ColorLUT`); what follows it
depends on each pixel itself or on its neighbourhood, so it runs per pixel:
the exact source lightness (``preserve_luminance``), the detail step
(``preserve_detail``), the color intensity (``saturation``), skin protection
(``protect_skin``), and the apply mask and ignored color (:mod:`imgot.regions`).
:class:`imgot.ColorTransfer`, ``imgot batch --fit-on``, ``imgot apply`` and
``--save-lut`` all finish their maps here, so the same options give the same
bytes everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .mapping import ColorLUT
from .pixels import Pixels, as_pixels, quantize, to_output
from .regions import apply_weight, check_ignore_depth, composite, ignored_pixels
from .validation import renamed

__all__ = ["LUTTransform", "apply_lut", "apply_lut_to_image", "finish", "blend_back", "lut_on_colors"]


def finish(pixels: Pixels, mapped: np.ndarray | Callable[[np.ndarray], np.ndarray], *, preserve_detail: bool,
           preserve_luminance: bool,
           ignore: np.ndarray | None = None, labels: np.ndarray | None = None,
           saturation: float = 1.0) -> np.ndarray:
    """The per-pixel finishing steps after a color map, on `mapped` (the dtype of `pixels`).

    ``preserve_luminance`` gives every pixel the source's L* (chroma reduced
    where sRGB cannot hold it at that lightness); otherwise ``preserve_detail`` gives
    the output the source's fine lightness detail. Neither fits in a LUT: they
    depend on each pixel's neighbourhood or on its exact source lightness.
    Pixels in `ignore` (an ignored color) do not enter the detail step's
    statistics, so a nodata frame does not lighten or tint its neighbours;
    with `labels` (region transfers) each region is filtered apart.
    Then ``saturation`` scales the CIELAB chroma of that result, keeping its
    L* and hue (:func:`imgot.saturation.scale_chroma`; 1 is the identity).
    `mapped` may be the color map as a function of colors (see
    :func:`imgot.detail.preserve_detail`), run only where it is needed.
    """
    result: np.ndarray
    if preserve_detail and not preserve_luminance:
        from .detail import preserve_detail as detail_step

        keep = None if ignore is None or not ignore.any() else ~ignore
        out: np.ndarray | None
        if callable(mapped):  # the result keeps the image's dtype, as the mapped image would
            out = np.empty(pixels.color.shape, pixels.color.dtype)
        else:
            out = mapped if mapped.flags.writeable else None
        result = detail_step(pixels.color, mapped, keep=keep, labels=labels, out=out)
    else:
        result = mapped(pixels.color) if callable(mapped) else mapped
        if preserve_luminance:
            from .relight import keep_lightness

            result = keep_lightness(pixels.color, result, pixels.scale)
    if saturation != 1.0:
        from .saturation import scale_chroma

        result = scale_chroma(result, pixels.scale, float(saturation))
    return result


def blend_back(original: Pixels, source: Pixels, result: np.ndarray, weight: np.ndarray | None, *,
               protect_skin: float = 0.0) -> np.ndarray:
    """The output color: `result` blended back toward `source` on skin, then placed by `weight`.

    Each pixel moves back toward `source` (the image the map was applied
    to) by ``protect_skin`` times its skin weight
    (:func:`imgot.skin.skin_weight`, a smooth function of the source color),
    then replaces `original` where `weight` (the apply mask, 0 on ignored
    pixels; None for everywhere) says so. `source` is `original` unless it
    was neutralized first.
    """
    if protect_skin > 0 and not source.is_gray:
        from .skin import skin_weight

        keep = skin_weight(source.color, source.scale)
        keep *= np.float32(-protect_skin)
        keep += np.float32(1.0)
        result = _blend(source.color, result, keep, source.scale)
    return composite(original.color, result, weight)


def _blend(source: np.ndarray, result: np.ndarray, weight: np.ndarray, scale: float) -> np.ndarray:
    """``source + weight * (result - source)`` on every pixel, in row blocks and threads, in their dtype.

    Exactly `source` where `weight` is 0 and `result` where it is 1 (float32 holds every 16-bit level);
    unlike :func:`imgot.regions.composite` it does not gather the partial pixels, which a smooth skin
    weight makes a third of a portrait.
    """
    from .relight import for_row_blocks

    out = np.empty_like(result)
    work_dtype = np.float64 if source.dtype == np.float64 else np.float32

    def work(rows: slice) -> None:
        w = weight[rows] if source.ndim == 2 else weight[rows][..., None]
        low = source[rows].astype(work_dtype)
        mixed = result[rows].astype(work_dtype)
        mixed -= low
        mixed *= w
        mixed += low
        if source.dtype.kind == "f":
            out[rows] = quantize(mixed, source.dtype)
        else:
            np.rint(mixed, out=mixed)
            out[rows] = np.clip(mixed, 0, scale).astype(source.dtype)

    for_row_blocks(source.shape[0], source.shape[1], work)
    return out


@dataclass(frozen=True)
class LUTTransform:
    """A color map fitted once, as a LUT, with the finishing steps to apply after it.

    What ``imgot batch --fit-on`` applies to every image: ``transform`` equals
    ``ColorTransfer.transform`` of the model whose ``color_lut`` gave `lut`.

    Attributes
    ----------
    lut : ColorLUT
    preserve_detail, preserve_luminance : bool
        See :func:`finish`.
    saturation, protect_skin : float
        See :func:`apply_lut_to_image`.
    """

    lut: ColorLUT
    preserve_detail: bool = False
    preserve_luminance: bool = False
    ignore_color: tuple | None = None
    ignore_tolerance: float = 0
    feather: float | None = None
    saturation: float = 1.0
    protect_skin: float = 0.0

    @classmethod
    def from_model(cls, model, image, *, source_mask=None) -> "LUTTransform":
        """The LUT that `model` fits for `image` (its `source_mask` selection), with the model's finishing steps."""
        return cls(model.color_lut(image, source_mask=source_mask), bool(model.preserve_detail),
                   bool(model.preserve_luminance), model.ignore_color, model.ignore_tolerance, model.feather,
                   float(model.saturation), float(model.protect_skin))

    def transform(self, image, *, apply_mask=None):
        """Recolor `image`: the LUT, then the finishing steps, through `apply_mask` if given."""
        return apply_lut_to_image(self.lut, image, preserve_detail=self.preserve_detail,
                                  preserve_luminance=self.preserve_luminance, apply_mask=apply_mask,
                                  feather=self.feather, ignore_color=self.ignore_color,
                                  ignore_tolerance=self.ignore_tolerance, saturation=self.saturation,
                                  protect_skin=self.protect_skin)


def apply_lut_to_image(lut: ColorLUT, image, *, preserve_detail: bool = False, preserve_luminance: bool = False,
                       apply_mask=None, feather: float | None = None, ignore_color=None, ignore_tolerance=0,
                       saturation: float = 1.0, protect_skin: float = 0.0, **deprecated):
    """Map any accepted image through `lut`, keeping its kind, dtype, shape and alpha.

    Parameters
    ----------
    lut : ColorLUT
    image : ndarray or PIL.Image.Image
    preserve_detail, preserve_luminance : bool, default False
        The per-pixel finishing steps of :class:`ColorTransfer` (see
        :func:`finish`), which a LUT cannot hold: with the LUT of
        ``model.color_lut(image)`` and the model's own `preserve_detail` and
        `preserve_luminance`, the result equals ``model.transform(image)``.
    apply_mask, feather, ignore_color, ignore_tolerance : optional
        Where the result replaces the source, as in
        :meth:`ColorTransfer.transform`: elsewhere, and on pixels of the
        ignored color, the source is copied unchanged.
    saturation : float, default 1.0
        Color intensity: the chroma of the result times this, L* and hue kept
        (:func:`finish`); 1 is the identity.
    protect_skin : float in [0, 1], default 0.0
        Move skin tones back toward `image` by this times their skin weight
        (:func:`blend_back`).
    **deprecated
        ``detail``, the old name of `preserve_detail` (DeprecationWarning).

    Returns
    -------
    ndarray or PIL.Image.Image

    Examples
    --------
    >>> from imgot.mapping import ColorLUT, _lattice
    >>> identity = ColorLUT(_lattice(5).reshape(5, 5, 5, 3))
    >>> image = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    >>> bool((apply_lut_to_image(identity, image) == image).all())
    True
    """
    preserve_detail = renamed("apply_lut_to_image", deprecated).get("preserve_detail", preserve_detail)
    pixels = as_pixels(image)
    check_ignore_depth(ignore_color, pixels.scale)
    ignore = ignored_pixels(pixels, ignore_color, ignore_tolerance)
    mapped = finish(pixels, lut_on_colors(lut, pixels), preserve_detail=preserve_detail,
                    preserve_luminance=preserve_luminance, ignore=ignore, saturation=saturation)
    weight = apply_weight(pixels, apply_mask, feather=feather or 0.0, ignore=ignore)
    return to_output(pixels, blend_back(pixels, pixels, mapped, weight, protect_skin=protect_skin))


def lut_on_colors(lut: ColorLUT, pixels: Pixels) -> Callable[[np.ndarray], np.ndarray]:
    """`lut` as a function of colors in the dtype and scale of `pixels` (for :func:`finish`)."""
    return lambda color: apply_lut(lut, pixels.with_color(color))


def apply_lut(lut: ColorLUT, pixels: Pixels) -> np.ndarray:
    """Map the color of `pixels` through `lut`, keeping their dtype."""
    color = pixels.color
    if pixels.is_gray:
        levels = 256 if color.dtype == np.uint8 else 65536
        curve = quantize(lut.apply_gray(np.linspace(0.0, 1.0, levels)), color.dtype)
        if color.dtype.kind == "f":
            grid = np.linspace(0.0, 1.0, levels)
            return np.interp(color, grid, curve).astype(color.dtype)
        return curve[color]
    if color.dtype == np.uint8:
        return lut.apply_uint8(color)
    return quantize(lut.apply_float(color, pixels.scale), color.dtype)
