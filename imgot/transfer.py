"""Color transfer: the estimator and the function, over the method registry.

``transfer(image, reference)`` is one line over
``ColorTransfer().fit(reference).transform(image)``, so there is one code path.
The methods themselves live in :mod:`imgot.methods`.
"""

from __future__ import annotations

import os
from numbers import Real

import numpy as np

from .adaptation import NEUTRALIZE_METHODS
from .colorspace import get_color_space
from .estimator import ParamsMixin
from .mapping import NODES_MAX_PIXELS, ColorLUT, lattice_nodes
from .palette import Palette
from .method_table import DEFAULT_ROTATIONS
from .methods import DEFAULT_METHOD, METHODS, PALETTE_METHODS, PLAN_METHODS, SAVABLE_METHODS, ColorMap, get_method
from .exceptions import NotFittedError
from .pixels import ImageLike, ImageT, MaskLike, Pixels, as_pixels, quantize, to_output
from .recolor import LUTTransform, apply_lut, apply_lut_to_image, blend_back, finish, lut_on_colors
from .validation import (RENAMED, check_flag, check_integer, check_positive, check_seed, check_share, renamed,
                         takes_renamed)
from .regions import (
    apply_weight,
    as_labels,
    blend_regions,
    check_ignore_color,
    check_ignore_depth,
    ignored_pixels,
    label_values,
    restrict,
    select,
)


__all__ = [
    "ColorTransfer", "ColorMap", "LUTTransform", "transfer", "apply_lut_to_image", "finish", "NotFittedError", "load",
]


def _as_float(pixels: Pixels) -> Pixels:
    """The same image with float color in [0, 1] (float64 stays float64)."""
    dtype = np.float64 if pixels.color.dtype == np.float64 else np.float32
    return pixels.with_color(pixels.color.astype(dtype) * dtype(1.0 / pixels.scale), 1.0)


def _run_mapper(mapper, pixels: Pixels) -> np.ndarray:
    """A method's map (a :class:`ColorLUT` or a per-pixel function) applied to `pixels`."""
    return apply_lut(mapper, pixels) if isinstance(mapper, ColorLUT) else mapper(pixels)


def _as_lut(mapper) -> ColorLUT:
    """A LUT method's map, which is a :class:`ColorLUT` (the registry's `is_lut` promise)."""
    if not isinstance(mapper, ColorLUT):
        raise TypeError(f"a LUT method returned a {type(mapper).__name__}, not a ColorLUT")
    return mapper


