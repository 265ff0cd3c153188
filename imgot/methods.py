"""The method registry: every color transfer as a fitted reference state plus a per-image map.

Each method has two steps. ``fit`` summarises the reference (a palette,
per-channel CDFs, mean and covariance, a color sample); ``map`` turns one
source image and that summary into a map of its pixels: a :class:`ColorLUT`
(smooth maps: ``emd``, ``sinkhorn``, ``unbalanced``, ``linear``,
``reinhard``, ``sliced``) or a per-pixel function (``histogram``, exact on
every pixel). Composite methods are tuples of registered names, applied in
turn toward the same reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Union

import numpy as np

from .colorspace import get_color_space, srgb_to_lab
from .method_table import (COMPOSITES, DEFAULT_METHOD, METHOD_NAMES, METHOD_TABLE, PALETTE_METHODS, PLAN_METHODS,
                           SAVABLE_METHODS)
from .histogram import fit_histograms, match_pixels
from .linear import color_statistics, diagonal_map, gaussian_map
from .mapping import ColorLUT, lut_from_field, lut_from_samples, smooth_displacement, working_lattice
from .palette import Palette, fit_palette, sample_rgb
from .pixels import Pixels
from .sliced import SlicedReference, sliced_transport
from .transport import barycentric_projection, solve_plan

__all__ = [
    "METHODS", "COMPOSITES", "METHOD_NAMES", "PALETTE_METHODS", "PLAN_METHODS", "SAVABLE_METHODS",
    "DEFAULT_METHOD", "Method", "ColorMap", "get_method", "default_color_space",
]

Mapper = Union[ColorLUT, Callable[[Pixels], np.ndarray]]


@dataclass(frozen=True)
class ColorMap:
    """Everything learned for one source image by a palette method.

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
    field : callable or None
        The displacement field of the whole map in the working space
        (``x -> x + field(x)``), from which the LUT at any strength is
        :func:`imgot.mapping.lut_from_field` (the color morph); None for a
        map read back from a file.
    space : ColorSpace or None
        The working space of `field`.
    """

    source_palette: Palette
    reference_palette: Palette
    plan: np.ndarray
    destinations: np.ndarray
    lut: ColorLUT
    field: Callable[[np.ndarray], np.ndarray] | None = None
    space: Any = None

    def lut_at(self, strength: float, *, size: int | None = None, preserve_luminance: bool = False) -> ColorLUT:
        """The LUT of this map at another `strength` (displacement interpolation time)."""
        if self.field is None:
            raise ValueError("this color map has no field (it was read from a file); refit it")
        return lut_from_field(self.field, self.space, size=size or self.lut.size, strength=float(strength),
                              preserve_luminance=preserve_luminance)

    def apply(self, image):
        """Recolor `image` through this map's LUT; see :func:`imgot.recolor.apply_lut_to_image`."""
        from .recolor import apply_lut_to_image

        return apply_lut_to_image(self.lut, image)


@dataclass(frozen=True)
class Method:
    """One registered method.

    Attributes
    ----------
    name : str
    fit : callable
        ``fit(params, reference_pixels, seed) -> state``.
    map : callable
        ``map(params, state, source_pixels, seed, strength, preserve_luminance, nodes=None) -> mapper``;
        a per-pixel mapper ignores `strength` and `preserve_luminance`, which
        the caller applies afterwards. `nodes` (see
        :func:`imgot.mapping.lattice_nodes`) asks for a LUT that is right only
        on those lattice nodes, for recoloring the source pixels themselves;
        a method may evaluate the whole lattice anyway.
    is_lut, color_space, summary : bool, str, str
        Read from the method's row of :data:`imgot.method_table.METHOD_TABLE`.
    color_map : callable or None
        ``color_map(params, state, source_pixels, seed, strength, preserve_luminance) -> ColorMap``
        for methods with a palette plan (which ``imgot plan`` draws and the
        color morph follows); None otherwise.
    reference_palette : callable or None
        ``reference_palette(state) -> Palette``: the reference palette inside
        the fitted state, for methods that have one.
    state_arrays : callable or None
        ``state_arrays(state) -> dict`` of named arrays, for methods whose
        fitted state can be saved (:mod:`imgot.persist`); None otherwise.
    state_from_arrays : callable or None
        The inverse, ``state_from_arrays(arrays) -> state``; raises
        ValueError on arrays of the wrong shape or with non-finite values.
    """

    name: str
    fit: Callable[..., Any]
    map: Callable[..., Mapper]
    color_map: Callable[..., "ColorMap"] | None = None
    reference_palette: Callable[[Any], Palette] | None = None
    state_arrays: Callable[[Any], dict] | None = None
    state_from_arrays: Callable[[dict], Any] | None = None

    @property
    def is_lut(self) -> bool:
        return METHOD_TABLE[self.name].is_lut

    @property
    def color_space(self) -> str:
        return METHOD_TABLE[self.name].color_space

    @property
    def summary(self) -> str:
        return METHOD_TABLE[self.name].summary


