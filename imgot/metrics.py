"""Quality metrics for a color transfer: color distance, structure and grain.

Three questions about a result, each answered by one number:

- :func:`color_distance`: how far apart are two images' color distributions
  (sliced Wasserstein-2 in CIELAB)? A transfer should bring the output closer
  to the reference than the source was.
- :func:`structure_similarity`: does the output keep the source's structure
  (SSIM of the L* channels)?
- :func:`grain`: did the transfer add high-frequency noise to L* (banding,
  speckle), or smooth it away?

Every function accepts any image :func:`imgot.pixels.as_pixels` accepts; alpha
is ignored and a gray image counts as R = G = B. Images of any size are
scored: the windowed scores shrink their window to fit a small or thin image
(1 x 5000 gets 1 x 7 windows), and a score that a single pixel cannot have
(no local variance in a 1 x 1 window, no frequency in a 1 x 1 image) is
``None``, which the commands print as ``n/a`` and the server sends as null. Only a capped pixel sample is
converted to full CIELAB; the per-pixel metrics need only L*, which
:func:`lightness` computes directly from luminance in float32.
"""

from __future__ import annotations

import dataclasses
from numbers import Real

import numpy as np

from .colorspace import lightness_from_luminance, relative_luminance, srgb_to_lab
from .palette import sample_rgb
from .pixels import Pixels, as_pixels
from .validation import check_integer

__all__ = ["color_distance", "structure_similarity", "grain", "lightness", "structure_score",
           "chroma_structure", "blotch"]

# Below this high-frequency energy (L* units squared, an rms amplitude of
# 0.001 L*), an image counts as flat; see `grain`.
_FLAT_ENERGY = 1e-6


def _lightness(pixels: Pixels) -> np.ndarray:
    return lightness_from_luminance(relative_luminance(pixels.color, pixels.scale))


def lightness(image) -> np.ndarray:
    """CIELAB lightness L* of every pixel, in float32.

    L* depends only on the relative luminance Y of the linearized sRGB values:
    ``Y = 0.212671 R + 0.715160 G + 0.072169 B`` and
    ``L* = 116 Y^(1/3) - 16`` (or ``903.3 Y`` when ``Y <= 0.008856``), with
    the constants of :func:`imgot.colorspace.srgb_to_lab` (scikit-image's
    ``rgb2lab``, D65). Computed in float32 without forming a full Lab image,
    so a 12 MP image costs a few 48 MB planes.

    Parameters
    ----------
    image : ndarray or PIL.Image.Image
        (H, W[, C]) with C in 1..4; uint8, uint16 or float in [0, 1], or a PIL
        image. Alpha is ignored; a gray image counts as R = G = B.

    Returns
    -------
    ndarray of shape (H, W), float32
        L* in [0, 100].

    Examples
    --------
    >>> import numpy as np
    >>> lightness(np.array([[[0, 0, 0], [255, 255, 255]]], dtype=np.uint8))
    array([[  0., 100.]], dtype=float32)
    """
    return _lightness(as_pixels(image))


def _lab_sample(image, n_samples: int, random_state: int) -> np.ndarray:
    """CIELAB colors of a seeded sample of at most `n_samples` pixels, shape (S, 3).

    Every counted pixel when there are at most `n_samples`; otherwise a sample
    without replacement (:func:`imgot.palette.sample_rgb`). Alpha is ignored,
    as by every metric here; pixels outside a selection do not count.
    """
    pixels = as_pixels(image)
    pixels = pixels if pixels.alpha is None else dataclasses.replace(pixels, alpha=None)
    return srgb_to_lab(sample_rgb(pixels, n_samples, random_state, replace=False))


