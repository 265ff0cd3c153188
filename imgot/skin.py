"""Skin protection: a smooth weight for the skin tones of an image, from their CIELAB hue, chroma and lightness.

``protect_skin=AMOUNT`` blends each pixel of the result back toward the
source by ``AMOUNT * skin_weight(source)``: skin keeps most of its own tone,
everything else takes the full grade, and since the weight is a smooth
function of color there is no edge where the protection starts.

The region. Measured human skin, across ethnic groups and body sites, lies in
a narrow band of CIELAB hue angles, about 30 to 70 degrees (a* and b* both
positive, b* up to about twice a*), at moderate chroma, about 10 to 40, and
over almost all lightnesses: Weatherall and Coombs (1992) describe forearm
skin by its L*, hue angle and chroma; Xiao et al. (2017) and the CIE TC 1-92
skin colour database (over 12 000 measured patches, CIE x050:2023) find that
the groups overlap widely and differ mostly in lightness and yellowness (b*),
redness (a*) varying with body site. The weight is the product of three
smooth plateaus (smoothstep edges) over that band:

====================  ===========  ==============  ===========
                      fades in     full weight     fades out
====================  ===========  ==============  ===========
hue angle h_ab (deg)  15 .. 30     30 .. 72        72 .. 88
chroma C*_ab          6 .. 14      14 .. 38        38 .. 52
lightness L*          8 .. 20      20 .. 92        92 .. 99
====================  ===========  ==============  ===========

The edges are imgot's choice, widened from the measured ranges for what
cameras and grades do to skin (warmer, yellower). What they exclude:
neutrals and near-neutrals (gray, white, black, an off-white wall: chroma
under 6, where JPEG noise would otherwise switch the weight on and off
block by block), saturated warm objects that are not skin (an orange, an
orange space suit, a red car, a yellow sign: chroma over 52, or hue outside
15..88), speculars (L* over 99). What they cannot tell from skin by color
alone: warm wood, sand, beige walls and blond or brown hair of skin-like hue
and chroma; restrict the protection with an apply mask where that matters.

Skin is not one color: its highlights are near-white, freckles and shadows
darker and yellower, and color alone would leave holes in a face where the
grade shows as spots. The weight map is therefore closed (small holes take
their surroundings' weight) and blurred, on a grid of about 512 pixels
(:func:`skin_weight`); inside a skin area wider than the blur the weight is
the color's own.

References
----------
Weatherall, I. L. and Coombs, B. D. (1992). Skin color measurements in terms
of CIELAB color space values. Journal of Investigative Dermatology 99(4), 468-473.

Xiao, K., Yates, J. M., Zardawi, F., et al. (2017). Characterising the
variations in ethnic skin colours: a new calibrated data base for human skin.
Skin Research and Technology 23(1), 21-29.

CIE x050:2023 (Xiao, K. et al.). A comprehensive database of human skin colour
(CIE TC 1-92 skin colour database).
"""

from __future__ import annotations

import numpy as np

from .colorspace import pixels_to_lab

__all__ = ["SKIN_HUE", "SKIN_CHROMA", "SKIN_LIGHTNESS", "skin_weight", "skin_weight_lab"]

# (fade-in start, full from, full to, fade-out end) of each plateau; see the module docstring.
SKIN_HUE = (15.0, 30.0, 72.0, 88.0)
SKIN_CHROMA = (6.0, 14.0, 38.0, 52.0)
GRID = 512  # the weight is computed on a grid of about this many pixels on the shorter side
OPENING = 0.008  # diameter of the gray-level opening that drops thin lines (edges of orange objects)
CLOSING = 0.025  # diameter of the gray-level closing that fills small holes, as a share of that side
BLUR = 0.004  # Gaussian sigma of the final blur, as a share of that side
_SNAP = np.float32(1.0 / 1024)
SKIN_LIGHTNESS = (8.0, 20.0, 92.0, 99.0)


def _plateau(values: np.ndarray, edges: tuple[float, float, float, float]) -> np.ndarray:
    """1 on [b, c], 0 outside (a, d), smoothstep in between (C1-continuous: no visible edge)."""
    a, b, c, d = (np.float32(edge) for edge in edges)
    rise = np.clip((values - a) / (b - a), 0.0, 1.0)
    fall = np.clip((d - values) / (d - c), 0.0, 1.0)
    rise *= rise * (np.float32(3.0) - np.float32(2.0) * rise)
    fall *= fall * (np.float32(3.0) - np.float32(2.0) * fall)
    return rise * fall


