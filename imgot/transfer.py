"""Optimal-transport color transfer: the estimator and the function.

``transfer(image, reference)`` is one line over
``ColorTransfer().fit(reference).transform(image)``, so there is one code path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from .colorspace import get_color_space
from .mapping import ColorLUT, build_lut
from .palette import Palette, fit_palette, sample_colors
from .pixels import Pixels, as_pixels, quantize, to_output
from .transport import TRANSPORT_METHODS, barycentric_projection, solve_plan

__all__ = ["ColorTransfer", "ColorMap", "transfer", "apply_lut_to_image", "NotFittedError"]


class NotFittedError(ValueError, AttributeError):
    """The estimator was used before :meth:`ColorTransfer.fit`."""


@dataclass(frozen=True)
class ColorMap:
    """Everything learned for one source image.

    Attributes
    ----------
    source_palette, reference_palette : Palette
        Weighted palettes in the working color space.
    plan : ndarray of shape (K_source, K_reference)
        The optimal transport plan between them.
    destinations : ndarray of shape (K_source, 3)
        The barycentric projection: where each source palette color goes.
    lut : ColorLUT
        The smooth per-pixel map, at the estimator's `strength`.
    """

    source_palette: Palette
    reference_palette: Palette
    plan: np.ndarray
    destinations: np.ndarray
    lut: ColorLUT

    def apply(self, image):
        """Recolor `image` through this map's LUT; see :func:`apply_lut_to_image`."""
        return apply_lut_to_image(self.lut, image)


def _palette_colors(pixels: Pixels, n_samples: int, seed: int) -> np.ndarray:
    """A seeded sample of the image's colors as float RGB in [0, 1], shape (S, 3)."""
    rng = np.random.default_rng(seed)
    sample = sample_colors(pixels.rgb_rows(), n_samples, rng, mask=pixels.opaque_mask())
    sample = sample.astype(np.float64) / pixels.scale
    if pixels.is_gray:
        sample = np.repeat(sample[:, None], 3, axis=1)
    return sample