# Absolute floor under the covariances' eigenvalues, relative to the squared
# span of the space (100 L* units, or 1 in sRGB): keeps the linear maps finite
# on a flat image; a non-degenerate covariance is not changed at all.
_SPAN = {"lab": 100.0, "rgb": 1.0}
_RIDGE = 1e-8


def _space(params, name: str):
    return get_color_space(params.color_space or METHODS[name].color_space)


# -- palette methods: emd, sinkhorn, unbalanced -----------------------------------------


def _fit_palette(params, pixels: Pixels, seed: int, name: str) -> Palette:
    colors = _space(params, name).from_rgb(sample_rgb(pixels, params.n_samples, seed))
    return fit_palette(colors, params.n_clusters, seed)


def palette_color_map(params, reference: Palette, pixels: Pixels, seed: int, name: str,
                      strength: float, preserve_luminance: bool, nodes: np.ndarray | None = None) -> ColorMap:
    """Solve the palette transport for one image and build its LUT (on `nodes` of its lattice, if given)."""
    space = _space(params, name)
    source = _fit_palette(params, pixels, seed, name)
    plan = solve_plan(source, reference, method=name, reg=params.reg, reg_m=params.reg_m,
                      max_iter=params.max_iter, tol=params.tol)
    destinations = barycentric_projection(plan, reference.colors)
    bandwidth = float(params.bandwidth)

    def field(working):
        return smooth_displacement(working, source.colors, destinations - source.colors, bandwidth=bandwidth)

    lut = lut_from_field(field, space, size=params.lut_size, strength=float(strength),
                         preserve_luminance=preserve_luminance, nodes=nodes)
    return ColorMap(source, reference, plan, destinations, lut, field, space)


def _palette_arrays(palette: Palette) -> dict:
    return palette.as_arrays("reference")


def _palette_from_arrays(arrays: dict) -> Palette:
    palette = Palette.from_arrays(arrays["reference_colors"], arrays["reference_weights"], what="reference palette")
    return Palette(palette.colors, palette.weights / palette.weights.sum())


def _palette_method(name: str) -> Method:
    def color_map(params, state, pixels, seed, strength, luminance, nodes=None):
        return palette_color_map(params, state, pixels, seed, name, strength, luminance, nodes)

    return Method(
        name,
        lambda params, pixels, seed: _fit_palette(params, pixels, seed, name),
        lambda *args, **options: color_map(*args, **options).lut,
        color_map=color_map, reference_palette=lambda state: state,
        state_arrays=_palette_arrays, state_from_arrays=_palette_from_arrays,
    )


# -- histogram ------------------------------------------------------------------------------


def _fit_histogram(params, pixels: Pixels, seed: int):
    return fit_histograms(pixels, params.color_space or "rgb")


def _map_histogram(params, state, pixels, seed, strength, luminance, nodes=None):
    return lambda source: match_pixels(source, state)


# -- linear and reinhard ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Moments:
    mean: np.ndarray
    covariance: np.ndarray
    lightness: tuple[float, float]  # mean and variance of L*, for gray sources


