"""One look for a whole dataset: recolor every image toward the barycenter of their palettes.

:class:`Normalizer` follows scikit-learn's conventions: ``__init__`` stores
the parameters, ``fit(images)`` learns each image's palette (the sampling
and k-means of :class:`~imgot.ColorTransfer`) and their free-support
Wasserstein barycenter (:func:`imgot.barycenter.palette_barycenter`), and
``transform(image)`` transports one image onto it with the regular transfer
path: a :class:`~imgot.ColorTransfer` whose reference palette is the
barycenter (``transfer_``), so the same options (strength, luminance, detail (`preserve_detail`),
unbalanced relaxation) mean the same thing as in ``imgot transfer``.

Only the palette methods can normalize (``emd``, ``sinkhorn``,
``unbalanced``): the others summarise the reference by something other than
a palette (moments, CDFs, samples), and a palette barycenter is not one of
those. ``unbalanced`` lets an image keep its own shares of colors (a slide
with little tissue is not forced toward the mean tissue share).

A barycenter of one image is its palette, so ``fit([template])`` normalizes
toward a template, exactly as ``ColorTransfer().fit(template)`` does.

Background (``background=0.85``, for slides and scans on white): pixels
whose lightness (luma, lightly blurred) is at least that fraction of full
scale are background
(:mod:`imgot.background`). They count in no palette, neither the fitted
images' nor the normalized image's, and keep their colors; an image whose
content share is below ``min_content`` is not fitted on and is returned
unchanged. Without it (the default) every pixel is normalized, and a tile of
empty glass is painted with the dataset's tissue colors.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np

from .estimator import ParamsMixin
from .method_table import PALETTE_METHODS
from .palette import Palette
from .validation import RENAMED, check_integer, renamed, takes_renamed

__all__ = ["NORMALIZE_METHODS", "Normalizer", "barycenter", "image_of", "load_normalizer"]

NORMALIZE_METHODS = PALETTE_METHODS  # the methods whose reference state is a palette (a barycenter is one)
WEIGHTINGS = ("equal", "pixels")
_FORMAT = "imgot.Normalizer"


def image_of(item):
    """An array, a PIL image, or a path read through :func:`imgot.frames.read_for_fit` (all frames of a GIF)."""
    if isinstance(item, (str, os.PathLike)):
        from .frames import read_for_fit

        return read_for_fit(item)
    return item


class Normalizer(ParamsMixin):
    """Normalize the colors of a set of images toward their Wasserstein barycenter.

    Parameters
    ----------
    method : {'emd', 'sinkhorn', 'unbalanced'}, default 'emd'
        Transport of each image onto the barycenter palette.
    n_clusters : int, default 64
        Palette size of every image, and support size of the barycenter.
    n_samples : int, default 10000
        Pixels sampled per image for its palette.
    weights : {'equal', 'pixels'} or array-like, default 'equal'
        Weight of each image in the barycenter: the same, by (opaque) pixel
        count, or given.
    barycenter_iter : int, default 100
        Support updates of the free-support barycenter.
    reg, reg_m, max_iter, tol, color_space, strength, preserve_luminance, preserve_detail, lut_size, bandwidth
        As in :class:`imgot.ColorTransfer`; they shape the transport of each
        image onto the barycenter (`color_space` also the barycenter's space).
    random_state : int, default 0
        Seed of the sampling and k-means: the same images give the same
        barycenter and the same output bytes.
    background : float or None, default None
        A level in (0, 1]: a pixel whose lightness (luma, blurred over 2
        pixels) is at least this fraction of full scale is background (0.85
        for brightfield slides), fading to content over 0.05 below it. Background counts in no palette
        and keeps its colors. None: every pixel is content.
    min_content : float, default 0.05
        With `background`, the share of content an image needs to be fitted
        on and normalized; below it, it is returned unchanged (bit for bit).
    **deprecated
        ``detail``, the old name of `preserve_detail` (DeprecationWarning).

    Attributes
    ----------
    barycenter_ : Palette
        The barycenter palette, in the working color space.
    transfer_ : ColorTransfer
        Fitted, with ``barycenter_`` as its reference palette.
    palettes_ : list of Palette
        The palettes of the fitted images.
    image_weights_ : ndarray of shape (n_images,)
        Their weights in the barycenter (summing to 1).
    n_images_ : int
        The images the barycenter is fitted on.
    n_background_ : int
        The images of `fit` left out as background (below `min_content`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> tints = ([255, 90, 60], [60, 90, 255])
    >>> images = [(rng.random((16, 16, 3)) * tint).astype(np.uint8) for tint in tints]
    >>> model = Normalizer(n_clusters=8).fit(images)
    >>> model.barycenter_.colors.shape, model.n_images_
    ((8, 3), 2)
    >>> after = [model.transform(image) for image in images]
    >>> bool(all(model.distance(a) < model.distance(b) for a, b in zip(after, images)))
    True
    """

    @takes_renamed
    def __init__(
        self,
        *,
        method: str = "emd",
        n_clusters: int = 64,
        n_samples: int = 10000,
        weights="equal",
        barycenter_iter: int = 100,
        reg: float = 0.01,
        reg_m: float = 1.0,
        max_iter: int = 1000,
        tol: float = 1e-9,
        color_space: str | None = None,
        strength: float = 1.0,
        preserve_luminance: bool = False,
        preserve_detail: bool = True,
        lut_size: int = 33,
        bandwidth: float = 1.0,
        random_state: int = 0,
        background: float | None = None,
        min_content: float = 0.05,
        **deprecated,
    ):
        self.method = method
        self.n_clusters = n_clusters
        self.n_samples = n_samples
        self.weights = weights
        self.barycenter_iter = barycenter_iter
        self.reg = reg
        self.reg_m = reg_m
        self.max_iter = max_iter
        self.tol = tol
        self.color_space = color_space
        self.strength = strength
        self.preserve_luminance = preserve_luminance
        self.preserve_detail = renamed("Normalizer", deprecated).get("preserve_detail", preserve_detail)
        self.lut_size = lut_size
        self.bandwidth = bandwidth
        self.random_state = random_state
        self.background = background
        self.min_content = min_content

    @property
    def detail(self) -> bool:
        """Deprecated alias of `preserve_detail` (until the next release)."""
        renamed("Normalizer.detail", {"detail": None})
        return self.preserve_detail

    # -- fitting ---------------------------------------------------------------------------------

    def _transfer_params(self) -> dict:
        from .transfer import ColorTransfer

        names = set(ColorTransfer._get_param_names())
        return {name: getattr(self, name) for name in self._get_param_names() if name in names}

    def _new_transfer(self, **changes):
        """A :class:`~imgot.background.ContentTransfer` with the normalizer's parameters (and `changes`)."""
        from .background import ContentTransfer, check_background

        if self.method not in NORMALIZE_METHODS:
            raise ValueError(f"Normalizer needs a palette method, one of: {', '.join(NORMALIZE_METHODS)}; "
                             f"got {self.method!r}")
        check_integer("barycenter_iter", self.barycenter_iter, 1)
        if self.random_state is None:
            raise ValueError("Normalizer needs an integer random_state: every image is sampled with it")
        check_background(self.background, self.min_content)
        model = ContentTransfer(**{**self._transfer_params(), **changes})
        model._validate_params()
        return model.set_background(self.background, float(self.min_content))

    def _palette_and_content(self, image) -> tuple[Palette, float | None]:
        """The palette of `image`'s content, and its content pixel count (None: background, whole palette)."""
        model = self._new_transfer()
        pixels, weight = model.content(image_of(image))
        if weight is None:  # background: its palette is all of it
            return model.fit(pixels).reference_palette_, None
        mask = None if self.background is None else weight
        return model.fit(pixels, reference_mask=mask).reference_palette_, float(weight.sum())

    def palette(self, image) -> Palette:
        """The palette of `image` as the normalizer sees it (working space, seeded sampling; its content only
        with `background`)."""
        return self._palette_and_content(image)[0]

    def fit(self, images: Iterable, y=None) -> Normalizer:
        """Learn the palettes of `images` and their barycenter.

        Parameters
        ----------
        images : iterable of ndarray, PIL.Image.Image or path-like
            Read one at a time; only their palettes are kept.
        y : ignored

        Returns
        -------
        self : Normalizer
        """
        from .barycenter import palette_barycenter
        from .pixels import as_pixels

        model = self._new_transfer()
        palettes, counts, kept, seen = [], [], [], 0
        for item in images:
            image = image_of(item)
            palette, content = self._palette_and_content(image)
            seen += 1
            if content is None:
                continue
            palettes.append(palette)
            kept.append(seen - 1)
            if isinstance(self.weights, str) and self.weights == "pixels":
                pixels = as_pixels(image)
                weights = pixels.sample_weights()
                whole = float(weights.sum()) if weights is not None else float(np.prod(pixels.shape[:2]))
                counts.append(whole if self.background is None else content)
        if not palettes:
            raise ValueError("fit needs at least one image" if not seen else
                             f"all {seen} images are background (content below min_content="
                             f"{self.min_content} with background={self.background}): nothing to fit on")
        self.n_background_ = seen - len(kept)
        weights = self._image_weights(seen, counts, kept)
        self.barycenter_ = palette_barycenter(palettes, weights=weights, n_clusters=int(self.n_clusters),
                                              max_iter=int(self.barycenter_iter),
                                              random_state=int(self.random_state))
        self.palettes_, self.image_weights_, self.n_images_ = palettes, weights, len(palettes)
        self.transfer_ = model.fit_palette(self.barycenter_)
        return self

    def _image_weights(self, n: int, counts: list[float], kept: list[int]) -> np.ndarray:
        """The weights of the `kept` images (of `n` given; the others are background)."""
        if isinstance(self.weights, str):
            if self.weights not in WEIGHTINGS:
                raise ValueError(f"weights must be one of {', '.join(WEIGHTINGS)} or numbers, "
                                 f"got {self.weights!r}")
            raw = np.ones(len(kept)) if self.weights == "equal" else np.asarray(counts)
        else:
            raw = np.asarray(self.weights, np.float64).reshape(-1)
            if raw.shape != (n,):
                raise ValueError(f"weights has {raw.size} values for {n} images")
            raw = raw[kept]
        if not np.all(np.isfinite(raw)) or np.any(raw < 0) or not raw.sum() > 0:
            raise ValueError(f"weights must be non-negative with a positive sum, got {raw!r}")
        return raw / raw.sum()

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "transfer_")

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            from .exceptions import NotFittedError

            raise NotFittedError("this Normalizer is not fitted yet; call fit(images) first")

    # -- using it ----------------------------------------------------------------------------------

    def transform(self, image):
        """Recolor `image` onto the barycenter; same kind, shape and dtype as `image`."""
        self._check_fitted()
        return self.transfer_.transform(image_of(image))

    def fit_transform(self, images, y=None) -> list:
        """``fit(images)``, then the transform of each (images are read twice)."""
        images = list(images)
        self.fit(images)
        return [self.transform(image) for image in images]

    def color_lut(self, image):
        """The 3-D LUT that normalizes `image` (without the detail step, if any); a ColorLUT."""
        self._check_fitted()
        if self.preserve_detail:
            return self._new_transfer(preserve_detail=False).fit_palette(self.barycenter_).color_lut(image_of(image))
        return self.transfer_.color_lut(image_of(image))

    def distance(self, image) -> float:
        """W2 between the palette of `image` and the barycenter (exact; working-space units)."""
        from .barycenter import barycenter_cost

        self._check_fitted()
        return float(np.sqrt(barycenter_cost(self.barycenter_, [self.palette(image)])))

    # -- persistence -------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Save the parameters and the barycenter to a versioned ``.npz`` (no pickle).

        Examples
        --------
        >>> import os, tempfile
        >>> model = Normalizer(n_clusters=2).fit([np.eye(3)[None], np.eye(3)[None] * 0.5])
        >>> path = os.path.join(tempfile.mkdtemp(), "look.npz")
        >>> model.save(path)
        >>> bool((load_normalizer(path).barycenter_.colors == model.barycenter_.colors).all())
        True
        """
        from .persist import write_archive

        self._check_fitted()
        params = self.get_params()
        if not isinstance(params["weights"], str):
            params["weights"] = [float(w) for w in np.asarray(params["weights"]).reshape(-1)]
        arrays = {"barycenter_colors": self.barycenter_.colors,
                  "barycenter_weights": self.barycenter_.weights, "image_weights": self.image_weights_}
        write_archive(path, _FORMAT, params, arrays, overwrite=overwrite)


def load_normalizer(path: str | os.PathLike) -> Normalizer:
    """Load a :class:`Normalizer` saved by :meth:`Normalizer.save`, fitted.

    It transforms images to the same bytes as the one saved (``palettes_``
    are not saved).

    Raises
    ------
    ImageReadError
        If the file is missing.
    ModelFormatError
        If it is not a saved normalizer, or of another format version.
    """
    from .exceptions import ModelFormatError
    from .persist import read_archive

    params, arrays = read_archive(path, _FORMAT, ("barycenter_colors", "barycenter_weights", "image_weights"))
    try:
        palette = Palette.from_arrays(arrays["barycenter_colors"], arrays["barycenter_weights"], what="barycenter")
    except ValueError as error:
        raise ModelFormatError(f"{path}: {error}") from None
    params = {RENAMED.get(name, name): value for name, value in params.items()}  # files of the last release
    try:
        model = Normalizer(**params)
        transfer = model._new_transfer()
    except (TypeError, ValueError) as error:
        raise ModelFormatError(f"{path}: bad parameters ({error})") from None
    model.barycenter_ = palette
    model.image_weights_ = arrays["image_weights"]
    model.n_images_ = int(model.image_weights_.size)
    model.n_background_ = 0  # not saved: only the fitted images' weights are
    model.transfer_ = transfer.fit_palette(palette)
    return model


def barycenter(images: Iterable, **params) -> Palette:
    """The Wasserstein barycenter palette of `images`: ``Normalizer(**params).fit(images).barycenter_``.

    Parameters
    ----------
    images : iterable of ndarray, PIL.Image.Image or path-like
    **params
        :class:`Normalizer` parameters (``n_clusters``, ``weights``,
        ``color_space``, ``random_state``, ...).

    Returns
    -------
    Palette
        In the working space (CIELAB by default), ``n_clusters`` colors of
        equal mass.

    Examples
    --------
    >>> red = np.full((4, 4, 3), [200, 40, 40], np.uint8)
    >>> blue = np.full((4, 4, 3), [40, 40, 200], np.uint8)
    >>> palette = barycenter([red, blue], n_clusters=1)
    >>> palette.colors.shape, palette.weights.tolist()
    ((1, 3), [1.0])
    """
    return Normalizer(**params).fit(images).barycenter_
