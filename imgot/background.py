"""Background: the near-white pixels of slides and scans, which normalization leaves as they are.

A tile of empty glass has no stain to normalize: transporting its colors onto
a dataset's barycenter (mostly tissue) would paint the glass with tissue
colors. With a `background` level (a fraction of full scale, such as 0.85),
a pixel whose lightness (ITU-R 601 luma, blurred over :data:`SMOOTH` pixels
so that the grain of the glass does not flicker across the level) is at
least that level is background, one darker by :data:`RAMP` or more is
content, and the weight fades linearly in between (no seam along pale
tissue). Luma rather than the darkest channel: glass under a color cast
(lavender, pink) is still light. Content weights are the selection of
the image's statistics and the apply mask of its result, so background
pixels neither give colors nor take them; a tile whose content share is
below `min_content` is left unchanged altogether (bit for bit).
"""

from __future__ import annotations

from numbers import Real

import numpy as np

from .mapping import ColorLUT
from .pixels import Pixels, as_pixels, to_output
from .transfer import ColorTransfer

__all__ = ["RAMP", "SMOOTH", "content_weight", "content_share", "check_background", "ContentTransfer"]

RAMP = 0.05  # the fade from content to background, in fractions of full scale of the luma
SMOOTH = 2.0  # sigma, in pixels, of the blur of the luma before it is compared with the level
_LUMA = (0.299, 0.587, 0.114)


def check_background(background, min_content) -> None:
    """Refuse a `background` level outside (0, 1] (None is allowed: no background) or `min_content` outside [0, 1].

    Raises
    ------
    ValueError
    """
    if background is not None and (not isinstance(background, Real) or isinstance(background, bool)
                                   or not 0 < float(background) <= 1):
        raise ValueError(f"background must be None or a level in (0, 1] (a fraction of full scale), "
                         f"got {background!r}")
    if not isinstance(min_content, Real) or isinstance(min_content, bool) or not 0 <= float(min_content) <= 1:
        raise ValueError(f"min_content must be a share in [0, 1], got {min_content!r}")


def content_weight(pixels: Pixels, background: float) -> np.ndarray:
    """How much each pixel is content (not background), float32 (H, W) in [0, 1].

    0 where the pixel's luma, blurred with a Gaussian of sigma :data:`SMOOTH`
    pixels, is at least `background` (a fraction of full scale), 1 where it
    is below ``background - RAMP``, linear in between. Fully transparent
    pixels are 0.

    Examples
    --------
    >>> glass = np.full((8, 8, 3), [236, 230, 240], np.uint8)  # luma 0.91
    >>> glass[:, 4:] = [200, 120, 160]  # tissue, luma 0.57
    >>> weight = content_weight(as_pixels(glass), 0.85)
    >>> float(weight[0, 0]), float(weight[0, 7])
    (0.0, 1.0)
    """
    from scipy.ndimage import gaussian_filter

    if pixels.is_gray:
        luma = pixels.color.astype(np.float32)
    else:
        luma = pixels.color[..., 0].astype(np.float32) * np.float32(_LUMA[0])
        luma += pixels.color[..., 1].astype(np.float32) * np.float32(_LUMA[1])
        luma += pixels.color[..., 2].astype(np.float32) * np.float32(_LUMA[2])
    luma *= np.float32(1.0 / pixels.scale)
    luma = gaussian_filter(luma, SMOOTH, mode="nearest")
    weight = np.clip((np.float32(background) - luma) * np.float32(1.0 / RAMP), 0.0, 1.0)
    if pixels.alpha is not None:
        weight[pixels.alpha == 0] = 0.0
    return weight


def content_share(pixels: Pixels, weight: np.ndarray) -> float:
    """The content share of an image: the mean content weight over its opaque pixels (0 if none)."""
    opaque = np.ones(weight.shape, bool) if pixels.alpha is None else pixels.alpha > 0
    return float(weight[opaque].mean()) if opaque.any() else 0.0


class ContentTransfer(ColorTransfer):
    """A :class:`~imgot.ColorTransfer` that leaves background alone (see the module notes).

    Its parameters are :class:`~imgot.ColorTransfer`'s; the rule is set
    after construction with :meth:`set_background` (by :class:`imgot.Normalizer`),
    and read back as ``background_`` (None: no background, a plain transfer)
    and ``min_content_``.
    """

    background_: float | None = None
    min_content_: float = 0.0

    def set_background(self, background: float | None, min_content: float = 0.0) -> "ContentTransfer":
        """Leave pixels at least as light as `background` alone, and tiles with less content than `min_content`.

        Returns
        -------
        self : ContentTransfer

        Raises
        ------
        ValueError
            For a level outside (0, 1] or a share outside [0, 1] (:func:`check_background`).
        """
        check_background(background, min_content)
        self.background_, self.min_content_ = background, float(min_content)
        return self

    def content(self, image) -> tuple[Pixels, np.ndarray | None]:
        """`image` as Pixels and its content weights; None when the image is to be left unchanged.

        Without a background rule every pixel is content: the weights are
        all 1.
        """
        pixels = as_pixels(image)
        if self.background_ is None:
            return pixels, np.ones(pixels.color.shape[:2], np.float32)
        weight = content_weight(pixels, float(self.background_))
        share = content_share(pixels, weight)
        return pixels, (weight if share > 0 and share >= self.min_content_ else None)

    def _combined(self, pixels: Pixels, mask, weight: np.ndarray, what: str):
        from .regions import as_weight

        if mask is None:
            return weight
        return weight * as_weight(mask, weight.shape, what=what, alpha=pixels.alpha, scale=pixels.scale)

    def transform(self, image, *, source_mask=None, apply_mask=None, source_labels=None):
        """Recolor the content of `image`; background keeps its colors, a background tile is returned as is.

        See :meth:`imgot.ColorTransfer.transform`; `source_mask` and
        `apply_mask` multiply the content weights.
        """
        if self.background_ is None:
            return super().transform(image, source_mask=source_mask, apply_mask=apply_mask,
                                     source_labels=source_labels)
        self._check_fitted()
        pixels, weight = self.content(image)
        if weight is None:
            return to_output(pixels, pixels.color.copy())
        return super().transform(pixels, source_mask=self._combined(pixels, source_mask, weight, "source mask"),
                                 apply_mask=self._combined(pixels, apply_mask, weight, "apply mask"),
                                 source_labels=source_labels)

    def color_lut(self, image, *, source_mask=None) -> ColorLUT:
        """The color map fitted on the content of `image` (the identity for a background tile).

        The LUT holds no mask: applied to the whole image it recolors the
        background too (use :meth:`transform` for the masked result).
        """
        if self.background_ is None:
            return super().color_lut(image, source_mask=source_mask)
        pixels, weight = self.content(image)
        if weight is None:
            from .mapping import _lattice

            size = int(self.lut_size)
            return ColorLUT(_lattice(size).reshape(size, size, size, 3))
        return super().color_lut(pixels, source_mask=self._combined(pixels, source_mask, weight, "source mask"))