def _moments(params, pixels: Pixels, seed: int, name: str) -> _Moments:
    space = _space(params, name)
    sample = sample_rgb(pixels, params.n_samples, seed)
    mean, cov = color_statistics(space.from_rgb(sample), _RIDGE * _SPAN[space.name] ** 2)
    lightness = srgb_to_lab(sample)[:, 0]
    return _Moments(mean, cov, (float(lightness.mean()), float(lightness.var()) + _RIDGE * 100.0**2))


def _linear_method(name: str, solve) -> Method:
    def fit(params, pixels, seed):
        return _moments(params, pixels, seed, name)

    def build(params, state, pixels, seed, strength, luminance, nodes=None):
        source = _moments(params, pixels, seed, name)
        # (`nodes` left alone: a closed form, cheap on the whole lattice, and its matrix product
        # could round a row differently with other rows around it.)
        options = dict(size=params.lut_size, strength=float(strength), preserve_luminance=luminance, exact=True)
        if pixels.is_gray:  # only lightness to move: the 1-D Gaussian map of L*
            (mean_s, var_s), (mean_t, var_t) = source.lightness, state.lightness
            gain = np.sqrt(var_t / var_s)

            def field(lab):
                shift = np.zeros_like(lab)
                shift[:, 0] = mean_t + gain * (lab[:, 0] - mean_s) - lab[:, 0]
                return shift

            return lut_from_field(field, get_color_space("lab"), **options)
        A, b = solve(source.mean, source.covariance, state.mean, state.covariance)
        return lut_from_field(lambda x: x @ A.T + b - x, _space(params, name), **options)

    return Method(name, fit, build)


# -- sliced -------------------------------------------------------------------------------------


def _fit_sliced(params, pixels, seed) -> SlicedReference:
    # The reference's sorted projections on the seeded rotations, computed here
    # once: every image mapped toward this reference (every batch worker) reuses them.
    reference = SlicedReference(_space(params, "sliced").from_rgb(sample_rgb(pixels, params.n_samples, seed)))
    reference.projections(params.n_iter, seed)
    return reference


def _map_sliced(params, state, pixels, seed, strength, luminance, nodes=None):
    # A LUT from samples: its blur needs the whole lattice, `nodes` would save little.
    space = _space(params, "sliced")
    rgb = sample_rgb(pixels, params.n_samples, seed + 1)
    start = space.from_rgb(rgb)
    moved = sliced_transport(start, state, n_iter=params.n_iter, random_state=seed)
    targets = space.to_rgb(start + float(strength) * (moved - start))
    return lut_from_samples(rgb, np.clip(targets, 0.0, 1.0), size=params.lut_size, preserve_luminance=luminance)


# -- emd-sliced: the palette map, refined by sliced transport ----------------------------------

# Gaussian width of the sliced refinement's LUT, as a share of the sRGB span
# (2 steps of the default 33-point lattice, 16 levels of 255). Sliced transport
# moves each sample on its own, so neighbouring colors can be sent apart; this
# smoothing bounds how much the refinement stretches small color differences
# (the blotches in flat areas halve against 1 step) for a little accuracy
# (benchmarks/RESULTS.md: the color distance ratio rises by about 0.01).
SLICED_SMOOTHING = 1.0 / 16.0


def _fit_emd_sliced(params, pixels, seed):
    return _fit_palette(params, pixels, seed, "emd-sliced"), _fit_sliced(params, pixels, seed)