class ColorTransfer:
    """Recolor images toward a reference's palette with optimal transport.

    Parameters
    ----------
    method : {'emd', 'sinkhorn'}, default 'emd'
        Exact transport (``ot.emd``) or entropic Sinkhorn (log domain).
    n_clusters : int, default 64
        Palette size (k-means clusters) for source and reference.
    n_samples : int, default 10000
        Pixels sampled per image to build a palette; independent of image size.
    reg : float, default 0.01
        Sinkhorn regularization relative to the median palette cost.
    max_iter : int, default 1000
        Sinkhorn iteration cap.
    tol : float, default 1e-9
        Sinkhorn marginal-error tolerance.
    color_space : {'lab', 'rgb'}, default 'lab'
        Space of the palettes and of the transport cost.
    strength : float in [0, 1], default 1.0
        Displacement interpolation time: each color moves ``strength`` of the
        way along its transport displacement; 0 returns the source exactly.
    preserve_luminance : bool, default False
        Keep the source's CIELAB L* and transfer only chroma and hue.
    lut_size : int, default 33
        Lattice points per axis of the 3-D LUT.
    bandwidth : float, default 1.0
        Smoothness of the color map, relative to the palette spacing.
    random_state : int, default 0
        Seed of the pixel sampling and of k-means. The same inputs and seed
        give the same output bytes.

    Attributes
    ----------
    reference_palette_ : Palette
        Learned by :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> warm = (rng.random((32, 32, 3)) * [255, 120, 60]).astype(np.uint8)
    >>> cool = (rng.random((32, 32, 3)) * [60, 120, 255]).astype(np.uint8)
    >>> model = ColorTransfer(n_clusters=8).fit(cool)
    >>> out = model.transform(warm)
    >>> out.shape, out.dtype
    ((32, 32, 3), dtype('uint8'))
    >>> bool(out[..., 2].mean() > warm[..., 2].mean())
    True
    """

    def __init__(
        self,
        *,
        method: str = "emd",
        n_clusters: int = 64,
        n_samples: int = 10000,
        reg: float = 0.01,
        max_iter: int = 1000,
        tol: float = 1e-9,
        color_space: str = "lab",
        strength: float = 1.0,
        preserve_luminance: bool = False,
        lut_size: int = 33,
        bandwidth: float = 1.0,
        random_state: int = 0,
    ):
        self.method = method
        self.n_clusters = n_clusters
        self.n_samples = n_samples
        self.reg = reg
        self.max_iter = max_iter
        self.tol = tol
        self.color_space = color_space
        self.strength = strength
        self.preserve_luminance = preserve_luminance
        self.lut_size = lut_size
        self.bandwidth = bandwidth
        self.random_state = random_state

    def _validate_params(self) -> None:
        if self.method not in TRANSPORT_METHODS:
            valid = ", ".join(TRANSPORT_METHODS)
            raise ValueError(f"unknown method {self.method!r}; choose one of: {valid}")
        get_color_space(self.color_space)
        for name, low in (("n_clusters", 1), ("n_samples", 1), ("max_iter", 1), ("lut_size", 2)):
            value = getattr(self, name)
            if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        for name in ("reg", "tol", "bandwidth"):
            value = getattr(self, name)
            if not isinstance(value, Real) or not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if not isinstance(self.strength, Real) or not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"strength must be in [0, 1], got {self.strength!r}")
        if not isinstance(self.random_state, Integral):
            raise ValueError(f"random_state must be an integer seed, got {self.random_state!r}")

    def _palette(self, pixels: Pixels) -> Palette:
        space = get_color_space(self.color_space)
        seed = int(self.random_state)
        colors = space.from_rgb(_palette_colors(pixels, self.n_samples, seed))
        return fit_palette(colors, self.n_clusters, seed)

    def fit(self, reference) -> "ColorTransfer":
        """Learn the reference's weighted palette.

        Parameters
        ----------
        reference : ndarray or PIL.Image.Image
            Any image :func:`imgot.transfer` accepts; alpha is ignored except
            that fully transparent pixels are left out of the palette.

        Returns
        -------
        self : ColorTransfer
        """
        self._validate_params()
        self.reference_palette_ = self._palette(as_pixels(reference))
        return self

    def color_map(self, image) -> ColorMap:
        """Solve the transport for `image` and build its per-pixel map.

        Parameters
        ----------
        image : ndarray or PIL.Image.Image

        Returns
        -------
        ColorMap
            Palettes, plan, barycentric destinations and the LUT.
        """
        return self._color_map(as_pixels(image))

    def _color_map(self, pixels: Pixels) -> ColorMap:
        if not hasattr(self, "reference_palette_"):
            raise NotFittedError("this ColorTransfer is not fitted yet; call fit(reference) first")
        self._validate_params()
        source = self._palette(pixels)
        reference = self.reference_palette_
        plan = solve_plan(
            source, reference, method=self.method, reg=self.reg, max_iter=self.max_iter, tol=self.tol
        )
        destinations = barycentric_projection(plan, reference.colors)
        lut = build_lut(
            source.colors,
            destinations,
            get_color_space(self.color_space),
            size=self.lut_size,
            strength=float(self.strength),
            preserve_luminance=self.preserve_luminance,
            bandwidth=float(self.bandwidth),
        )
        return ColorMap(source, reference, plan, destinations, lut)

    def transform(self, image):
        """Recolor `image` toward the fitted reference.

        Parameters
        ----------
        image : ndarray or PIL.Image.Image
            (H, W[, C]) with C in 1..4; uint8, uint16 or float in [0, 1].

        Returns
        -------
        ndarray or PIL.Image.Image
            The same kind, shape and dtype as `image`; alpha is copied as is.
        """
        pixels = as_pixels(image)
        if self.strength == 0:
            if not hasattr(self, "reference_palette_"):
                raise NotFittedError("this ColorTransfer is not fitted yet; call fit(reference) first")
            return to_output(pixels, pixels.color.copy())
        lut = self._color_map(pixels).lut
        return to_output(pixels, apply_lut(lut, pixels))

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Save the fitted estimator to a versioned ``.npz`` file (no pickle).

        Parameters
        ----------
        path : str or path-like
        overwrite : bool, default False
            Replace an existing file.

        See Also
        --------
        imgot.load : Read it back; :mod:`imgot.persist` has the details.

        Examples
        --------
        >>> import os, tempfile, imgot
        >>> model = ColorTransfer(n_clusters=2).fit(np.eye(3)[None])
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> model.save(path)
        >>> imgot.load(path).n_clusters
        2
        """
        from .persist import save

        save(path, self, overwrite=overwrite)


def apply_lut_to_image(lut: ColorLUT, image):
    """Map any accepted image through `lut`, keeping its kind, dtype, shape and alpha.

    Parameters
    ----------
    lut : ColorLUT
    image : ndarray or PIL.Image.Image

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
    pixels = as_pixels(image)
    return to_output(pixels, apply_lut(lut, pixels))


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


def transfer(
    image,
    reference,
    *,
    method: str = "emd",
    n_clusters: int = 64,
    reg: float = 0.01,
    color_space: str = "lab",
    strength: float = 1.0,
    preserve_luminance: bool = False,
    random_state: int = 0,
    **options,
):
    """Recolor `image` so that its colors follow `reference`'s, by optimal transport.

    Both images are reduced to weighted k-means palettes; the source palette is
    transported onto the reference palette (exact EMD or Sinkhorn), and every
    pixel follows a smooth blend of the palette displacements through a 3-D LUT.

    Parameters
    ----------
    image : ndarray or PIL.Image.Image
        The image to recolor: (H, W[, C]) with C in 1..4, uint8, uint16 or
        float in [0, 1], or a PIL image.
    reference : ndarray or PIL.Image.Image
        The image whose colors to take.
    method, n_clusters, reg, color_space, strength, preserve_luminance, random_state
        See :class:`ColorTransfer`.
    **options
        Other :class:`ColorTransfer` parameters (``n_samples``, ``max_iter``,
        ``tol``, ``lut_size``, ``bandwidth``).

    Returns
    -------
    ndarray or PIL.Image.Image
        Same kind, shape and dtype as `image`. Alpha passes through unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> ramp = np.linspace(0, 1, 64)
    >>> gray = np.stack([ramp, ramp, ramp], -1)[None].repeat(16, 0)
    >>> blue = gray * [0.3, 0.5, 1.0]
    >>> out = transfer(gray, blue, n_clusters=8)
    >>> out.dtype, out.shape
    (dtype('float64'), (16, 64, 3))
    >>> bool(transfer(gray, blue, strength=0.0).tolist() == gray.tolist())
    True
    """
    model = ColorTransfer(
        method=method,
        n_clusters=n_clusters,
        reg=reg,
        color_space=color_space,
        strength=strength,
        preserve_luminance=preserve_luminance,
        random_state=random_state,
        **options,
    )
    return model.fit(reference).transform(image)
