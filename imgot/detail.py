"""Detail preservation: an edge-aware filter on the lightness change, at near-LUT cost.

Maps that match whole distributions (histogram matching, sliced transport,
exact transport on few clusters) stretch some color ranges, and with them the
grain and the JPEG blocks of the source. Smoothing the change of lightness
``L*(output) - L*(source)`` with a guided filter whose guide is the source's
lightness keeps the source's own fine texture (its gradients come back
unchanged) while the change still follows the source's edges, so no halo
appears. It is the cheap cousin of Pitie's regrain.

The filter is He and Sun's *fast* guided filter: its linear coefficients are
smooth by construction (box means of box means), so they are computed on a
grid `subsample` times coarser, from the moments of a regular sample of one to
four pixels per coarse cell (every pixel for cells of 2), and interpolated back; only the final
``a * guide + b`` and the relighting run per pixel, on blocks of rows in
threads, with no full-size float plane.

The chroma is smoothed the same way, with the source's color as the guide:
the change of each sRGB channel is filtered with He's color-guided filter
(a 3 x 3 linear model of the source's R, G, B per box), whose coarse
coefficients give every pixel a locally affine color change. Chroma speckle,
blotches and false-color edges that the map adds in flat areas go, while the
change still follows the source's edges of any kind, isoluminant ones
included (an L*-only guide would blur the change across a red/green edge:
a halo). The filtered color gives each pixel its chromaticity, the filtered
lightness its luminance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import fused
from .colorspace import lightness_from_luminance, linear_table, luminance_from_lightness, relative_luminance
from .grid import row_weights, upsample_columns
from .relight import encoding_table, for_row_blocks, relight

__all__ = ["guided_filter", "preserve_detail", "detail_radius", "default_subsample", "CHROMA_EPS"]

# Guide variance, in squared sRGB units (0..1), below which the color change is
# smoothed, in a box whose color variance is the image's mean: color contrast
# under about 0.14 (36 levels of 255) keeps the source's own chroma texture;
# stronger edges of any hue keep the map's change. The ridge of each box is this
# times the image's mean box variance over the box's own (an edge-weighted
# ridge), so flat boxes are smoothed harder and strong edges keep the change closer.
CHROMA_EPS = 0.02
# Added to each box's color variance before weighting the ridge: (0.001 of the range)^2.
_VARIANCE_FLOOR = 1e-6
# Widest stretch of the tones by the global tone curve (see `_tone_curve`).
TONE_SPREAD = 1.25


def guided_filter(guide: np.ndarray, image: np.ndarray, *, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter of `image` with a one-channel `guide`, at full resolution.

    Locally (in (2 radius + 1)^2 boxes) the output is ``a * guide + b``, with
    ``a = cov(guide, image) / (var(guide) + eps)``: across an edge of the guide
    (variance >> eps) it follows the image, in flat or grainy areas
    (variance << eps) it is the box mean. Box means via
    :func:`scipy.ndimage.uniform_filter`: O(pixels) whatever the radius. The
    exact reference for :func:`preserve_detail`'s fast filter.

    Parameters
    ----------
    guide : ndarray of shape (H, W)
    image : ndarray of shape (H, W) or (H, W, C)
    radius : int
    eps : float
        In squared guide units.

    Returns
    -------
    ndarray, float32, shape of `image`

    References
    ----------
    K. He, J. Sun, X. Tang, "Guided image filtering", IEEE TPAMI 35 (2013).

    Examples
    --------
    >>> guide = np.zeros((8, 8)); guide[:, 4:] = 1.0
    >>> out = guided_filter(guide, guide * 2.0, radius=2, eps=1e-4)
    >>> bool(np.abs(out - guide * 2.0).max() < 0.01)
    True
    """
    from scipy.ndimage import uniform_filter

    size = 2 * int(radius) + 1

    def box(plane: np.ndarray) -> np.ndarray:
        return uniform_filter(plane, size, mode="reflect")

    guide = np.asarray(guide, np.float32)
    mean_guide = box(guide)
    var_guide = box(guide * guide) - mean_guide * mean_guide
    planes = image[..., None] if image.ndim == 2 else image
    out = np.empty(planes.shape, np.float32)
    for c in range(planes.shape[-1]):
        plane = np.asarray(planes[..., c], np.float32)
        mean_plane = box(plane)
        a = (box(guide * plane) - mean_guide * mean_plane) / (var_guide + np.float32(eps))
        b = mean_plane - a * mean_guide
        out[..., c] = box(a) * guide + box(b)
    return out.reshape(image.shape)