class ColorTransfer(ParamsMixin):
    """Recolor images toward a reference's colors, by one of the registered methods.

    Parameters
    ----------
    method : str, default 'emd-sliced'
        One of :data:`imgot.methods.METHOD_NAMES`:

        - ``'emd'``: exact OT between k-means palettes, smooth LUT;
        - ``'sinkhorn'``: entropic OT between palettes (`reg`);
        - ``'unbalanced'``: unbalanced Sinkhorn between palettes, shares of
          colors may differ (`reg`, `reg_m`): a reference that is mostly sky
          does not repaint the subject blue;
        - ``'histogram'``: exact per-channel histogram matching on all pixels
          (scikit-image's ``match_histograms``, rounded);
        - ``'linear'``: the Gaussian OT map (Monge-Kantorovich linear, MKL),
          matching mean and covariance;
        - ``'reinhard'``: per-channel mean and standard deviation (the
          diagonal of ``'linear'``), in CIELAB by default;
        - ``'sliced'``: iterative sliced OT (Pitie's IDT, `n_iter` rotations)
          on color samples, smoothed into a LUT;
        - ``'emd-sliced'``: ``'emd'``, then ``'sliced'`` from its result,
          in one LUT: the palette map places the colors, sliced transport
          refines their spread. The closest colors; with ``preserve_detail=True``,
          the best all-round result (see the benchmarks). The default;
        - ``'histogram-linear-histogram'``: those three in turn
          (color-matcher's ``hm-mkl-hm``).
    n_clusters : int, default 64
        Palette size (k-means clusters) of the palette methods.
    n_samples : int, default 10000
        Pixels sampled per image for palettes, moments and sliced transport;
        independent of image size.
    reg : float, default 0.01
        Entropic regularization of Sinkhorn and unbalanced, relative to the
        median palette cost.
    reg_m : float, default 1.0
        Mass relaxation of ``'unbalanced'``, relative to the median palette
        cost: smaller lets each color keep to its nearest reference colors
        whatever their share; larger tends to balanced Sinkhorn, which
        ``inf`` is exactly.
    max_iter : int, default 1000
        Sinkhorn iteration cap.
    tol : float, default 1e-9
        Sinkhorn marginal-error tolerance.
    n_iter : int, default 12
        Random rotations of ``'sliced'`` and ``'emd-sliced'``
        (:data:`imgot.method_table.DEFAULT_ROTATIONS`).
    color_space : {'lab', 'rgb'} or None, default None
        Working space. None picks the method's own: ``'rgb'`` for
        ``'histogram'`` (as scikit-image), ``'lab'`` for all others.
    strength : float in [0, 1], default 1.0
        Each color moves ``strength`` of the way to its destination (along
        the transport displacement in the working space for LUT methods, in
        sRGB for ``'histogram'`` and composites); 0 returns the source exactly.
    preserve_luminance : bool, default False
        Keep the source's CIELAB L* and transfer only chroma and hue.
    preserve_detail : bool, default True
        Preserve the source's fine detail: the change of L* is smoothed by a
        guided filter on the source's L* and each pixel keeps the map's
        chromaticity (:func:`imgot.detail.preserve_detail`), so that a
        stretching map does not amplify grain and JPEG blocks.
    lut_size : int in 2..256, default 33
        Lattice points per axis of the 3-D LUT (and of the ``.cube`` that
        :meth:`color_lut` gives to :func:`imgot.cube.write_cube`).
    bandwidth : float, default 1.0
        Smoothness of the palette methods' map, relative to the palette spacing.
    random_state : int or None, default 0
        Seed of the pixel sampling, k-means and rotations: the same inputs and
        seed give the same output bytes. None draws a fresh seed at each fit.
    ignore_color : one or three numbers, or None, default None
        A "nodata" color (the black border of a satellite scene): pixels of
        this color count in neither image's statistics and are copied to the
        output unchanged. Integers are levels of the image's own depth
        (0..255, 0..65535), floats fractions of full scale in [0, 1].
    ignore_tolerance : float, default 0
        How far (per channel, in the units of `ignore_color`) a pixel may be
        from `ignore_color` and still be ignored (JPEG borders are not exact).
    feather : float or None, default None
        Pixels over which the result fades in inside the edge of an
        `apply_mask` (None: 0, the mask as given), and the width of the blend
        between regions with `source_labels` (None: 2% of the shorter side).
    protect_skin : float in [0, 1], default 0.0
        Skin protection: each pixel of the result moves back toward the
        source by ``protect_skin`` times its skin weight, a smooth function of
        the source color that is 1 on skin tones and 0 away from them
        (:mod:`imgot.skin`: CIELAB hue 30-68 degrees, chroma 10-40, with
        smooth edges; saturated oranges and neutrals are not skin). 0: off.
    saturation : float in [0, 4], default 1.0
        Color intensity (Photoshop's Match Color "Color Intensity"): the
        CIELAB chroma of the result times this, its L* and hue unchanged,
        chroma reduced where sRGB cannot hold it (:mod:`imgot.saturation`).
        1 is exactly the map's result.
    neutralize : {None, 'gray-world', 'white-patch'}, default None
        Remove the source's color cast before the transfer: its white (mean
        color, or brightest pixels) is adapted to D65 by the Bradford
        transform (:mod:`imgot.adaptation`), so the map moves a neutral image
        toward the reference, not the cast. The source's selection counts,
        ignored pixels do not; outside an `apply_mask` the output is the
        original source.
    **deprecated
        ``detail``: the old name of `preserve_detail`, accepted with a
        DeprecationWarning until the next release.

    Attributes
    ----------
    reference_palette_ : Palette
        The reference palette, for the palette methods.
    reference_states_ : dict
        What each stage of the method learned of the reference.
    region_states_ : dict
        ``label -> states`` of each region, after ``fit(reference_labels=...)``.
    seed_ : int
        The seed in use (``random_state``, or the one drawn for None).

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
    >>> hist = ColorTransfer(method="histogram", preserve_detail=False).fit(cool).transform(warm)
    >>> bool(abs(float(hist[..., 2].mean()) - float(cool[..., 2].mean())) < 2)
    True
    """

    @takes_renamed
    def __init__(
        self,
        *,
        method: str = DEFAULT_METHOD,
        n_clusters: int = 64,
        n_samples: int = 10000,
        reg: float = 0.01,
        reg_m: float = 1.0,
        max_iter: int = 1000,
        tol: float = 1e-9,
        n_iter: int = DEFAULT_ROTATIONS,
        color_space: str | None = None,
        strength: float = 1.0,
        preserve_luminance: bool = False,
        preserve_detail: bool = True,
        lut_size: int = 33,
        bandwidth: float = 1.0,
        random_state: int | None = 0,
        ignore_color=None,
        ignore_tolerance: float = 0,
        feather: float | None = None,
        protect_skin: float = 0.0,
        saturation: float = 1.0,
        neutralize: str | None = None,
        **deprecated,
    ):
        self.method = method
        self.n_clusters = n_clusters
        self.n_samples = n_samples
        self.reg = reg
        self.reg_m = reg_m
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter = n_iter
        self.color_space = color_space
        self.strength = strength
        self.preserve_luminance = preserve_luminance
        self.preserve_detail = renamed("ColorTransfer", deprecated).get("preserve_detail", preserve_detail)
        self.lut_size = lut_size
        self.bandwidth = bandwidth
        self.random_state = random_state
        self.ignore_color = ignore_color
        self.ignore_tolerance = ignore_tolerance
        self.feather = feather
        self.protect_skin = protect_skin
        self.saturation = saturation
        self.neutralize = neutralize

    # -- the scikit-learn estimator contract: imgot.estimator.ParamsMixin, and --------

    @property
    def detail(self) -> bool:
        """Deprecated alias of `preserve_detail` (until the next release)."""
        renamed("ColorTransfer.detail", {"detail": None})
        return self.preserve_detail

    @detail.setter
    def detail(self, value: bool) -> None:
        renamed("ColorTransfer.detail", {"detail": None})
        self.preserve_detail = value

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "reference_states_")

    @property
    def reference_palette_(self) -> Palette:
        """The reference palette inside the fitted state (palette methods and ``emd-sliced``)."""
        for name, state in getattr(self, "reference_states_", {}).items():
            palette_of = METHODS[name].reference_palette
            if palette_of is not None:
                return palette_of(state)
        raise AttributeError(f"this ColorTransfer has no reference palette (method {self.method!r}, "
                             "fitted: " + ("yes" if hasattr(self, "reference_states_") else "no") + ")")

    def fit_transform(self, image: ImageT, y=None) -> ImageT:
        """``fit(image).transform(image)``: an image recolored toward its own colors (near identity)."""
        return self.fit(image, y).transform(image)

    def _validate_params(self) -> tuple[str, ...]:
        stages = get_method(self.method)
        if self.color_space is not None:
            get_color_space(self.color_space)
        for name, low in (("n_clusters", 1), ("n_samples", 1), ("max_iter", 1), ("n_iter", 1), ("lut_size", 2)):
            check_integer(name, getattr(self, name), low)
        for name in ("reg", "reg_m", "tol", "bandwidth"):
            # reg_m may be inf (no mass relaxation: balanced Sinkhorn); the others must be finite.
            check_positive(name, getattr(self, name), allow_inf=name == "reg_m")
        check_share("strength", self.strength)
        for name in ("preserve_luminance", "preserve_detail"):
            check_flag(name, getattr(self, name))
        check_seed(self.random_state)
        check_ignore_color(self.ignore_color, self.ignore_tolerance)
        if self.feather is not None and (not isinstance(self.feather, Real) or isinstance(self.feather, bool)
                                         or not np.isfinite(self.feather) or self.feather < 0):
            raise ValueError(f"feather must be None or a number of pixels >= 0, got {self.feather!r}")
        if self.lut_size > 256:
            raise ValueError(f"lut_size must be at most 256, got {self.lut_size!r}")
        check_share("protect_skin", self.protect_skin)
        check_share("saturation", self.saturation, high=4.0)
        if self.neutralize is not None and self.neutralize not in NEUTRALIZE_METHODS:
            raise ValueError(f"neutralize must be None or one of {', '.join(NEUTRALIZE_METHODS)}, "
                             f"got {self.neutralize!r}")
        return stages

    def _seed(self) -> int:
        if not hasattr(self, "seed_"):
            fresh = np.random.SeedSequence().generate_state(1)[0]
            self.seed_ = int(fresh) if self.random_state is None else int(self.random_state)
        return self.seed_

    def _state(self, name: str, states: dict | None = None):
        if states is not None:
            return states[name]
        states = getattr(self, "reference_states_", {})
        if name not in states:
            raise NotFittedError("this ColorTransfer is not fitted yet; call fit(reference) first")
        return states[name]

    def _palette(self, pixels: Pixels):
        """The weighted palette of `pixels` in the working space (palette methods)."""
        from .methods import _fit_palette

        name = get_method(self.method)[0]
        return _fit_palette(self, pixels, self._seed(), name if name in PLAN_METHODS else "emd")

    def _select(self, image, mask, what: str) -> tuple[Pixels, np.ndarray | None]:
        """The image with its selection (mask, minus the ignored color), and the ignored pixels."""
        pixels = as_pixels(image)
        if what == "source":
            check_ignore_depth(self.ignore_color, pixels.scale)
        ignore = ignored_pixels(pixels, self.ignore_color, self.ignore_tolerance)
        return select(pixels, mask, ignore=ignore, what=what), ignore

    def _neutral(self, pixels: Pixels, ignore: np.ndarray | None) -> Pixels:
        """The source without its color cast (`neutralize`), or `pixels` itself."""
        if self.neutralize is None:
            return pixels
        from .adaptation import neutralize

        return neutralize(pixels, self.neutralize, ignore=ignore)

    def _fit_states(self, pixels: Pixels, stages: tuple[str, ...], seed: int) -> dict:
        return {name: METHODS[name].fit(self, pixels, seed) for name in dict.fromkeys(stages)}

    def fit(self, reference: ImageLike, y=None, *, reference_mask: MaskLike | None = None,
            reference_labels: ImageLike | None = None) -> "ColorTransfer":
        """Learn what the method needs of the reference.

        Parameters
        ----------
        reference : ndarray or PIL.Image.Image
            Any image :func:`imgot.transfer` accepts; alpha is ignored except
            that fully transparent pixels are left out.
        y : None
            Ignored; there for scikit-learn's ``fit(X, y=None)`` convention.
        reference_mask : ndarray, PIL.Image.Image or 'alpha', optional
            Which pixels the reference's statistics count: a gray image of
            the reference's size (white = counts, gray = counts partly), or
            ``'alpha'`` for its own alpha (:func:`imgot.regions.as_weight`).
        reference_labels : ndarray or PIL.Image.Image, optional
            Integer (or color) labels of the reference's regions: each label
            also gets its own fit, for ``transform(source_labels=...)``.

        Returns
        -------
        self : ColorTransfer

        Raises
        ------
        ValueError
            For a mask or label image of another size, an empty selection,
            or labels that are not integers.
        """
        stages = self._validate_params()
        for name in ("seed_", "region_states_"):
            self.__dict__.pop(name, None)
        seed = self._seed()
        pixels, _ = self._select(reference, reference_mask, "reference")
        states = self._fit_states(pixels, stages, seed)
        if reference_labels is not None:
            labels = as_labels(reference_labels, pixels.color.shape[:2], what="reference label image")
            self.region_states_ = {
                label: self._fit_states(region, stages, seed)
                for label in label_values(labels)
                if (region := restrict(pixels, labels == label)) is not None
            }
        self.reference_states_ = states
        return self

    def fit_palette(self, palette: Palette) -> "ColorTransfer":
        """Learn the reference as a palette instead of an image (a palette method's whole reference state).

        For a reference that is not one image: a Wasserstein barycenter of
        many (:class:`imgot.Normalizer`), or a palette read from a file.

        Parameters
        ----------
        palette : Palette
            Colors in the working color space (`color_space`, CIELAB by
            default) and their weights; used as given.

        Returns
        -------
        self : ColorTransfer

        Raises
        ------
        ValueError
            For a method that is not a palette method (its reference state is
            more than a palette), or a malformed palette.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> warm, cool = rng.random((8, 8, 3)) * [1, .5, .2], rng.random((8, 8, 3)) * [.2, .5, 1]
        >>> fitted = ColorTransfer(method="emd", n_clusters=4).fit(cool)
        >>> again = ColorTransfer(method="emd", n_clusters=4).fit_palette(fitted.reference_palette_)
        >>> bool((again.transform(warm) == fitted.transform(warm)).all())
        True
        """
        stages = self._validate_params()
        if stages not in [(name,) for name in PALETTE_METHODS]:
            raise ValueError(f"fit_palette needs a palette method, one of: {', '.join(PALETTE_METHODS)}; "
                             f"got {self.method!r}")
        if not isinstance(palette, Palette):
            raise TypeError(f"palette must be an imgot.palette.Palette, got {type(palette).__name__}")
        palette = Palette.from_arrays(palette.colors, palette.weights)
        for name in ("seed_", "region_states_"):
            self.__dict__.pop(name, None)
        self._seed()
        self.reference_states_ = {stages[0]: palette}
        return self

    def _check_fitted(self) -> tuple[str, ...]:
        if not hasattr(self, "reference_states_"):
            raise NotFittedError("this ColorTransfer is not fitted yet; call fit(reference) first")
        return self._validate_params()

    def color_map(self, image: ImageLike | Pixels, *, source_mask: MaskLike | None = None) -> ColorMap:
        """Solve the palette transport for `image` and build its per-pixel map.

        For the methods with a palette plan (:data:`imgot.methods.PLAN_METHODS`:
        ``'emd'``, ``'sinkhorn'``, ``'unbalanced'``, ``'emd-sliced'``, whose
        plan is its emd stage's); see :meth:`color_lut` for any LUT method.

        Parameters
        ----------
        image : ndarray or PIL.Image.Image
        source_mask : optional
            Which pixels of `image` its palette counts; see :meth:`transform`.

        Returns
        -------
        ColorMap
            Palettes, plan, barycentric destinations and the LUT.

        Raises
        ------
        ValueError
            For a method without a palette plan.
        """
        stages = self._check_fitted()
        color_map = METHODS[stages[0]].color_map if len(stages) == 1 and stages[0] in PLAN_METHODS else None
        if color_map is None:
            raise ValueError(
                f"method {self.method!r} has no palette plan; color_map needs one of: "
                f"{', '.join(PLAN_METHODS)} (color_lut gives the LUT of any LUT method)"
            )
        pixels, ignore = self._select(image, source_mask, "source")
        return color_map(self, self._state(stages[0]), self._neutral(pixels, ignore),
                         self._seed(), float(self.strength), bool(self.preserve_luminance))

    def color_lut(self, image: ImageLike | Pixels, *, source_mask: MaskLike | None = None) -> ColorLUT:
        """The color map that recolors `image`, as a 3-D LUT, for methods whose map is one LUT.

        Every method but ``'histogram'`` and the composites (which depend on
        each pixel's exact value, not on a smooth map of its color). The LUT
        holds the color map at the estimator's `strength`, with
        `preserve_luminance` applied on its lattice; the per-pixel finishing
        steps (`preserve_detail`, and the exact per-pixel L* of `preserve_luminance`)
        are not in it: :func:`apply_lut_to_image` adds them.

        Raises
        ------
        ValueError
            For a method that is not a single LUT.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> model = ColorTransfer(method="linear").fit(rng.random((16, 16, 3)))
        >>> model.color_lut(rng.random((16, 16, 3)) * 0.5).table.shape
        (33, 33, 33, 3)
        """
        stages = self._check_fitted()
        if len(stages) != 1 or not METHODS[stages[0]].is_lut:
            lut_methods = ", ".join(name for name, spec in METHODS.items() if spec.is_lut)
            raise ValueError(f"method {self.method!r} is not a single 3-D LUT; LUT methods: {lut_methods}")
        name = stages[0]
        pixels, ignore = self._select(image, source_mask, "source")
        neutral = self._neutral(pixels, ignore)
        lut = _as_lut(METHODS[name].map(self, self._state(name), neutral, self._seed(),
                                        float(self.strength), bool(self.preserve_luminance)))
        if neutral is pixels or self.neutralize is None:
            return lut
        # The LUT recolors `image` itself: the cast's correction goes first, inside the table.
        from .adaptation import compose_linear, estimate_white, neutralize_matrix

        matrix = neutralize_matrix(estimate_white(pixels, self.neutralize, ignore=ignore))
        return compose_linear(lut, matrix)

    def _one_lut(self, pixels: Pixels, stages: tuple[str, ...],
                 states: dict | None = None, *, only_these_pixels: bool = False) -> ColorLUT | None:
        """The map as one LUT (strength and luminance baked in, the same as color_lut's), or None.

        None where the method is not a LUT, or is a chain of stages. With
        `only_these_pixels` the LUT may be right only on the lattice nodes
        that the colors of `pixels` read (:func:`~imgot.mapping.lattice_nodes`:
        a small image's map costs a fraction of the whole lattice's), to
        recolor those pixels and nothing else.
        """
        if len(stages) != 1 or not METHODS[stages[0]].is_lut:
            return None
        nodes = None
        if only_these_pixels and not pixels.is_gray and pixels.color[..., 0].size <= NODES_MAX_PIXELS:
            nodes = lattice_nodes(pixels.color, pixels.scale, int(self.lut_size))
        return _as_lut(METHODS[stages[0]].map(self, self._state(stages[0], states), pixels, self._seed(),
                                              float(self.strength), bool(self.preserve_luminance), nodes=nodes))

    def _mapped(self, pixels: Pixels, stages: tuple[str, ...], states: dict | None = None,
                rows: slice = slice(None)) -> np.ndarray:
        """The color map alone (no finishing step) applied to `pixels`, in their dtype.

        `stages` are the checked method's (:meth:`_check_fitted`, once per
        transform). `states` are the reference states to map toward (a
        region's); None takes the fitted reference's. Only `rows` of the
        result are returned (the map is still fitted on the whole image's
        selection).
        """
        lut = self._one_lut(pixels, stages, states)
        if lut is not None:
            # 8-bit images go through Pillow's C LUT without a float copy;
            # lightness is then finished per pixel.
            return apply_lut(lut, pixels if rows == slice(None) else pixels.with_color(pixels.color[rows]))
        seed = self._seed()
        strength = float(self.strength)
        if len(stages) == 1 and strength == 1.0:
            mapper = METHODS[stages[0]].map(self, self._state(stages[0], states), pixels, seed, 1.0, False)
            return quantize(_run_mapper(mapper, pixels)[rows], pixels.dtype)
        source = _as_float(pixels)
        current = source
        for name in stages:
            mapper = METHODS[name].map(self, self._state(name, states), current, seed, 1.0, False)
            current = current.with_color(_run_mapper(mapper, current).astype(source.color.dtype, copy=False))
        out = current.color[rows]
        if strength != 1.0:
            out = source.color[rows] + np.asarray(strength, out.dtype) * (out - source.color[rows])
        return quantize(out, pixels.dtype)

    def _mapped_regions(self, pixels: Pixels, stages: tuple[str, ...], source_labels) -> np.ndarray:
        """Each source region mapped toward its reference region, blended by feathered region weights.

        Source labels with no region in the reference take the global map
        (whole source selection toward the whole reference).
        """
        regions = getattr(self, "region_states_", None)
        if regions is None:
            raise ValueError("source_labels need a model fitted with reference_labels")
        labels = as_labels(source_labels, pixels.color.shape[:2], what="source label image")

        def map_rows(region: Pixels, label, rows: slice) -> np.ndarray:
            return self._mapped(region, stages, None if label is None else regions[label], rows)

        return blend_regions(pixels, labels, regions, map_rows, feather=self.feather)

    def transform(self, image: ImageT, *, source_mask: MaskLike | None = None,
                  apply_mask: MaskLike | None = None, source_labels: ImageLike | None = None) -> ImageT:
        """Recolor `image` toward the fitted reference.

        Parameters
        ----------
        image : ndarray or PIL.Image.Image
            (H, W[, C]) with C in 1..4; uint8, uint16 or float in [0, 1].
        source_mask : ndarray, PIL.Image.Image or 'alpha', optional
            Which pixels of `image` its statistics count (its palette,
            histogram, moments, sample): a gray image of its size, white =
            counts, gray = counts partly; ``'alpha'`` for its own alpha.
            Every pixel is still recolored (see `apply_mask`).
        apply_mask : same kinds, optional
            Where the result replaces the source: outside it the output is the
            source bit for bit; gray blends; `feather` fades it in at its edge.
        source_labels : ndarray or PIL.Image.Image, optional
            Region labels of `image`, paired by equal value with the
            ``reference_labels`` given to :meth:`fit`: each region is mapped
            toward its counterpart and the maps are blended over `feather`
            pixels at region borders; labels without a counterpart take the
            global map.

        Returns
        -------
        ndarray or PIL.Image.Image
            The same kind, shape and dtype as `image`; alpha is copied as is.
        """
        original, ignore = self._select(image, source_mask, "source")
        stages = self._check_fitted()  # the one check of the parameters per transform
        pixels = self._neutral(original, ignore)
        if self.strength == 0:
            if pixels is original and self.saturation == 1.0:
                return to_output(pixels, pixels.color.copy())
            result = finish(pixels, pixels.color.copy(), preserve_detail=False, preserve_luminance=False,
                            saturation=self.saturation)
        else:
            labels = None
            if source_labels is None:
                lut = self._one_lut(pixels, stages, only_these_pixels=True)
                # A LUT is run only where the finishing steps need it (the detail step: on its sample).
                mapped = self._mapped(pixels, stages) if lut is None else lut_on_colors(lut, pixels)
            else:
                labels = as_labels(source_labels, pixels.color.shape[:2], what="source label image")
                mapped = self._mapped_regions(pixels, stages, labels)
            result = finish(pixels, mapped, preserve_detail=bool(self.preserve_detail),
                            preserve_luminance=bool(self.preserve_luminance), ignore=ignore, labels=labels,
                            saturation=self.saturation)
        weight = apply_weight(original, apply_mask, feather=self.feather or 0.0, ignore=ignore)
        return to_output(original, blend_back(original, pixels, result, weight, protect_skin=self.protect_skin))

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

        if get_method(self.method) not in [(name,) for name in SAVABLE_METHODS]:
            raise ValueError(
                f"saving is implemented for the methods {', '.join(SAVABLE_METHODS)}, "
                f"not for {self.method!r}; save its LUT instead (color_lut, imgot.cube.write_cube)"
            )
        save(path, self, overwrite=overwrite)


