"""Selections, masks and regions: which pixels count, where the result goes, which region maps to which.

Three ideas, each one function here, used by :class:`imgot.ColorTransfer`:

- a **selection** says how much each pixel counts in an image's statistics
  (palettes, histograms, moments, samples): a gray mask (white = counts,
  gray = counts partly), the image's own alpha, minus the pixels of an
  ignored "nodata" color (:func:`select`);
- an **apply mask** says where the result replaces the source: outside it
  (and on ignored pixels) the source is copied bit for bit, and with a
  `feather` the change fades in over that many pixels inside the mask's edge
  (:func:`apply_weight`, :func:`composite`);
- **regions** are two label images whose equal labels correspond (sky to sky,
  skin to skin): each region gets its own map, and the maps are blended by
  feathered region weights that sum to 1 everywhere, so region borders have
  no seams (:func:`as_labels`, :func:`region_weights`). In the blend band
  each weight is also multiplied by how common the pixel's color is among
  the region's own pixels near its borders (:func:`color_density`): a sky
  pixel next to the ground takes the sky's map, not a mix with the ground's
  map applied to a sky color (a color neither map gives), while a border
  drawn through one material (the same colors on both sides) still blends
  by position alone.

Smooth weights are computed on a coarse grid (:mod:`imgot.grid`), so a
feather of a hundred pixels costs no more than one of ten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from numbers import Integral, Real

import numpy as np

from .grid import cell_means, upsample
from .pixels import Pixels, as_pixels, quantize

__all__ = [
    "MAX_REGIONS", "as_weight", "ignored_pixels", "select", "apply_weight", "feather_weight", "composite",
    "as_labels", "label_values", "region_weights", "restrict", "blend_regions", "default_region_feather",
    "check_ignore_color", "check_ignore_depth", "color_bins", "color_density",
]

_ERF_SQRT2 = 0.9544997361036416  # 2 * Phi(2) - 1: the blur's value at 2 sigma inside, scaled to 1
MAX_REGIONS = 64  # each region fits its own map: more is a mistake (a JPEG label image), not a use


def _size(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}x{shape[0]}"


def as_weight(mask, shape: tuple[int, int], *, what: str = "mask", alpha: np.ndarray | None = None,
              scale: float = 1.0) -> np.ndarray:
    """A mask as per-pixel weights in [0, 1], float32 of shape `shape` (H, W).

    Parameters
    ----------
    mask : ndarray, PIL.Image.Image, Pixels or 'alpha'
        A gray image (white = 1, black = 0, gray = partial weight): bool,
        uint8, uint16 or float in [0, 1], with or without an alpha channel
        (which multiplies in). A color image counts only if it is gray
        (R = G = B), or if it has alpha (a cut-out: its alpha is the mask).
        ``'alpha'`` takes the image's own alpha (`alpha`, at `scale`).
    shape : (H, W)
        The image's height and width, which the mask must have.
    what : str
        How errors name the mask ("source mask").

    Raises
    ------
    ValueError
        For a mask of another size, a color mask, or ``'alpha'`` on an image
        without alpha.

    Examples
    --------
    >>> as_weight(np.array([[0, 128, 255]], np.uint8), (1, 3)).astype(float).round(3).tolist()
    [[0.0, 0.502, 1.0]]
    """
    if isinstance(mask, str):
        if mask != "alpha":
            raise ValueError(f"{what} must be an image or 'alpha', got {mask!r}")
        if alpha is None:
            raise ValueError(f"{what} 'alpha': the image has no alpha channel")
        return (alpha.astype(np.float32) / np.float32(scale)).reshape(shape)
    if isinstance(mask, np.ndarray) and mask.dtype == bool:
        mask = mask.astype(np.uint8) * np.uint8(255)
    pixels = as_pixels(mask)
    if pixels.color.shape[:2] != tuple(shape):
        raise ValueError(f"{what} is {_size(pixels.color.shape)} pixels but the image is {_size(shape)}; "
                         "a mask must have the image's size")
    unit = np.float32(1.0 / pixels.scale)
    if pixels.is_gray:
        weight = pixels.color.astype(np.float32) * unit
    elif pixels.alpha is not None and not _is_gray(pixels.color):
        return pixels.alpha.astype(np.float32) * unit  # a cut-out: its alpha is the selection
    elif _is_gray(pixels.color):
        weight = pixels.color[..., 0].astype(np.float32) * unit
    else:
        raise ValueError(f"{what} must be a gray image (white = selected), not a color one")
    if pixels.alpha is not None:
        weight *= pixels.alpha.astype(np.float32) * unit
    return weight


def _is_gray(color: np.ndarray) -> bool:
    return bool(np.array_equal(color[..., 0], color[..., 1]) and np.array_equal(color[..., 1], color[..., 2]))


def check_ignore_color(color, tolerance=0) -> tuple[tuple[float, ...], float] | None:
    """Validate an ignored ("nodata") color: 1 or 3 numbers >= 0, and a tolerance >= 0.

    Integers are levels of the image's own depth (0..255 for 8-bit, 0..65535
    for 16-bit); floats are fractions of full scale, in [0, 1].
    Returns ``(color, tolerance)``, or None for no ignored color.
    """
    if color is None:
        return None
    if isinstance(color, np.ndarray):  # np.array([0, 0, 0]): its values as Python numbers
        color = color.tolist() if color.ndim == 1 else color.item() if color.ndim == 0 else color
    values = (color,) if isinstance(color, Real) else tuple(color) if isinstance(color, (tuple, list)) else None
    if not values or len(values) not in (1, 3) or not all(
            isinstance(v, Real) and not isinstance(v, bool) and np.isfinite(float(v)) and float(v) >= 0
            for v in values):
        raise ValueError(f"ignore_color must be one gray level or three R, G, B values >= 0, got {color!r}")
    if any(not isinstance(v, Integral) for v in values) and max(float(v) for v in values) > 1:
        raise ValueError(f"ignore_color in fractions of full scale must be in [0, 1], got {color!r}")
    if not isinstance(tolerance, Real) or isinstance(tolerance, bool) or not np.isfinite(float(tolerance)) \
            or float(tolerance) < 0:
        raise ValueError(f"ignore_tolerance must be a number >= 0, got {tolerance!r}")
    return values, float(tolerance)


def _depth(scale: float) -> str:
    return {255.0: "8-bit", 65535.0: "16-bit"}.get(float(scale), "float")


def check_ignore_depth(color, scale: float, *, what: str = "image") -> None:
    """Refuse integer ignored levels above the top level of an image of full scale `scale`.

    Integers are levels of the image's own depth: 300 fits no 8-bit image
    (top 255), 70000 no image at all; a float image's integer levels are 0
    and 1. Fractions (floats) fit every depth. Checked on the recolored
    image (whose ignored pixels are copied unchanged); a reference of another
    depth just has no pixel of a level above its top.

    Raises
    ------
    ValueError
        Naming the level, the image's depth and its top level.

    Examples
    --------
    >>> check_ignore_depth((255, 0, 0), 255.0)
    >>> check_ignore_depth((300, 0, 0), 255.0)
    Traceback (most recent call last):
    ...
    ValueError: ignore_color (300, 0, 0): 300 is above 255, the top level of the 8-bit image; integers are levels of the image's depth, 0.0-1.0 fractions of full scale
    """
    checked = check_ignore_color(color)
    if checked is None or not all(isinstance(v, Integral) for v in checked[0]):
        return
    top = int(scale)
    high = max(checked[0])
    if high > top:
        raise ValueError(f"ignore_color {color}: {high} is above {top}, the top level of the {_depth(scale)} "
                         f"{what}; integers are levels of the image's depth, 0.0-1.0 fractions of full scale")


def ignored_pixels(pixels: Pixels, color, tolerance=0) -> np.ndarray | None:
    """Pixels whose color is within `tolerance` of the ignored `color` in every channel, (H, W) bool.

    See :func:`check_ignore_color` for the units. A gray image matches the
    gray level, or R = G = B. Returns None without an ignored color.

    Examples
    --------
    >>> image = as_pixels(np.array([[[0, 0, 0], [0, 0, 2], [9, 9, 9]]], np.uint8))
    >>> ignored_pixels(image, (0, 0, 0)).tolist(), ignored_pixels(image, (0, 0, 0), 2).tolist()
    ([[True, False, False]], [[True, True, False]])
    """
    checked = check_ignore_color(color, tolerance)
    if checked is None:
        return None
    values, tolerance = checked
    integers = all(isinstance(v, Integral) for v in values)
    levels = np.array(values, np.float64) * (1.0 if integers else pixels.scale)
    tol = tolerance * (1.0 if integers else pixels.scale)
    if pixels.is_gray:
        if len(levels) == 3 and not levels.min() == levels.max():
            return np.zeros(pixels.color.shape, bool)
        return np.abs(pixels.color.astype(np.float64) - levels[0]) <= tol
    levels = np.broadcast_to(levels, (3,))
    hit = np.ones(pixels.color.shape[:2], bool)
    for channel in range(3):
        plane = pixels.color[..., channel]
        low, high = levels[channel] - tol, levels[channel] + tol
        if plane.dtype.kind == "u":  # compare the integer levels themselves: no float copy
            top = np.iinfo(plane.dtype).max
            low, high = int(np.ceil(max(low, 0))), int(np.floor(min(high, top)))
            if low > high:
                return np.zeros(hit.shape, bool)
            low, high = plane.dtype.type(low), plane.dtype.type(high)
        hit &= plane >= low
        hit &= plane <= high
    return hit


def _any_selected(pixels: Pixels) -> bool:
    """Whether some pixel counts in the statistics (no weights: every pixel does)."""
    weights = pixels.sample_weights()
    return weights is None or bool(np.any(weights > 0))


def select(pixels: Pixels, mask=None, *, ignore=None, what: str = "image") -> Pixels:
    """`pixels` with a selection: the weights of `mask`, with `ignore`'d pixels at 0.

    Parameters
    ----------
    pixels : Pixels
    mask : see :func:`as_weight`, optional
    ignore : ndarray of bool (H, W), optional
        Pixels to leave out (from :func:`ignored_pixels`).
    what : str
        How errors name the image ("source", "reference").

    Raises
    ------
    ValueError
        When nothing is selected: the mask is black everywhere, or covers only
        transparent or ignored pixels.
    """
    if mask is None and ignore is None:
        return pixels
    shape = pixels.color.shape[:2]
    if mask is None:  # only the ignored color: a 0/1 selection, kept as bool (the fast sampling path)
        weight = ~ignore
    else:
        weight = as_weight(mask, shape, what=f"{what} mask", alpha=pixels.alpha, scale=pixels.scale)
        if ignore is not None:
            weight[ignore] = 0.0
    selected = replace(pixels, selection=weight)
    if not _any_selected(selected):
        reasons = [name for name, on in (("mask", mask is not None), ("ignored color", ignore is not None)) if on]
        raise ValueError(f"the {what} selection is empty: no pixel is left after the {' and '.join(reasons)}")
    return selected


def _smooth(plane: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of `plane` (float32), on a grid about sigma/3 coarser when sigma is large."""
    from scipy.ndimage import gaussian_filter

    step = max(1, int(sigma // 3))
    if step == 1:
        return gaussian_filter(plane.astype(np.float32), sigma, mode="nearest")
    coarse = gaussian_filter(cell_means(plane, step), sigma / step, mode="nearest")
    return upsample(coarse, plane.shape, step)


def feather_weight(weight: np.ndarray, feather: float) -> np.ndarray:
    """Fade `weight` in over `feather` pixels inside its edge; 0 stays exactly 0, the interior 1.

    The fade is ``clip((2 * blur(weight > 0) - 1) / erf(sqrt(2)), 0, 1)``
    with a Gaussian of sigma ``feather / 2``: 0 on the edge, 1 from `feather`
    pixels inside a straight edge on. Parts of the mask thinner than about
    `feather` fade out entirely.

    Examples
    --------
    >>> mask = np.zeros((1, 40), np.float32); mask[:, 10:] = 1
    >>> soft = feather_weight(mask, 8)
    >>> float(soft[0, 9]), float(soft[0, 10]) < 0.2, float(soft[0, 39])
    (0.0, True, 1.0)
    """
    if not feather > 0:
        return weight
    ramp = _smooth(weight > 0, feather / 2.0)
    ramp *= np.float32(2.0 / _ERF_SQRT2)
    ramp -= np.float32(1.0 / _ERF_SQRT2)
    np.clip(ramp, 0.0, 1.0, out=ramp)
    ramp[ramp > 1.0 - 1e-4] = 1.0  # the interior exactly 1: the result there bit for bit
    ramp *= weight
    return ramp


def apply_weight(pixels: Pixels, mask=None, *, feather: float = 0.0, ignore=None) -> np.ndarray | None:
    """Where the result replaces the source: `mask` (feathered), 0 on `ignore`'d pixels; None for everywhere."""
    if mask is None and ignore is None:
        return None
    shape = pixels.color.shape[:2]
    weight = np.ones(shape, np.float32) if mask is None else feather_weight(
        as_weight(mask, shape, what="apply mask", alpha=pixels.alpha, scale=pixels.scale), float(feather or 0.0))
    if ignore is not None:
        weight[ignore] = 0.0
    return weight


def composite(source: np.ndarray, result: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    """``source + weight * (result - source)``, in their dtype: exactly `source` where weight is 0, `result` where 1.

    Examples
    --------
    >>> src = np.zeros((1, 3), np.uint8); res = np.full((1, 3), 200, np.uint8)
    >>> composite(src, res, np.array([[0.0, 0.5, 1.0]], np.float32)).tolist()
    [[0, 100, 200]]
    """
    if weight is None:
        return result
    inside = weight >= 1.0
    out = np.where(inside[..., None] if source.ndim == 3 else inside, result, source)
    partial = (weight > 0.0) & ~inside
    if partial.any():
        scale = 1.0 if source.dtype.kind == "f" else float(np.iinfo(source.dtype).max)
        w = weight[partial] if source.ndim == 2 else weight[partial][:, None]
        low = source[partial].astype(np.float32)
        mixed = low + w * (result[partial].astype(np.float32) - low)
        out[partial] = quantize(mixed / np.float32(scale), source.dtype)
    return out


def _narrow(array: np.ndarray) -> np.ndarray:
    """Integer labels in the narrowest of uint8, uint16 and int64 that holds them (fast to compare and count)."""
    if array.dtype.kind == "b":
        return array.astype(np.uint8)
    low, high = (array.min(), array.max()) if array.size else (0, 0)
    for dtype in (np.uint8, np.uint16):
        if low >= 0 and high <= np.iinfo(dtype).max:
            return array.astype(dtype, copy=False)
    return array.astype(np.int64, copy=False)


def label_values(labels: np.ndarray) -> list[int]:
    """The distinct labels of a label image, sorted (by counting, for 8- and 16-bit labels)."""
    if labels.dtype in (np.uint8, np.uint16):
        return np.flatnonzero(np.bincount(labels.reshape(-1), minlength=1)).tolist()
    return [int(value) for value in np.unique(labels)]


def as_labels(labels, shape: tuple[int, int], *, what: str = "label image") -> np.ndarray:
    """A label image as integer labels of shape `shape` (uint8, uint16 or int64).

    Parameters
    ----------
    labels : ndarray or PIL.Image.Image
        Integer labels (H, W); a color label image (H, W, 3 or 4), in which
        each distinct color is a label (segmentation maps drawn in colors;
        where R = G = B everywhere, the gray levels are the labels);
        a PIL palette image (its indices); float arrays must hold whole numbers.

    Raises
    ------
    ValueError
        For another size, non-integer values, or more than
        :data:`MAX_REGIONS` distinct labels (a lossy JPEG label image).

    Examples
    --------
    >>> as_labels(np.array([[1.0, 2.0]]), (1, 2)).tolist()
    [[1, 2]]
    """
    if hasattr(labels, "mode") and hasattr(labels, "getbands"):
        labels = np.asarray(labels if labels.mode in ("P", "L", "I", "I;16", "RGB", "RGBA", "1")
                            else labels.convert("RGB"))
    array = np.asarray(labels)
    if array.ndim == 3 and array.shape[2] in (3, 4):
        if array.dtype.kind not in "iub":
            raise ValueError(f"{what}: a color label image must hold integer levels, got {array.dtype}")
        if _is_gray(array[..., :3]):  # gray levels stored as RGB (WebP, some editors): the levels are the labels
            array = array[..., 0]
        else:
            wide = array[..., :3].astype(np.int64)
            array = (wide[..., 0] << 32) | (wide[..., 1] << 16) | wide[..., 2]
    elif array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim != 2:
        raise ValueError(f"{what} must be (H, W) labels or a color label image, got shape {array.shape}")
    if array.shape != tuple(shape):
        raise ValueError(f"{what} is {_size(array.shape)} pixels but the image is {_size(shape)}")
    if array.dtype.kind == "f":
        if not np.isfinite(array).all() or not np.array_equal(array, np.round(array)):
            raise ValueError(f"{what} must hold integer labels; it holds fractional values")
    elif array.dtype.kind not in "iub":
        raise ValueError(f"{what} must hold integer labels, got {array.dtype}")
    array = _narrow(array)
    count = len(label_values(array))
    if count > MAX_REGIONS:
        raise ValueError(f"{what} has {count} distinct labels, more than {MAX_REGIONS}; labels must be "
                         "saved losslessly (PNG, TIFF), not as JPEG")
    return array


def default_region_feather(shape: tuple[int, int]) -> float:
    """The blend width between regions when none is given: 2% of the shorter side, at least 2 pixels."""
    return max(2.0, 0.02 * min(shape))


def region_weights(labels: np.ndarray, groups: dict, feather: float) -> Iterator[tuple[object, np.ndarray]]:
    """Feathered weights of groups of labels, float32 (H, W) planes that sum to 1 at every pixel.

    Parameters
    ----------
    labels : ndarray of int64 (H, W)
    groups : dict
        ``key -> labels`` of each group (a region, or all labels that share
        the global map).
    feather : float
        Sigma of the Gaussian blur of each group's indicator, in pixels; 0
        gives hard regions.

    Yields
    ------
    (key, weight)
        Only groups whose weight is somewhere above 0.
    """
    for key, members in groups.items():
        inside = labels == members[0] if len(members) == 1 else np.isin(labels, list(members))
        weight = _smooth(inside, feather) if feather > 0 else inside.astype(np.float32)
        if feather > 0:
            weight[inside & (weight > 1.0 - 1e-4)] = 1.0
            weight[~inside & (weight < 1e-4)] = 0.0
        if weight.any():
            yield key, weight


def restrict(pixels: Pixels, inside: np.ndarray) -> Pixels | None:
    """`pixels` whose selection is restricted to `inside`; None if nothing there is selected."""
    if pixels.selection is None:
        weight = inside
    else:
        weight = pixels.selection & inside if pixels.selection.dtype == bool else pixels.selection * inside
    region = replace(pixels, selection=weight)
    return region if _any_selected(region) else None


COLOR_BINS = 32  # per channel: the color densities that weight the blend between regions (32**3 bins)
_DENSITY_FLOOR = 1e-6  # of the uniform density: a color no region has blends by position alone


def color_bins(pixels: Pixels, bins: int = COLOR_BINS) -> np.ndarray:
    """Each pixel's color bin, ``bins`` per channel: (H, W) int32 in ``0 .. bins**3 - 1`` (``bins`` for gray).

    Examples
    --------
    >>> color_bins(as_pixels(np.array([[[0, 0, 0], [255, 0, 8]]], np.uint8))).tolist()
    [[0, 31745]]
    """
    color = pixels.color
    index = np.empty(color.shape[:2], np.int32)
    for block in _row_blocks(slice(0, color.shape[0])):  # no image-sized float temporaries
        part = color[block]
        if part.dtype.kind == "f":
            part = np.minimum((part * np.float32(bins)).astype(np.int32), bins - 1)
        else:  # 256 or 65536 levels: whole levels per bin
            part = (part.astype(np.int32) * bins) // (int(pixels.scale) + 1)
        index[block] = part if part.ndim == 2 else (part[..., 0] * bins + part[..., 1]) * bins + part[..., 2]
    return index


def color_density(index: np.ndarray, where: np.ndarray, weights: np.ndarray | None, *, gray: bool,
                  bins: int = COLOR_BINS) -> np.ndarray:
    """The density of the colors at `where` (weighted), smoothed over one bin: a lookup table over the bins.

    The densities sum to 1 over the bins, with a floor of
    ``_DENSITY_FLOOR`` times the uniform density so that no color has 0.
    """
    from scipy.ndimage import gaussian_filter

    counts = np.bincount(index[where], weights=None if weights is None else weights[where],
                         minlength=bins if gray else bins ** 3).astype(np.float64)
    counts = gaussian_filter(counts.reshape((bins,) if gray else (bins,) * 3), 1.0, mode="constant").reshape(-1)
    total = counts.sum()
    uniform = 1.0 / counts.size
    density = counts / total if total > 0 else np.full(counts.size, uniform)
    return (density + _DENSITY_FLOOR * uniform).astype(np.float32)


def _row_blocks(rows: slice, size: int = 256) -> Iterator[slice]:
    return (slice(start, min(start + size, rows.stop)) for start in range(rows.start, rows.stop, size))


def _listed(labels) -> str:
    labels = sorted(labels)
    return ", ".join(map(str, labels[:8])) + (", ..." if len(labels) > 8 else "")


def _weigh_by_color(weight: np.ndarray, labels: np.ndarray, members: tuple, index: np.ndarray,
                    selected: np.ndarray | None, gray: bool) -> None:
    """Multiply, in place, a group's blend weight by the density of each pixel's color among the group's.

    Only where the weight is strictly between 0 and 1 (the blend band): a
    pixel inside one group keeps that group's color exactly. The density is
    that of the group's own pixels near its borders (all its pixels when
    fewer than 64 are), so a color the group has there takes the group's map,
    and one it has not does not.
    """
    partial = (weight > 0.0) & (weight < 1.0)
    if not partial.any():
        return
    inside = labels == members[0] if len(members) == 1 else np.isin(labels, list(members))
    near = inside & (weight < 1.0)
    if selected is not None:
        near &= selected > 0
    if np.count_nonzero(near) < 64:
        near = inside if selected is None else inside & (selected > 0)
    density = color_density(index, near, None if selected is None or selected.dtype == bool else selected,
                            gray=gray)
    weight[partial] *= density[index[partial]]


def blend_regions(pixels: Pixels, labels: np.ndarray, fitted, map_rows: Callable[..., np.ndarray], *,
                  feather: float | None = None) -> np.ndarray:
    """Map each region of `pixels` by its own map and blend the results by feathered region weights.

    Parameters
    ----------
    pixels : Pixels
        The source, with its selection.
    labels : ndarray (H, W)
        Its region labels (:func:`as_labels`).
    fitted : container of labels
        The labels that have a reference region (a fitted map).
    map_rows : callable
        ``map_rows(region_pixels, label, rows) -> colors`` of `rows`, in the
        dtype of `pixels`: the color map of `label` (None: the global map,
        for the source labels with no counterpart) fitted on `region_pixels`'
        selection.
    feather : float, optional
        Width of the blend in pixels (default :func:`default_region_feather`).

    Returns
    -------
    ndarray
        Blended colors in the dtype of `pixels`; a pixel whose weights all
        belong to one region has that region's color exactly. In the band
        where several regions' weights are above 0, each weight is
        multiplied by the density of the pixel's color among that region's
        pixels near its borders (:func:`color_density`), then normalized.

    Raises
    ------
    ValueError
        If no label of `labels` is in `fitted`.
    """
    shape = pixels.color.shape[:2]
    present = label_values(labels)
    matched = [label for label in present if label in fitted]
    if not matched:
        raise ValueError(f"no label of the source label image ({_listed(present)}) is in the reference "
                         f"label image ({_listed(fitted)}): regions pair by equal labels")
    groups: dict = {label: (label,) for label in matched}
    unmatched = tuple(label for label in present if label not in fitted)
    if unmatched:
        groups[None] = unmatched
    feather = default_region_feather(shape) if feather is None else float(feather)
    total = np.zeros(shape, np.float32)
    blended = np.zeros(pixels.color.shape, np.float32)
    index = color_bins(pixels) if feather > 0 and len(groups) > 1 else None
    selected = pixels.sample_weights()
    selected = None if selected is None else selected.reshape(shape)
    for key, weight in region_weights(labels, groups, feather / 2.0):
        if index is not None:
            _weigh_by_color(weight, labels, groups[key], index, selected, pixels.is_gray)
        used = np.flatnonzero(weight.any(axis=1))  # the band of rows this group reaches
        rows = slice(int(used[0]), int(used[-1]) + 1)
        region = None if key is None else restrict(pixels, labels == key)
        mapped = map_rows(pixels, None, rows) if region is None else map_rows(region, key, rows)
        total[rows] += weight[rows]
        for block in _row_blocks(rows):  # no image-sized temporaries
            part = weight[block] if pixels.is_gray else weight[block, :, None]
            blended[block] += part * mapped[block.start - rows.start: block.stop - rows.start]
    np.maximum(total, np.float32(1e-12), out=total)  # every pixel is inside its own group: total > 0
    if pixels.dtype.kind != "f":
        total *= np.float32(pixels.scale)
    out = np.empty(pixels.color.shape, pixels.dtype)
    for block in _row_blocks(slice(0, shape[0])):
        part = blended[block]
        part /= total[block] if pixels.is_gray else total[block, :, None]
        out[block] = quantize(part, pixels.dtype)
    return out