def detail_radius(shape: tuple[int, ...]) -> int:
    """The default filter radius: ``max(2, min(H, W) // 48)``, the same share of any image size."""
    return max(2, min(shape[:2]) // 48)


def default_subsample(radius: int) -> int:
    """The default cell size of the fast filters: ``radius // 4``, at least 2 from radius 4 (else 1).

    Cells of 2 pixels cut the detail step on small images (a 256 x 256 image,
    radius 5) about three times against the exact filter, for a mean
    difference of about 0.13 L* from it (the same as larger images' cells
    give).
    """
    return max(int(radius) // 4, 2 if radius >= 4 else 1)


def _sample_stride(step: int) -> int:
    """Pixels between the filters' samples for cells of `step` pixels (1 for cells of 1 or 2).

    Odd, so never in phase with 2 x 2 Bayer or 8 x 8 JPEG patterns; at most
    `step`, so every cell holds a sample; about half of `step`, so a cell
    holds one to four samples and a box of the coarse grid a hundred or more.
    Cells of 3 take every third pixel: with every pixel (nine per cell) the
    filters cost twice as much on a 960 x 720 image (radius 15) as on a
    1280 x 960 one, for the same scores.
    """
    return ((step + 1) // 2) | 1


@dataclass(frozen=True)
class _Cells:
    """Which coarse cell each sample of the filters' regular sample lattice falls in.

    `index` is each sample's flat cell (the lattice raveled), `lattice` the
    sample lattice's shape; where the cell size is a multiple of the stride,
    every cell holds `per_cell` x `per_cell` consecutive samples (fewer at
    the bottom and right edges), else `per_cell` is 0.
    """

    index: np.ndarray
    lattice: tuple[int, int]
    per_cell: int


def _sample_cells(shape: tuple[int, int], step: int, stride: int):
    """The regular sample (every `stride`-th pixel, offset to the middle) and the coarse cell of each."""
    offset = stride // 2
    n_rows, n_cols = -(-shape[0] // step), -(-shape[1] // step)
    rows = (np.arange(offset, shape[0], stride) // step)[:, None]
    cols = (np.arange(offset, shape[1], stride) // step)[None, :]
    cells = _Cells((rows * n_cols + cols).ravel(), (rows.shape[0], cols.shape[1]),
                   step // stride if step % stride == 0 else 0)
    return (slice(offset, None, stride), slice(offset, None, stride)), cells, (n_rows, n_cols)


def _cell_sums(cell: _Cells, weight: np.ndarray | None, planes, grid: tuple[int, int]) -> np.ndarray:
    """Per-cell (weighted) sums of each sampled plane, shape (len(planes), *grid).

    A plane may be given as a function that makes it: it is then made only
    when summed, so the planes never all exist at once.
    """
    if not cell.per_cell:
        size = grid[0] * grid[1]
        sums = np.empty((len(planes), size))
        for index, plane in enumerate(planes):
            values = (plane() if callable(plane) else plane).ravel()
            sums[index] = np.bincount(cell.index, values if weight is None else values * weight, minlength=size)
        return sums.reshape(len(planes), *grid)
    # Cells of whole blocks of samples: sums of strided slices, several times faster than bincount,
    # on stacks of planes of at most _SUM_BYTES (all of a small image's at once; a few at 12 MP).
    per = cell.per_cell
    padded_shape = (grid[0] * per, grid[1] * per)
    group = max(1, _SUM_BYTES // (8 * padded_shape[0] * padded_shape[1]))
    sums = np.empty((len(planes), *grid))
    for start in range(0, len(planes), group):
        _block_sums(planes[start : start + group], weight, cell, padded_shape, sums[start : start + group])
    return sums


_SUM_BYTES = 8 << 20  # float64 planes stacked at once by _cell_sums


def _block_sums(planes, weight, cell: _Cells, padded_shape: tuple[int, int], out: np.ndarray) -> None:
    """:func:`_cell_sums` of `planes` into `out`, for cells of ``per_cell`` x ``per_cell`` samples."""
    per = cell.per_cell
    padded = np.zeros((len(planes), *padded_shape))
    inside = padded[:, : cell.lattice[0], : cell.lattice[1]]
    for index, plane in enumerate(planes):
        inside[index] = (plane() if callable(plane) else plane).reshape(cell.lattice)
    if weight is not None:
        inside *= weight.reshape(cell.lattice)
    if per == 1:
        out[...] = padded
        return
    columns = padded[:, :, 0::per] + padded[:, :, 1::per]
    for k in range(2, per):
        columns += padded[:, :, k::per]
    np.add(columns[:, 0::per], columns[:, 1::per], out=out)
    for k in range(2, per):
        out += columns[:, k::per]


def _cell_moments(source_sample, mapped_sample, scales: tuple[float, float], cell, grid: tuple[int, int],
                  weight=None):
    """Per-cell sums of guide, change, guide^2 and guide * change, and sample counts.

    The guide is the source's L*/100 and the change the mapped image's minus
    it, both read on the lattice of :func:`_sample_cells` (a few pixels per
    cell: the moments of a box are estimated from a regular sample of it).
    `weight` (0 for ignored colors) says how much each sampled pixel counts.
    """
    guide = _lightness(source_sample, scales[0])
    change = _lightness(mapped_sample, scales[1]) - guide
    ones = np.ones(guide.shape, np.float64)
    sums = _cell_sums(cell, weight, [ones, guide, change, guide * guide, guide * change], grid)
    counts, sums = sums[0], sums[1:]
    return sums, counts, guide, change


def _box(planes: np.ndarray, radius: int) -> np.ndarray:
    """Box means over the last two axes of `planes` (one plane or a stack), ``2 radius + 1`` wide, reflected.

    A stack is filtered in one call, plane by plane (scipy skips the axes of size 1).
    """
    from scipy.ndimage import uniform_filter

    size = 2 * int(radius) + 1
    return uniform_filter(planes, (1,) * (planes.ndim - 2) + (size, size), mode="reflect")


def _coefficients(sums: np.ndarray, counts: np.ndarray, radius: int, eps: float):
    """The guided filter's mean coefficients on the coarse grid, from per-cell moment sums."""
    weight = np.maximum(_box(counts, radius), 1e-12)
    mean_guide, mean_change, guide_sq, guide_change = _box(sums, radius) / weight
    a = (guide_change - mean_guide * mean_change) / (guide_sq - mean_guide**2 + eps)
    b = mean_change - a * mean_guide
    # The second averaging, weighted by each cell's pixel count.
    cells = counts / max(counts.max(), 1e-12)
    norm = np.maximum(_box(cells, radius), 1e-12)
    mean_a, mean_b = _box(np.stack([a * cells, b * cells]), radius) / norm
    return mean_a, mean_b


def _inverse_3x3(matrices: np.ndarray) -> np.ndarray:
    """Inverses of a stack of (well-conditioned) 3 x 3 matrices, by their adjugates."""
    m = matrices
    cofactor = np.empty_like(m)
    for i in range(3):
        for j in range(3):
            r0, r1 = (i + 1) % 3, (i + 2) % 3
            c0, c1 = (j + 1) % 3, (j + 2) % 3
            cofactor[..., j, i] = m[..., r0, c0] * m[..., r1, c1] - m[..., r0, c1] * m[..., r1, c0]
    determinant = np.einsum("...k,...k->...", m[..., 0, :], cofactor[..., :, 0])
    return cofactor / determinant[..., None, None]


def _color_coefficients(source_sample, mapped_sample, scales: tuple[float, float], cell,
                        grid: tuple[int, int], radius: int, eps: float, weight=None):
    """He's color-guided filter of the sRGB change, on the coarse grid, from the sampled lattice.

    Returns ``a`` of shape (3, 3, rows, cols), ``a[k, c]`` the gain of guide
    channel k in the change of channel c, and ``b`` of shape (3, rows, cols):
    the smoothed change of channel c is ``sum_k a[k, c] * source_k + b[c]``.
    """
    guide = source_sample.astype(np.float32) * np.float32(1.0 / scales[0])
    change = mapped_sample.astype(np.float32) * np.float32(1.0 / scales[1]) - guide
    guide, change = guide.reshape(-1, 3), change.reshape(-1, 3)
    pairs = [(k, l) for k in range(3) for l in range(k, 3)]
    # The products are made a few at a time, as they are summed (about 1 MB each at 12 MP).
    planes = ([lambda: np.ones(len(guide))] + [guide[:, k] for k in range(3)] + [change[:, c] for c in range(3)]
              + [lambda k=k, l=l: guide[:, k] * guide[:, l] for k, l in pairs]
              + [lambda k=k, c=c: guide[:, k] * change[:, c] for k in range(3) for c in range(3)])
    sums = _cell_sums(cell, weight, planes, grid)
    counts = sums[0]
    total = np.maximum(_box(counts, radius), 1e-12)
    means = _box(sums[1:], radius)
    means /= total
    mean_guide, mean_change = means[0:3], means[3:6]
    covariance = np.empty((*grid, 3, 3))
    for index, (k, l) in enumerate(pairs):
        covariance[..., k, l] = covariance[..., l, k] = means[6 + index] - mean_guide[k] * mean_guide[l]
    # Edge-weighted ridge (Li et al.'s weighted guided filter): `eps` scaled by the
    # image's mean box variance over this box's, so flat and softly textured boxes
    # are smoothed harder and strong color edges keep the map's change closer.
    variance = covariance[..., 0, 0] + covariance[..., 1, 1] + covariance[..., 2, 2] + _VARIANCE_FLOOR
    total_count = float(counts.sum())
    mean_variance = float(np.sum(variance * counts)) / total_count if total_count > 0 else _VARIANCE_FLOOR
    covariance += (float(eps) * mean_variance / variance)[..., None, None] * np.eye(3)
    cross = (means[12:21].reshape(3, 3, *grid) - mean_guide[:, None] * mean_change[None, :]).transpose(2, 3, 0, 1)
    a = _inverse_3x3(covariance) @ cross  # (rows, cols, 3 guide, 3 change)
    b = mean_change.transpose(1, 2, 0) - np.einsum("...kc,k...->...c", a, mean_guide)
    cells = counts / max(counts.max(), 1e-12)
    norm = np.maximum(_box(cells, radius), 1e-12)
    weighted = np.concatenate([a.reshape(*grid, 9), b], axis=-1).transpose(2, 0, 1) * cells
    del a, b
    smoothed = _box(weighted, radius)
    del weighted
    smoothed /= norm
    return smoothed[:9].reshape(3, 3, *grid), smoothed[9:]


_CURVE_SAMPLES = 1 << 18  # sampled pixels that estimate the tone curve's quantiles
_LEVELS = 1 << 14  # entries of the table from filtered L*/100 to the wanted luminance


def _luminance_table(curve) -> np.ndarray:
    """Wanted relative luminance for each of `_LEVELS` filtered L*/100 levels, through `curve`."""
    levels = np.linspace(0.0, 1.0, _LEVELS)
    if curve is not None:
        levels = np.interp(levels, *curve)
    return luminance_from_lightness((100.0 * levels).astype(np.float32))


def _tone_curve(guide, change, a_columns, b_columns, stride: int, step: int, n_rows: int, weight: float,
                kept=None):
    """The global monotone L* curve that moves the filtered lightness's distribution toward the map's.

    Estimated on the sampled lattice: the filtered L*/100 there (guide + a *
    guide + b) against the mapped image's own (guide + change), quantile to
    quantile; `weight` 0 is no curve, 1 the map's distribution in full.
    Returns ``(xp, fp)`` for :func:`numpy.interp`, or None.
    """
    if weight <= 0:
        return None
    offset = stride // 2
    rows = slice(offset, offset + stride * guide.shape[0])
    low, high, frac = row_weights(rows, n_rows, step)
    low, high, frac = low[::stride], high[::stride], frac[::stride]
    columns = np.arange(offset, a_columns.shape[1], stride)[: guide.shape[1]]
    a_sampled, b_sampled = a_columns[:, columns], b_columns[:, columns]
    a = a_sampled[low] + frac * (a_sampled[high] - a_sampled[low])
    b = b_sampled[low] + frac * (b_sampled[high] - b_sampled[low])
    filtered = np.clip(guide * (1.0 + a) + b, 0.0, 1.0).ravel()
    mapped = np.clip(guide + change, 0.0, 1.0).ravel()
    if kept is not None:
        filtered, mapped = filtered[kept], mapped[kept]
        if not filtered.size:
            return None
    every = max(1, -(-filtered.size // _CURVE_SAMPLES))  # at most _CURVE_SAMPLES of them
    filtered, mapped = filtered[::every], mapped[::every]
    quantiles = np.linspace(0.0, 1.0, 257)
    # Quantiles of sorted copies: the same order statistics, found faster than by partitioning.
    xp, fp = np.quantile(np.sort(filtered), quantiles), np.quantile(np.sort(mapped), quantiles)
    xp = np.maximum.accumulate(xp)
    target = np.maximum.accumulate(xp + weight * (fp - xp))
    # The filter keeps the map's coarse tones (its box means), so the curve
    # only gives back the map's stretch of fine contrast. Where the map's
    # spread is no more than stretched noise (a nearly uniform image sent
    # onto a whole reference), giving it back would paint the noise as
    # blotches: the curve may widen the middle 90% of the tones at most
    # TONE_SPREAD times.
    middle = len(target) // 2
    first, last = len(target) // 20, len(target) - 1 - len(target) // 20  # the middle 90%
    spread_in, spread_out = xp[last] - xp[first], target[last] - target[first]
    if spread_out > TONE_SPREAD * spread_in:
        target = target[middle] + (target - target[middle]) * (TONE_SPREAD * spread_in / spread_out)
    return xp, target


_BAND_ROWS = 8  # coarse cells at least this tall are interpolated band by band, without gathers
_LIGHTNESS_CODES = 1 << 16  # entries of the table from relative luminance to L*/100
_LIGHTNESS_TABLE: list[np.ndarray] = []


def _lightness(color: np.ndarray, scale: float) -> np.ndarray:
    """L*/100 (float32) of sRGB or gray values, through a table of luminance codes (error < 0.01 L*)."""
    codes = relative_luminance(color, scale)
    codes *= np.float32(_LIGHTNESS_CODES - 1)
    codes += np.float32(0.5)
    return np.take(_lightness_table(), codes.astype(np.int32), mode="clip")


def _lightness_table() -> np.ndarray:
    """L*/100 (float32) of each of `_LIGHTNESS_CODES` relative luminance codes (cached)."""
    if not _LIGHTNESS_TABLE:
        luminance = np.linspace(0.0, 1.0, _LIGHTNESS_CODES, dtype=np.float32)
        _LIGHTNESS_TABLE.append(lightness_from_luminance(luminance) * np.float32(0.01))
    return _LIGHTNESS_TABLE[0]


def _channel_reader(pixels):
    """``read(rows, k)``: channel k of `pixels` on `rows` as a contiguous float32 plane in [0, 1]."""
    if pixels.color.dtype.kind == "u":
        table = np.arange(int(pixels.scale) + 1, dtype=np.float32) * np.float32(1.0 / pixels.scale)
        return lambda rows, k: np.take(table, pixels.color[rows, :, k])
    return lambda rows, k: pixels.color[rows, :, k].astype(np.float32) * np.float32(1.0 / pixels.scale)


def _row_bands(rows: slice, n_cells: int, step: int):
    """Split `rows` into bands for :func:`_lerp_rows`: ``(band, low, high, frac)``.

    Where coarse cells are tall, each band lies between two cell rows, so
    `low` and `high` are single indices and the interpolation reads one row of
    each column plane; otherwise the block is one band with per-row indices.
    """
    low, high, frac = row_weights(rows, n_cells, step)
    if step < _BAND_ROWS:
        yield rows, low, high, frac
        return
    edges = [0, *(np.flatnonzero(np.diff(low)) + 1).tolist(), len(low)]
    for first, last in zip(edges[:-1], edges[1:]):
        yield slice(rows.start + first, rows.start + last), low[first], high[first], frac[first:last]


def _lerp_rows(columns: np.ndarray, low, high, frac, out: np.ndarray | None = None) -> np.ndarray:
    """Rows of a column-upsampled plane, linearly interpolated between cell rows `low` and `high`."""
    base = columns[low]
    out = np.multiply(frac, columns[high] - base, out=out)
    out += base
    return out


def _by_region(src, mapped, labels: np.ndarray, keep, out, **options) -> np.ndarray:
    """:func:`preserve_detail` of each label on its bounding box, its own pixels only, written back in place."""
    height, width = mapped.color.shape[:2]
    if labels.shape != (height, width):
        raise ValueError(f"labels must have shape {(height, width)}, got {labels.shape}")
    color = mapped.color if mapped.dtype.kind != "f" else mapped.color.astype(np.float32, copy=False)
    result = np.empty(color.shape, color.dtype) if out is None else out
    for label in np.unique(labels):
        inside = labels == label
        rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        region = inside[box] if keep is None else inside[box] & keep[box]
        if not region.any():
            result[box][inside[box]] = color[box][inside[box]]
            continue
        filtered = preserve_detail(src.color[box], color[box], keep=region, **options)
        result[box][inside[box]] = filtered[inside[box]]
    return result


def preserve_detail(
    source: np.ndarray,
    output: np.ndarray | Callable[[np.ndarray], np.ndarray],
    *,
    radius: int | None = None,
    eps: float = 0.1,
    tone_match: float = 0.5,
    chroma: bool = True,
    chroma_eps: float = CHROMA_EPS,
    subsample: int | None = None,
    keep: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    out: np.ndarray | None = None,
    n_threads: int | None = None,
) -> np.ndarray:
    """Give `output` the source's fine lightness and chroma detail, keeping its colors.

    The lightness change ``L*(output) - L*(source)`` is smoothed by a guided
    filter whose guide is the source's L*, and the color change
    ``output - source`` (per sRGB channel) by a color-guided filter whose
    guide is the source's color. Each pixel takes the chromaticity of the
    source plus the smoothed color change, and the smoothed lightness, by
    :func:`imgot.relight.relight` (chroma reduced only where sRGB cannot hold
    it). Coarse tone and color changes, and changes along the source's edges,
    stay; the map's stretching of fine texture and of small color differences
    (grain, JPEG blocks, banding, chroma speckle, blotches in flat areas) is
    undone, so the output has the source's local structure.

    Parameters
    ----------
    source, output : ndarray of shape (H, W, 3) or (H, W)
        sRGB (or gray) images: uint8, uint16, or float in [0, 1]. Integer
        images are read through lookup tables, without a float copy.
        `output` may also be the color map itself, a function from an array
        of source colors to their mapped colors (same shape, the source's
        dtype): with the chroma filter it then runs on the filters' sample of
        pixels only, since every output pixel is made from its source color
        and the smoothed coefficients (the full-size mapped image is never
        built).
    radius : int, optional
        Box radius of both filters in pixels; default :func:`detail_radius`,
        ``max(2, min(H, W) // 48)``.
    eps : float, default 0.1
        Guide variance, in (L*/100)^2, below which the lightness change is
        smoothed: local contrast under about 30 L* units keeps the source's
        own texture.
    tone_match : float in [0, 1], default 0.5
        Smoothing the lightness change also narrows the map's tonal
        distribution; a global monotone L* curve (quantile matching on the
        sampled pixels, so it adds no local noise) moves the result's L*
        distribution this share of the way back to the map's. 0 is the bare
        filter; 1 restores the map's distribution in full (closest to the
        reference, a little less of the source's local structure).
    chroma : bool, default True
        Also smooth the color change (the chromaticity of each pixel); False
        keeps the map's chromaticity per pixel and filters L* only.
    chroma_eps : float, default :data:`CHROMA_EPS` (0.02)
        Guide covariance ridge of the color filter, in squared sRGB units,
        for a box whose color variance is the image's mean; each box's ridge
        is scaled by the mean variance over its own (Li et al.'s edge-aware
        weighting), so flat and softly textured areas are smoothed harder
        while strong color edges keep the map's change. In a box of average
        contrast, color contrast under about ``sqrt(chroma_eps)`` (0.14, 36
        levels of 255) keeps the source's own chroma texture.
    subsample : int, optional
        Cell size of the coarse grid of the fast guided filters; default
        :func:`default_subsample` (the coarse boxes keep a radius of about 4
        cells, and 2 pixels at least from a radius of 4). 1 is the exact
        guided filter.
    keep : ndarray of bool, shape (H, W), optional
        Pixels that count; the others (an ignored color, nodata) do not enter
        the filters' statistics or the tone curve, so they cannot pull the
        result near them.
    labels : ndarray of int, shape (H, W), optional
        Regions whose statistics are kept apart (region transfers): each
        label is filtered on its own bounding box with only its own pixels in
        the statistics, so a region's change does not bleed into its
        neighbour's across their border (each region has its own map).
    out : ndarray, optional
        Where to write the result (may be `output` itself); shape and dtype of
        `output`.
    n_threads : int, optional
        Threads over row blocks; default one per core.

    Returns
    -------
    ndarray of `output`'s shape
        `output`'s dtype for integer images; float32 in [0, 1] for float ones.

    References
    ----------
    K. He, J. Sun, X. Tang, "Guided image filtering", IEEE TPAMI 35 (2013)
    (the color-guided filter, section 3.5).
    K. He, J. Sun, "Fast guided filter", arXiv:1505.00996 (2015).
    Z. Li, J. Zheng, Z. Zhu, W. Yao, S. Wu, "Weighted guided image filtering",
    IEEE TIP 24 (2015) (the edge-aware weighting of the color filter's ridge).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> source = np.clip(0.5 + 0.05 * rng.standard_normal((32, 32)), 0, 1)
    >>> output = np.clip(0.5 + 2.0 * (source - 0.5), 0, 1)  # contrast stretch doubles the grain
    >>> kept = preserve_detail(source, output, tone_match=0)
    >>> bool(np.std(kept - source) < 0.3 * np.std(output - source))
    True
    """
    from .pixels import as_pixels

    src = as_pixels(source)
    height, width = src.color.shape[:2]
    if keep is not None:
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != (height, width):
            raise ValueError(f"keep must have shape {(height, width)}, got {keep.shape}")
    radius = detail_radius((height, width)) if radius is None else int(radius)
    # A color map given as a function is only run on the sampled lattice:
    # with the chroma filter every output pixel comes from the source and
    # the coarse coefficients, never from its own mapped color.
    color_map = output if callable(output) else None
    if color_map is not None and (labels is not None or not chroma or src.color.ndim != 3):
        output, color_map = color_map(src.color), None
    if color_map is not None:  # `color` (the mapped image) is never read on this route
        color_dtype = src.color.dtype if src.dtype.kind != "f" else np.dtype(np.float32)
        color_shape, mapped_scale = src.color.shape, src.scale
    else:
        mapped = as_pixels(output)
        if mapped.color.shape[:2] != (height, width):
            raise ValueError(f"source and output must have the same height and width, got {src.shape} and "
                             f"{mapped.shape}")
        if labels is not None:
            return _by_region(src, mapped, np.asarray(labels), keep, out, radius=radius, eps=eps,
                              tone_match=tone_match, chroma=chroma, chroma_eps=chroma_eps,
                              subsample=subsample, n_threads=n_threads)
        color = mapped.color if mapped.dtype.kind != "f" else mapped.color.astype(np.float32, copy=False)
        color_dtype, color_shape, mapped_scale = color.dtype, color.shape, mapped.scale
    step = default_subsample(radius) if subsample is None else int(subsample)
    coarse_radius = max(1, int(round(radius / step)))
    if out is None:
        out = np.empty(color_shape, color_dtype)

    stride = _sample_stride(step)
    sample, cell, grid = _sample_cells((height, width), step, stride)
    source_sample = src.color[sample]
    mapped_sample = color[sample] if color_map is None else color_map(np.ascontiguousarray(source_sample))
    scales = (src.scale, mapped_scale)
    weight = None if keep is None else keep[sample].ravel().astype(np.float64)
    sums, counts, guide, change = _cell_moments(source_sample, mapped_sample, scales, cell, grid, weight)
    n_rows = counts.shape[0]
    mean_a, mean_b = _coefficients(sums, counts, coarse_radius, eps)
    a_columns = upsample_columns(mean_a, width, step)
    b_columns = upsample_columns(mean_b, width, step)
    kept = None if keep is None else keep[sample].ravel()
    curve = _tone_curve(guide, change, a_columns, b_columns, stride, step, n_rows, float(tone_match), kept)
    table = _luminance_table(curve)
    filter_color = bool(chroma) and len(color_shape) == 3
    render = None
    if filter_color and src.color.dtype == np.uint8 and color_dtype == np.uint8 and out.flags.c_contiguous:
        render = fused.kernel_for(height * width)
    if filter_color:
        gains, offsets = _color_coefficients(source_sample, mapped_sample, scales, cell, grid, coarse_radius,
                                             float(chroma_eps), weight)
        # The source itself plus its smoothed change: fold the identity into the gains.
        gains = gains + np.eye(3)[:, :, None, None]
        if render is None:
            gain_columns = [[upsample_columns(gains[k, c], width, step) for c in range(3)] for k in range(3)]
            offset_columns = [upsample_columns(offsets[c], width, step) for c in range(3)]
        read_guide = _channel_reader(src)
        out_scale = None if color_dtype.kind == "f" else np.float32(mapped_scale)

    def smoothed_color(rows: slice, low, high, frac) -> np.ndarray:
        """The source plus the color-guided smoothed change, in `color`'s dtype."""
        guide = [read_guide(rows, k) for k in range(3)]
        result = np.empty((*guide[0].shape, 3), color_dtype)
        term = np.empty(guide[0].shape, np.float32)
        for c in range(3):
            plane = _lerp_rows(offset_columns[c], low, high, frac)
            for k in range(3):
                _lerp_rows(gain_columns[k][c], low, high, frac, out=term)
                term *= guide[k]
                plane += term
            np.clip(plane, 0.0, 1.0, out=plane)
            if out_scale is not None:
                plane *= out_scale
                plane += np.float32(0.5)  # non-negative: truncation rounds to nearest
            result[..., c] = plane
        return result

    if render is not None:
        # One compiled pass per block of rows (imgot.fused): the same operations, the same bytes.
        tables = (linear_table(256), _lightness_table(), np.ascontiguousarray(table, np.float32),
                  encoding_table(np.dtype(np.uint8)), np.float32(_LEVELS - 1),
                  np.float32(_LIGHTNESS_CODES - 1))
        a_rows = np.ascontiguousarray(a_columns, np.float32)
        b_rows = np.ascontiguousarray(b_columns, np.float32)

        def apply_fused(rows: slice) -> None:
            low, high, frac = row_weights(rows, n_rows, step)
            # The coefficients of the few coarse rows this block reads, row-major with each pixel's
            # side by side: a 12 MP image's whole set would be 41 MB.
            first, last = int(low.min()), int(high.max()) + 1
            gain_rows = np.empty((last - first, width, 3, 3), np.float32)
            offset_rows = np.empty((last - first, width, 3), np.float32)
            for c in range(3):
                offset_rows[:, :, c] = upsample_columns(offsets[c][first:last], width, step)
                for k in range(3):
                    gain_rows[:, :, k, c] = upsample_columns(gains[k, c][first:last], width, step)
            render(np.ascontiguousarray(src.color[rows]), out[rows], low - first, high - first,
                   np.ascontiguousarray(frac[:, 0]), a_rows[first:last], b_rows[first:last], gain_rows,
                   offset_rows, *tables)

        for_row_blocks(height, width, apply_fused, n_threads=n_threads)
        return out

    def apply(rows: slice) -> None:
        for band, low, high, frac in _row_bands(rows, n_rows, step):
            a = _lerp_rows(a_columns, low, high, frac)
            b = _lerp_rows(b_columns, low, high, frac)
            level = _lightness(src.color[band], src.scale)
            # Smoothed change q = a * guide + b, so the wanted L*/100 is guide + q.
            a += np.float32(1.0)
            a *= level
            a += b
            np.clip(a, 0.0, 1.0, out=a)
            a *= np.float32(_LEVELS - 1)
            a += np.float32(0.5)
            base = smoothed_color(band, low, high, frac) if filter_color else color[band]
            out[band] = relight(base, mapped_scale, np.take(table, a.astype(np.int32)))

    for_row_blocks(height, width, apply, n_threads=n_threads)
    return out