def load(path: str | os.PathLike) -> ColorTransfer:
    """Load a :class:`ColorTransfer` saved by :meth:`ColorTransfer.save`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    ColorTransfer
        Fitted, with the saved parameters (and region fits); it transforms
        images to the same bytes as the model that was saved.

    Raises
    ------
    ImageReadError
        If the file is missing.
    ModelFormatError
        If the file is not a saved transfer, is damaged, or is of another
        format version (:mod:`imgot.persist`).
    """
    from .persist import load_model

    return load_model(path, ColorTransfer)


def _check_options(options: dict) -> None:
    """Refuse keywords that are not ColorTransfer parameters, naming the valid ones."""
    import difflib
    import inspect

    valid = [name for name, p in inspect.signature(ColorTransfer.__init__).parameters.items()
             if name != "self" and p.kind is not p.VAR_KEYWORD]
    unknown = [name for name in options if name not in valid and name not in RENAMED]
    if unknown:
        hints = [f"{name!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(
            name, valid, n=1, cutoff=0.6)) else repr(name) for name in unknown]
        raise TypeError(f"transfer() got unknown parameter {', '.join(hints)}; valid: {', '.join(valid)}")


def transfer(
    image: ImageT,
    reference: ImageLike,
    *,
    method: str = DEFAULT_METHOD,
    n_clusters: int = 64,
    reg: float = 0.01,
    color_space: str | None = None,
    strength: float = 1.0,
    preserve_luminance: bool = False,
    preserve_detail: bool = True,
    random_state: int | None = 0,
    source_mask: MaskLike | None = None,
    reference_mask: MaskLike | None = None,
    apply_mask: MaskLike | None = None,
    source_labels: ImageLike | None = None,
    reference_labels: ImageLike | None = None,
    **options,
) -> ImageT:
    """Recolor `image` so that its colors follow `reference`'s, by optimal transport.

    By default (``method='emd-sliced'``, ``preserve_detail=True``) both images are
    reduced to weighted k-means palettes; the source palette is transported
    onto the reference palette, refined by sliced transport, and every pixel
    follows the resulting map through a 3-D LUT, then the detail step keeps
    the source's fine texture. The other methods (histogram matching, the linear
    Gaussian map, Reinhard, sliced and unbalanced transport, composites) are
    listed in :class:`ColorTransfer`.

    Parameters
    ----------
    image : ndarray or PIL.Image.Image
        The image to recolor: (H, W[, C]) with C in 1..4, uint8, uint16 or
        float in [0, 1], or a PIL image.
    reference : ndarray or PIL.Image.Image
        The image whose colors to take.
    method, n_clusters, reg, color_space, strength, preserve_luminance, preserve_detail, random_state
        See :class:`ColorTransfer`.
    source_mask, reference_mask : ndarray, PIL.Image.Image or 'alpha', optional
        Which pixels each image's statistics count (gray image of its size,
        white = counts): the colors of a selection, e.g. only the skin, or
        everything but a sky.
    apply_mask : optional
        Where the result replaces `image`; elsewhere it is copied bit for bit.
    source_labels, reference_labels : optional
        Region label images, paired by equal labels: each region is matched
        to its counterpart (sky to sky), blended without seams.
    **options
        Other :class:`ColorTransfer` parameters (``n_samples``, ``reg_m``,
        ``max_iter``, ``tol``, ``n_iter``, ``lut_size``, ``bandwidth``,
        ``ignore_color``, ``ignore_tolerance``, ``feather``, ``protect_skin``,
        ``saturation``, ``neutralize``; ``detail``, the deprecated name of
        `preserve_detail`).

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
    >>> transfer(gray, blue, method="histogram").shape
    (16, 64, 3)
    """
    _check_options(options)
    model = ColorTransfer(
        method=method,
        n_clusters=n_clusters,
        reg=reg,
        color_space=color_space,
        strength=strength,
        preserve_luminance=preserve_luminance,
        preserve_detail=preserve_detail,
        random_state=random_state,
        **options,
    )
    model.fit(reference, reference_mask=reference_mask, reference_labels=reference_labels)
    return model.transform(image, source_mask=source_mask, apply_mask=apply_mask, source_labels=source_labels)