def color_distance(
    a,
    b,
    *,
    n_samples: int = 20000,
    n_projections: int = 128,
    random_state: int = 0,
) -> float:
    """Sliced Wasserstein-2 distance between two images' CIELAB color distributions.

    With mu and nu the empirical distributions of the two images' pixel colors
    in CIELAB and theta_1..theta_K random directions on the unit sphere,

    .. math::

        SW_2(\\mu, \\nu) = \\Big( \\frac{1}{K} \\sum_{k=1}^{K}
            W_2^2(\\theta_k \\cdot \\mu, \\theta_k \\cdot \\nu) \\Big)^{1/2}

    where each one-dimensional W_2 is computed exactly from sorted projections
    (POT's :func:`ot.sliced_wasserstein_distance`). It is in Lab units (about
    one just-noticeable difference per unit). Translating an image's colors by
    a vector v moves it by ``|v| / sqrt(3)`` on average over directions.

    Each image is reduced to a seeded sample of at most `n_samples` pixels
    (all pixels of smaller images), drawn without replacement by
    ``np.random.default_rng(random_state).choice(H * W, n_samples, replace=False)``;
    only the sample is converted to Lab. Both images are sampled with the same
    seed, so ``color_distance(a, a) == 0`` and the distance is symmetric.

    Parameters
    ----------
    a, b : ndarray or PIL.Image.Image
        Any images :func:`imgot.transfer` accepts, of any sizes. Alpha is
        ignored; a gray image counts as R = G = B.
    n_samples : int, default 20000
        Pixels sampled per image; the cost does not grow with the image.
    n_projections : int, default 128
        Random directions of the slicing.
    random_state : int, default 0
        Seed of the pixel sampling and of the directions.

    Returns
    -------
    float
        The distance, >= 0.

    Raises
    ------
    ValueError
        For a non-integer or non-positive `n_samples` or `n_projections`, or a
        `random_state` that is not a non-negative integer.

    References
    ----------
    N. Bonneel, J. Rabin, G. Peyre, H. Pfister, "Sliced and Radon Wasserstein
    barycenters of measures", J. Math. Imaging Vis. 51 (2015).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> image = rng.random((16, 16, 3))
    >>> color_distance(image, image)
    0.0
    >>> bool(color_distance(image, image * 0.5) > 10)
    True
    """
    from .transport import random_directions, sliced_wasserstein

    check_integer("n_samples", n_samples, 1)
    check_integer("n_projections", n_projections, 1)
    check_integer("random_state", random_state, 0)
    lab_a = _lab_sample(a, int(n_samples), int(random_state))
    lab_b = _lab_sample(b, int(n_samples), int(random_state))
    return sliced_wasserstein(lab_a, lab_b, random_directions(3, int(n_projections), int(random_state)))


def _paired_pixels(source, output) -> tuple[Pixels, Pixels]:
    """Two images that must share their height and width, through the input gate."""
    source_pixels, output_pixels = as_pixels(source), as_pixels(output)
    if source_pixels.color.shape[:2] != output_pixels.color.shape[:2]:
        raise ValueError(
            "source and output must have the same height and width, "
            f"got shapes {source_pixels.shape} and {output_pixels.shape}"
        )
    return source_pixels, output_pixels


def _paired_lightness(source, output) -> tuple[np.ndarray, np.ndarray]:
    """L* of two images that must share their height and width."""
    source_pixels, output_pixels = _paired_pixels(source, output)
    return _lightness(source_pixels), _lightness(output_pixels)


_WINDOW = 7  # the side of the local windows of the windowed scores (scikit-image's SSIM default)


def _window(shape: tuple) -> tuple[int, int] | None:
    """The local window on an image of `shape`: 7 x 7, or per axis the largest odd size that fits.

    None when that is a single pixel (an image 1 or 2 pixels on both sides):
    a window of one pixel has no variance, and the windowed scores are undefined.

    >>> _window((480, 640)), _window((1, 5000)), _window((4, 2))
    ((7, 7), (1, 7), (3, 1))
    >>> _window((2, 2)) is None
    True
    """
    rows, cols = (min(_WINDOW, side if side % 2 else side - 1) for side in shape[:2])
    return None if rows * cols < 2 else (rows, cols)