def skin_weight_lab(lab: np.ndarray) -> np.ndarray:
    """The skin weight in [0, 1] of (..., 3) CIELAB colors, float32 of shape (...).

    Examples
    --------
    >>> lab = np.array([[65.0, 18.0, 22.0], [65.0, -20.0, -30.0], [60.0, 45.0, 70.0], [50.0, 0.0, 0.0]])
    >>> skin_weight_lab(lab).round(3).tolist()  # skin, sky, saturated orange, gray
    [1.0, 0.0, 0.0, 0.0]
    """
    lab = np.asarray(lab, np.float32)
    a, b = lab[..., 1], lab[..., 2]
    hue = np.degrees(np.arctan2(b, a)).astype(np.float32, copy=False)  # in (-180, 180]: skin is never near the cut
    chroma = np.hypot(a, b)
    weight = _plateau(hue, SKIN_HUE)
    weight *= _plateau(chroma, SKIN_CHROMA)
    weight *= _plateau(lab[..., 0], SKIN_LIGHTNESS)
    return weight


def _coarse(color: np.ndarray, step: int) -> np.ndarray:
    """`color` (H, W, 3) box-averaged over `step` x `step` blocks (the last partial ones dropped), float32."""
    if step == 1:
        return color.astype(np.float32)
    if color.dtype == np.uint8:
        from PIL import Image

        return np.asarray(Image.fromarray(np.ascontiguousarray(color)).reduce(step), np.float32)
    height, width = (n // step * step for n in color.shape[:2])
    blocks = color[:height, :width].reshape(height // step, step, width // step, step, 3)
    return blocks.mean(axis=(1, 3), dtype=np.float32)


def _disk(radius: int) -> np.ndarray:
    """A disk footprint of `radius` pixels (a round structuring element: no square artefacts)."""
    axis = np.arange(-radius, radius + 1)
    return axis[:, None] ** 2 + axis[None, :] ** 2 <= radius * radius + radius


def _upsample(weight: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """`weight` resized to `shape` (H, W) by bilinear interpolation (Pillow's, in C)."""
    if weight.shape == shape:
        return weight
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(weight, np.float32), mode="F")
    return np.array(image.resize((shape[1], shape[0]), Image.Resampling.BILINEAR), np.float32)  # writeable


def skin_weight(color: np.ndarray, scale: float) -> np.ndarray:
    """The skin weight of every pixel, float32 of shape (H, W), in [0, 1] (0 for a gray image).

    The color weight (:func:`skin_weight_lab`) is computed on a grid of
    about 512 pixels on the shorter side (box averages of the image), opened
    (a gray-level opening over 0.8% of that side: the thin lines of
    skin-like colors along the edges of saturated orange or red objects
    drop out), closed (over 2.5%: highlights, freckles, eyes and lips inside
    a face take the face's weight, so no spot of the grade appears in them),
    blurred by a Gaussian of 0.4% of the side (no
    edge where the protection starts, no JPEG block in it) and interpolated
    back to every pixel.

    Parameters
    ----------
    color : ndarray of shape (H, W, 3) or (H, W)
        sRGB values in [0, scale].
    scale : float
        Full intensity: 255, 65535 or 1.0.

    Examples
    --------
    >>> patch = np.zeros((8, 16, 3), np.uint8)
    >>> patch[:, :8], patch[:, 8:] = (224, 160, 130), (90, 140, 220)  # light skin, sky blue
    >>> weight = skin_weight(patch, 255)
    >>> bool(weight[:, :4].min() > 0.99), bool(weight[:, 12:].max() < 0.01)
    (True, True)
    """
    from scipy.ndimage import gaussian_filter, grey_closing, grey_opening

    shape = color.shape[:2]
    if color.ndim == 2:
        return np.zeros(shape, np.float32)
    step = max(1, min(shape) // GRID)
    small = _coarse(color, step)
    small *= np.float32(1.0 / scale)
    weight = skin_weight_lab(pixels_to_lab(small, 1.0))
    side = min(weight.shape)
    for operation, share in ((grey_opening, OPENING), (grey_closing, CLOSING)):
        radius = int(round(share * side / 2))
        if radius >= 1:
            weight = operation(weight, footprint=_disk(radius), mode="nearest")
    sigma = BLUR * side
    if sigma >= 0.3:
        weight = gaussian_filter(weight, sigma, mode="nearest")
    weight = _upsample(weight, shape)
    # Weights within 1/1024 of 0 or 1 move no 8-bit level: snap them, so that only the pixels near
    # skin take the (slower) partial blend.
    weight[weight < _SNAP] = 0.0
    weight[weight > 1.0 - _SNAP] = 1.0
    return weight