def emd_sliced_color_map(params, state, pixels: Pixels, seed: int, strength: float,
                         preserve_luminance: bool, nodes: np.ndarray | None = None) -> ColorMap:
    """The emd palette map, then a sliced-transport LUT fitted on its output, composed into one LUT.

    The returned :class:`ColorMap` holds the emd stage's palettes and plan
    (the plan that places the colors) and the composed LUT (right on `nodes`
    of its lattice only, if given).
    """
    palette, reference_sample = state
    space = _space(params, "emd-sliced")
    composed = strength == 1.0 and not preserve_luminance
    # Composed through its table, the first map is read at the pixels' colors (the sample below is
    # of them) and at the nodes only; through `field`, at any lattice color.
    placement = palette_color_map(params, palette, pixels, seed, "emd", 1.0, False, nodes if composed else None)
    first = placement.lut
    placed = first.apply_float(sample_rgb(pixels, params.n_samples, seed + 1), 1.0).astype(np.float64)
    moved = sliced_transport(space.from_rgb(placed), reference_sample, n_iter=params.n_iter, random_state=seed)
    second = lut_from_samples(placed, np.clip(space.to_rgb(moved), 0.0, 1.0), size=params.lut_size,
                              sigma=SLICED_SMOOTHING * (params.lut_size - 1))

    lattice = working_lattice(space, params.lut_size)

    def field(working):
        # On the LUT's own lattice (what lut_from_field asks for), its colors back in sRGB are known.
        rgb = lattice[2] if working is lattice[1] else np.clip(space.to_rgb(working), 0.0, 1.0)
        return space.from_rgb(second.apply_float(first.apply_float(rgb, 1.0), 1.0).astype(np.float64)) - working

    size = params.lut_size
    if composed:
        # At full strength the composed LUT is the second map applied to the first map's own
        # table: the same (to rounding) as through `field`, without three color conversions of the
        # lattice and a lookup. The second map's table is clipped, so is this one.
        own = (first.table if first.extended is None else np.clip(first.extended, 0.0, 1.0)).reshape(-1, 3)
        if nodes is None:
            table = second.apply_float(own, 1.0)
        else:
            table = own.copy()
            table[nodes] = second.apply_float(own[nodes], 1.0)
        lut = ColorLUT(table.reshape(size, size, size, 3))
    else:
        lut = lut_from_field(field, space, size=size, strength=float(strength),
                             preserve_luminance=preserve_luminance, nodes=nodes)
    return ColorMap(placement.source_palette, placement.reference_palette, placement.plan,
                    placement.destinations, lut, field, space)


def _emd_sliced_arrays(state) -> dict:
    palette, reference = state
    return {**_palette_arrays(palette), "reference_sample": reference.sample}


def _emd_sliced_from_arrays(arrays: dict):
    sample = np.asarray(arrays["reference_sample"])
    if sample.ndim != 2 or sample.shape[1:] != (3,) or not len(sample) or sample.dtype.kind not in "fiu":
        raise ValueError(f"bad reference sample of shape {sample.shape} and dtype {sample.dtype}")
    if not np.isfinite(sample).all():
        raise ValueError("reference sample holds NaN or infinite values")
    return _palette_from_arrays(arrays), SlicedReference(sample.astype(np.float64))


# The fit/map functions of each method that is not a composite; the facts about
# the methods (and the composites) are in imgot.method_table.
METHODS: dict[str, Method] = {
    "emd": _palette_method("emd"),
    "sinkhorn": _palette_method("sinkhorn"),
    "unbalanced": _palette_method("unbalanced"),
    "histogram": Method("histogram", _fit_histogram, _map_histogram),
    "linear": _linear_method("linear", gaussian_map),
    "reinhard": _linear_method("reinhard", diagonal_map),
    "sliced": Method("sliced", _fit_sliced, _map_sliced),
    "emd-sliced": Method("emd-sliced", _fit_emd_sliced,
                         lambda *args, **options: emd_sliced_color_map(*args, **options).lut,
                         color_map=emd_sliced_color_map, reference_palette=lambda state: state[0],
                         state_arrays=_emd_sliced_arrays, state_from_arrays=_emd_sliced_from_arrays),
}


def get_method(name: str) -> tuple[str, ...]:
    """The stages of method `name`: ``(name,)``, or a composite's names.

    Raises
    ------
    ValueError
        If `name` is not registered; the message lists the valid names.

    Examples
    --------
    >>> get_method("emd")
    ('emd',)
    >>> get_method("histogram-linear-histogram")
    ('histogram', 'linear', 'histogram')
    """
    if isinstance(name, str) and name in METHODS:
        return (name,)
    if isinstance(name, str) and name in COMPOSITES:
        return COMPOSITES[name]
    raise ValueError(f"unknown method {name!r}; choose one of: {', '.join(METHOD_NAMES)}")


def default_color_space(name: str) -> str:
    """The working space a method uses when ``color_space=None``.

    Examples
    --------
    >>> default_color_space("histogram"), default_color_space("emd")
    ('rgb', 'lab')
    """
    return METHODS[get_method(name)[0]].color_space