def _crop(values: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """`values` without the border that a centred window reaches past (scikit-image's SSIM crop)."""
    top, left = (window[0] - 1) // 2, (window[1] - 1) // 2
    return values[top:values.shape[0] - top, left:values.shape[1] - left]


def _local_moments(x: np.ndarray, y: np.ndarray, win: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample variances of x and y and their covariance over (rows, cols) windows, as in skimage's SSIM."""
    from scipy.ndimage import uniform_filter

    x, y = x.astype(np.float64), y.astype(np.float64)
    count = win[0] * win[1]
    cov_norm = count / (count - 1.0)
    ux, uy = uniform_filter(x, size=win), uniform_filter(y, size=win)
    vx = cov_norm * (uniform_filter(x * x, size=win) - ux * ux)
    vy = cov_norm * (uniform_filter(y * y, size=win) - uy * uy)
    vxy = cov_norm * (uniform_filter(x * y, size=win) - ux * uy)
    return np.clip(vx, 0, None), np.clip(vy, 0, None), vxy


def _ssim(x: np.ndarray, y: np.ndarray, window: tuple[int, int]) -> float:
    """Mean SSIM over (rows, cols) windows: scikit-image's formula, for windows it does not take (1 x 7)."""
    from scipy.ndimage import uniform_filter

    c1, c2 = (0.01 * 100.0) ** 2, (0.03 * 100.0) ** 2
    ux, uy = uniform_filter(x.astype(np.float64), size=window), uniform_filter(y.astype(np.float64), size=window)
    vx, vy, vxy = _local_moments(x, y, window)
    ssim = (2 * ux * uy + c1) * (2 * vxy + c2) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return float(np.mean(_crop(ssim, window), dtype=np.float64))


def structure_similarity(source, output) -> float | None:
    """Structural similarity (SSIM) of the two images' L* channels.

    With local means mu, variances sigma^2 and covariance sigma_xy over 7 x 7
    windows of the L* planes x (source) and y (output),

    .. math::

        SSIM = \\operatorname{mean} \\frac{(2 \\mu_x \\mu_y + C_1)(2 \\sigma_{xy} + C_2)}
            {(\\mu_x^2 + \\mu_y^2 + C_1)(\\sigma_x^2 + \\sigma_y^2 + C_2)},

    ``C1 = (0.01 L)^2``, ``C2 = (0.03 L)^2`` with the data range L = 100 (the
    span of L*), as computed by :func:`skimage.metrics.structural_similarity`.
    Images under 7 pixels on a side use the largest odd window that fits
    (3 or 5); an image 1 or 2 pixels high (or wide) a window one pixel across
    and up to 7 long (the same formula over 1 x 7 windows); a single-pixel
    window (1 x 1, 1 x 2, 2 x 2 images) has no variance: SSIM is undefined.
    1 means the same lightness structure; a color transfer that keeps edges and
    texture stays close to 1 even when it shifts every color.

    Parameters
    ----------
    source, output : ndarray or PIL.Image.Image
        Any images :func:`imgot.transfer` accepts, with the same height and
        width. Alpha is ignored; a gray image counts as R = G = B.

    Returns
    -------
    float or None
        The mean SSIM, at most 1; None for an image too small for a window
        of two pixels.

    Raises
    ------
    ValueError
        If the two images differ in height or width (the message gives both
        shapes).

    References
    ----------
    Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality
    assessment: from error visibility to structural similarity", IEEE Trans.
    Image Process. 13 (2004).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> image = rng.random((16, 16, 3))
    >>> structure_similarity(image, image)
    1.0
    >>> bool(structure_similarity(image, image[::-1]) < 0.5)
    True
    """
    from skimage.metrics import structural_similarity

    x, y = _paired_lightness(source, output)
    window = _window(x.shape)
    if window is None:
        return None
    if min(window) < 3:  # a thin image: windows one pixel across, which scikit-image does not take
        return _ssim(x, y, window)
    side = min(window)  # 7 x 7, or the largest odd square window that fits
    return float(structural_similarity(x, y, data_range=100.0, win_size=side))


def grain(source, output, *, sigma: float = 1.0) -> float | None:
    """Relative change of high-frequency energy in L*: added grain, or smoothing.

    With ``hf(x) = x - G_sigma * x`` the high-pass residual of the L* plane
    (Gaussian blur by :func:`scipy.ndimage.gaussian_filter`, reflecting
    borders) and ``E(x) = mean(hf(x)^2)`` its energy,

    .. math::

        grain = \\frac{E(L^*_{output}) + \\epsilon}{E(L^*_{source}) + \\epsilon} - 1,

    so 0 means no added grain, a positive value more high-frequency energy
    (noise, banding edges; 1 means twice the source's), and a negative value a
    smoother output (down to -1). ``epsilon = 1e-6`` (L* units squared, an rms
    residual of 0.001 L*, far below visibility) only guards the division for a
    flat source: a flat source and a flat output give 0, a flat source and a
    textured output a very large value.

    Parameters
    ----------
    source, output : ndarray or PIL.Image.Image
        Any images :func:`imgot.transfer` accepts, with the same height and
        width. Alpha is ignored; a gray image counts as R = G = B.
    sigma : float, default 1.0
        Standard deviation, in pixels, of the Gaussian whose residual counts as
        high frequency.

    Returns
    -------
    float or None
        The relative energy change, >= -1; None for a 1 x 1 image (a single
        pixel has no high frequencies).

    Raises
    ------
    ValueError
        If the two images differ in height or width (the message gives both
        shapes), or `sigma` is not a positive number.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> image = rng.random((16, 16, 3))
    >>> grain(image, image)
    0.0
    >>> round(grain(image, np.full_like(image, 0.5)), 3)
    -1.0
    """
    from scipy.ndimage import gaussian_filter

    if not isinstance(sigma, Real) or isinstance(sigma, bool) or not sigma > 0:
        raise ValueError(f"sigma must be a positive number, got {sigma!r}")

    def energy(plane: np.ndarray) -> float:
        residual = plane - gaussian_filter(plane, float(sigma))
        np.square(residual, out=residual)
        return float(np.mean(residual, dtype=np.float64))

    x, y = _paired_lightness(source, output)
    if x.size < 2:
        return None
    return (energy(y) + _FLAT_ENERGY) / (energy(x) + _FLAT_ENERGY) - 1.0


def structure_score(source, output) -> float | None:
    """Mean structure term of SSIM on the two images' L* channels.

    With local standard deviations sigma and covariance sigma_xy over 7 x 7
    windows of the L* planes x (source) and y (output),

    .. math::

        s = \\operatorname{mean} \\frac{\\sigma_{xy} + C_3}{\\sigma_x \\sigma_y + C_3},

    ``C3 = C2 / 2``, ``C2 = (0.03 L)^2`` with L = 100 (the span of L*). The
    window, the sample covariance (scaled by N / (N - 1), N = 49) and the
    cropped border are those of :func:`skimage.metrics.structural_similarity`,
    whose SSIM is this term times its luminance and contrast terms. Unlike
    :func:`structure_similarity`, a change of local brightness or contrast (the
    tone change a transfer must make) is not penalized: only the correlation of
    the local lightness patterns counts.

    Parameters
    ----------
    source, output : ndarray or PIL.Image.Image
        Any images :func:`imgot.transfer` accepts, with the same height and
        width. Alpha is ignored; a gray image counts as R = G = B. Under 7
        pixels on a side, the window is the largest odd size that fits on
        that side (1 x 7 on a 1 x 5000 image).

    Returns
    -------
    float or None
        The mean structure term, at most 1 (1 = same local structure); None
        for an image too small for a window of two pixels (1 x 1, 1 x 2, 2 x 2).

    Raises
    ------
    ValueError
        If the two images differ in height or width.

    References
    ----------
    Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality
    assessment: from error visibility to structural similarity", IEEE Trans.
    Image Process. 13 (2004), eq. 9.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> image = rng.random((16, 16, 3))
    >>> structure_score(image, image)
    1.0
    """
    x, y = _paired_lightness(source, output)
    window = _window(x.shape)
    if window is None:
        return None
    vx, vy, vxy = _local_moments(x, y, window)
    c3 = (0.03 * 100.0) ** 2 / 2.0
    s = (vxy + c3) / (np.sqrt(vx * vy) + c3)
    value = float(np.mean(_crop(s, window), dtype=np.float64))
    return 1.0 if abs(value - 1.0) < 1e-12 else value


def _paired_lab(source, output) -> tuple[np.ndarray, np.ndarray]:
    """Full CIELAB planes (float32) of two images that must share their height and width."""
    source_pixels, output_pixels = _paired_pixels(source, output)

    def lab(pixels: Pixels) -> np.ndarray:
        color = pixels.color.astype(np.float32) / np.float32(pixels.scale)
        if color.ndim == 2:
            color = np.repeat(color[..., None], 3, axis=-1)
        return srgb_to_lab(color).astype(np.float32)

    return lab(source_pixels), lab(output_pixels)


def chroma_structure(source, output) -> float | None:
    """Whether the output keeps the source's chroma patterns: SSIM's contrast-structure term on a* and b*.

    With local standard deviations sigma and covariance sigma_xy over 7 x 7
    windows of the a* (then b*) planes x (source) and y (output),

    .. math::

        cs = \\operatorname{mean} \\frac{2 \\sigma_{xy} + C_2}{\\sigma_x^2 + \\sigma_y^2 + C_2},

    ``C2 = (0.03 L)^2`` with L = 100, averaged over a* and b*. Unlike the
    structure term alone, it falls where the output draws chroma variation
    that the source lacks (speckle, blotches, false-color edges in a flat
    area: sigma_y >> sigma_x) as well as where the local chroma patterns
    disagree; a uniform shift of the colors (what a transfer is for) leaves
    it at 1. A uniform gain g on the chroma contrast gives ``2g / (1 + g^2)``
    in textured areas (0.8 for g = 2).

    Parameters
    ----------
    source, output : ndarray or PIL.Image.Image
        Any images :func:`imgot.transfer` accepts, with the same height and
        width. Alpha is ignored; a gray image counts as R = G = B. Windows
        shrink to fit as in :func:`structure_score`.

    Returns
    -------
    float or None
        The mean term, in [-1, 1] (1 = the source's chroma structure); None
        for an image too small for a window of two pixels.

    Raises
    ------
    ValueError
        If the two images differ in height or width.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> image = rng.random((16, 16, 3))
    >>> chroma_structure(image, image)
    1.0
    >>> flat = np.full((16, 16, 3), 0.5)
    >>> bool(chroma_structure(flat, image) < 0.1)
    True
    """
    x_lab, y_lab = _paired_lab(source, output)
    window = _window(x_lab.shape)
    if window is None:
        return None
    c2 = (0.03 * 100.0) ** 2
    terms = []
    for channel in (1, 2):
        vx, vy, vxy = _local_moments(x_lab[..., channel], y_lab[..., channel], window)
        cs = (2.0 * vxy + c2) / (vx + vy + c2)
        terms.append(float(np.mean(_crop(cs, window), dtype=np.float64)))
    value = float(np.mean(terms))
    return 1.0 if abs(value - 1.0) < 1e-12 else value


def blotch(source, output, *, smooth_share: float = 0.25) -> float | None:
    """The mid-scale CIELAB variation that the output adds in the source's smoothest areas, in Delta E.

    The band-pass ``B(x) = G_2 * x - G_8 * x`` of each CIELAB plane (Gaussian
    blurs of 2 and 8 pixels: structures of a few to about ten pixels, above
    grain, below shading) measures blotches, smudges and bands. The smoothest
    areas are the `smooth_share` of pixels where the source's own band-pass
    magnitude, averaged over 8 pixels, is lowest (skies, walls, skin, cloth).
    There,

    .. math::

        blotch = \\sqrt{\\operatorname{mean} |B(Lab_{output})|^2}
            - \\sqrt{\\operatorname{mean} |B(Lab_{source})|^2},

    so 0 means no added mid-scale variation, a positive value patches that
    the source does not have (in Delta E, CIE 1976), and a negative one a
    smoother output. A uniform color change leaves it at 0.

    Parameters
    ----------
    source, output : ndarray or PIL.Image.Image
        Any images :func:`imgot.transfer` accepts, with the same height and
        width. Alpha is ignored; a gray image counts as R = G = B.
    smooth_share : float in (0, 1], default 0.25
        Share of the source's pixels counted as its smoothest areas.

    Returns
    -------
    float or None
        The added rms band-pass variation, Delta E; None for an image under
        3 pixels on its longer side (no room for a mid-scale structure). A
        thin image (1 x 5000) is scored along its length.

    Raises
    ------
    ValueError
        If the two images differ in height or width, or `smooth_share` is not
        in (0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> image = rng.random((32, 32, 3))
    >>> blotch(image, image)
    0.0
    >>> ramp = np.repeat(np.linspace(0.2, 0.8, 64)[None, :, None], 64, axis=0).repeat(3, axis=2)
    >>> patchy = ramp.copy(); patchy[20:30, 20:30] += 0.1
    >>> bool(blotch(ramp, patchy) > 1.0)
    True
    """
    from scipy.ndimage import gaussian_filter

    if not isinstance(smooth_share, Real) or isinstance(smooth_share, bool) or not 0 < smooth_share <= 1:
        raise ValueError(f"smooth_share must be a number in (0, 1], got {smooth_share!r}")
    x_lab, y_lab = _paired_lab(source, output)
    if max(x_lab.shape[:2]) < 3:
        return None

    def band_energy(lab: np.ndarray) -> np.ndarray:
        energy = np.zeros(lab.shape[:2], np.float32)
        for channel in range(3):
            plane = lab[..., channel]
            band = gaussian_filter(plane, 2.0, mode="reflect") - gaussian_filter(plane, 8.0, mode="reflect")
            energy += band * band
        return energy

    source_energy = band_energy(x_lab)
    output_energy = band_energy(y_lab)
    local = gaussian_filter(np.sqrt(source_energy), 8.0, mode="reflect")
    count = max(1, int(round(float(smooth_share) * local.size)))
    smooth = np.argpartition(local.ravel(), count - 1)[:count]
    added = (np.sqrt(np.mean(output_energy.ravel()[smooth], dtype=np.float64))
             - np.sqrt(np.mean(source_energy.ravel()[smooth], dtype=np.float64)))
    return 0.0 if abs(added) < 1e-9 else float(added)
