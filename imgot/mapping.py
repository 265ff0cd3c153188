"""From a palette-to-palette map to every pixel: a smooth field and a 3-D LUT.

The barycentric projection tells where each source palette color goes. The
displacements of the palette colors are blended with normalized Gaussian
weights (a Nadaraya-Watson estimate), which gives a smooth color map with no
hard snapping to the nearest center. That map is evaluated once on a lattice
of input colors (a 3-D LUT, default 33^3), and the pixels go through the LUT
by trilinear interpolation: in C through Pillow for 8-bit images, in
vectorised, chunked numpy for 16-bit and float images.
"""

from __future__ import annotations

import os
import sys
from typing import Callable

import numpy as np

from .colorspace import ColorSpace, lab_to_srgb, srgb_to_lab

__all__ = [
    "ColorLUT", "smooth_displacement", "build_lut", "lut_from_field", "lut_from_samples", "working_lattice",
    "lattice_nodes",
]

_CHUNK = 1 << 18  # pixels per numpy block: bounds the temporaries to a few MB
# Rows of each small matrix product in smooth_displacement (and the lattice nodes
# lut_from_field evaluates together when asked for some nodes only).
FIELD_BLOCK = 8


def _bandwidth(centers: np.ndarray, scale: float) -> float:
    """Kernel width: `scale` times the median nearest-neighbour spacing."""
    if centers.shape[0] < 2:
        return 1.0
    d2 = ((centers[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    spacing = float(np.median(np.sqrt(d2.min(axis=1))))
    return scale * spacing if spacing > 0 else 1.0


def smooth_displacement(
    points: np.ndarray, centers: np.ndarray, displacements: np.ndarray, *, bandwidth: float = 1.0
) -> np.ndarray:
    """Blend the centers' displacements at arbitrary points.

    Parameters
    ----------
    points : ndarray of shape (N, 3)
        Where to evaluate the field.
    centers : ndarray of shape (K, 3)
        Source palette colors.
    displacements : ndarray of shape (K, 3)
        ``destination - center`` for each palette color.
    bandwidth : float
        Gaussian kernel width relative to the median nearest-neighbour
        distance between centers. Larger is smoother; smaller follows the
        palette map more closely.

    Returns
    -------
    ndarray of shape (N, 3)
        ``sum_i w_i(x) d_i`` with ``w_i`` proportional to
        ``exp(-|x - c_i|^2 / (2 sigma^2))`` and summing to one.

    Notes
    -----
    The points are taken in blocks of :data:`FIELD_BLOCK` rows (one small
    matrix product each): a row's result depends on its own block only, not on
    how many rows there are, so a LUT evaluated on whole blocks of its lattice
    is bitwise the whole LUT there (see :func:`lut_from_field`'s `nodes`). One
    product over all rows could round the tail rows differently.
    """
    sigma = _bandwidth(centers, bandwidth)
    # |x - c|^2 = |x|^2 - 2 x.c + |c|^2; the |x|^2 term cancels in the softmax.
    # Single precision: twice as fast, and the errors (~1e-5) are far below
    # what a float32 LUT stores.
    scaled = (centers / sigma**2).astype(np.float32)
    n_points = points.shape[0]
    n_blocks = -(-n_points // FIELD_BLOCK)
    padded = np.zeros((n_blocks * FIELD_BLOCK, 3), np.float32)
    padded[:n_points] = points
    logits = padded.reshape(n_blocks, FIELD_BLOCK, 3) @ scaled.T
    logits -= (0.5 * (centers * centers / sigma**2).sum(axis=1)).astype(np.float32)
    logits -= logits.max(axis=2, keepdims=True)  # softmax: no underflow far away
    weights = np.exp(logits, out=logits)
    shift = weights @ displacements.astype(np.float32)
    shift /= weights.sum(axis=2, keepdims=True)
    return shift.reshape(-1, 3)[:n_points].astype(np.float64)


def _lattice(size: int) -> np.ndarray:
    axis = np.linspace(0.0, 1.0, size)
    r, g, b = np.meshgrid(axis, axis, axis, indexing="ij")
    return np.stack([r, g, b], axis=-1).reshape(-1, 3)


_LATTICES: dict = {}


def working_lattice(space: ColorSpace, size: int) -> tuple[np.ndarray, ...]:
    """The RGB lattice of a LUT in `space`, and what every LUT built on it shares, computed once.

    Returns read-only ``(grid, working, identity, identity_unclipped)``: the
    sRGB lattice, its colors in `space`, and those back in sRGB (clipped, and
    unclipped or None), the same arrays :func:`lut_from_field` would compute.
    """
    key = (space.name, int(size))
    if key not in _LATTICES:
        grid = _lattice(size)
        working = space.from_rgb(grid)
        unclipped = None if space.to_rgb_unclipped is None else space.to_rgb_unclipped(working)
        arrays = (grid, working, space.to_rgb(working), unclipped)
        for array in arrays:
            if array is not None:
                array.flags.writeable = False
        _LATTICES[key] = arrays
    return _LATTICES[key]


# Images up to this many pixels get LUTs evaluated only on the lattice nodes they read
# (lattice_nodes): finding those nodes costs about 6 ms per megapixel, evaluating the whole
# default lattice of a palette map about 15 ms.
NODES_MAX_PIXELS = 1 << 19
_PILLOW_SCALE_BITS = 18  # Pillow's ColorLUT.c: the fixed-point position of an 8-bit value on the lattice


def _cells_of_levels(levels: int, size: int) -> tuple[np.ndarray, ...]:
    """The lower lattice cell of each integer level 0 .. levels - 1 on one axis, as the lookups find it.

    :meth:`ColorLUT.apply_float`'s float32 arithmetic, and for 8-bit levels also
    Pillow's fixed-point one where it differs (some lattice sizes): one or two tables.
    """
    values = np.clip(np.arange(levels, dtype=np.float32) * np.float32(1.0 / (levels - 1)), 0.0, 1.0)
    cells = np.minimum((values * np.float32(size - 1)).astype(np.intp), size - 2)
    if levels != 256:
        return (cells,)
    scale = int((size - 1) / 255.0 * (1 << _PILLOW_SCALE_BITS))
    pillow = np.minimum((np.arange(256) * scale) >> _PILLOW_SCALE_BITS, size - 2)
    return (cells,) if np.array_equal(pillow, cells) else (cells, pillow)


def lattice_nodes(color: np.ndarray, scale: float, size: int) -> np.ndarray | None:
    """The nodes of a `size`-point LUT lattice that looking up these RGB colors reads.

    A trilinear lookup reads the 8 corners of the lattice cell holding the
    color; a LUT whose values are right on these nodes (whatever it holds
    elsewhere) maps these colors exactly as the whole LUT does, through
    Pillow's 8-bit filter and :meth:`ColorLUT.apply_float` alike. A small
    image reads a few percent of a 33-point lattice.

    Parameters
    ----------
    color : ndarray of shape (..., 3)
        uint8, uint16 or float colors in [0, `scale`].
    scale : float
        Full intensity: 255, 65535 or 1.0.
    size : int
        Lattice points per axis.

    Returns
    -------
    ndarray of int or None
        Sorted flat indices into the lattice (``(r * size + g) * size + b``),
        or None where they are more than half of it (evaluate it all).

    Examples
    --------
    >>> lattice_nodes(np.zeros((2, 2, 3), np.uint8), 255.0, 5).tolist()  # the corners of cell (0, 0, 0)
    [0, 1, 5, 6, 25, 26, 30, 31]
    """
    flat = color.reshape(-1, 3)
    occupied = np.zeros(size**3, dtype=bool)
    if color.dtype.kind == "u":
        for cells in _cells_of_levels(int(scale) + 1, size):
            table = cells.astype(np.int32)
            for start in range(0, flat.shape[0], _CHUNK):
                block = flat[start : start + _CHUNK]
                code = np.take(table, block[:, 0]) * np.int32(size)
                code += np.take(table, block[:, 1])
                code *= np.int32(size)
                code += np.take(table, block[:, 2])
                occupied[code] = True
    else:
        for start in range(0, flat.shape[0], _CHUNK):
            block = flat[start : start + _CHUNK].astype(np.float32) * np.float32(1.0 / scale)
            pos = np.clip(block, 0.0, 1.0) * np.float32(size - 1)
            index = np.minimum(pos.astype(np.intp), size - 2)
            occupied[(index[:, 0] * size + index[:, 1]) * size + index[:, 2]] = True
    # From each occupied cell's lower corner to its 8 corners.
    cube = occupied.reshape(size, size, size)
    cube[1:] |= cube[:-1].copy()
    cube[:, 1:] |= cube[:, :-1].copy()
    cube[:, :, 1:] |= cube[:, :, :-1].copy()
    nodes = np.flatnonzero(occupied)
    return nodes if 2 * nodes.size <= occupied.size else None


def build_lut(
    centers: np.ndarray,
    destinations: np.ndarray,
    space: ColorSpace,
    *,
    size: int = 33,
    strength: float = 1.0,
    preserve_luminance: bool = False,
    bandwidth: float = 1.0,
) -> "ColorLUT":
    """Evaluate the smooth transport map on an RGB lattice.

    Each lattice color x (sRGB) goes to ``x + strength * d(x)`` in the working
    space, where ``d`` is :func:`smooth_displacement`. With
    ``preserve_luminance`` the output keeps the input's CIELAB L*.
    """
    return lut_from_field(
        lambda working: smooth_displacement(working, centers, destinations - centers, bandwidth=bandwidth),
        space, size=size, strength=strength, preserve_luminance=preserve_luminance,
    )


def _keep_lightness_of(rgb: np.ndarray, mapped: np.ndarray) -> np.ndarray:
    """`mapped` (sRGB in [0, 1]) with the CIELAB L* of `rgb`."""
    lab = srgb_to_lab(mapped)
    lab[:, 0] = srgb_to_lab(rgb)[:, 0]
    return lab_to_srgb(lab)


def _finish(grid: np.ndarray, mapped: np.ndarray, size: int, preserve_luminance: bool,
            extended: np.ndarray | None = None, exact=None, nodes: np.ndarray | None = None) -> "ColorLUT":
    mapped = np.clip(mapped, 0.0, 1.0)
    if preserve_luminance:
        if nodes is None:
            mapped = _keep_lightness_of(grid, mapped)
        else:
            mapped[nodes] = _keep_lightness_of(grid[nodes], mapped[nodes])
        extended = None
    if extended is not None and np.array_equal(extended, mapped):
        # The map stays inside the gamut: nothing to gain. (Equal on some nodes only, as on
        # lattice_nodes' LUTs, the table interpolates as the extended map would there.)
        extended = None
    shape = (size, size, size, 3)
    return ColorLUT(mapped.reshape(shape), extended=None if extended is None else extended.reshape(shape),
                    exact=exact)


def lut_from_field(
    field: Callable[[np.ndarray], np.ndarray],
    space: ColorSpace,
    *,
    size: int = 33,
    strength: float = 1.0,
    preserve_luminance: bool = False,
    exact: bool = False,
    nodes: np.ndarray | None = None,
) -> "ColorLUT":
    """Evaluate a displacement field of the working space on an RGB lattice.

    Parameters
    ----------
    field : callable
        Takes working-space colors of shape (N, 3) and returns their
        displacements, shape (N, 3): the map is ``x -> x + field(x)``.
    space : ColorSpace
    size : int
        Lattice points per axis.
    strength : float
        Each lattice color moves ``strength * field(x)``.
    preserve_luminance : bool
        Keep each lattice color's CIELAB L*.
    exact : bool, default False
        Also give the LUT the field itself, evaluated per pixel for 16-bit
        and float images (:attr:`ColorLUT.exact`): for cheap closed-form
        fields (the linear maps), whose lattice error would show at 16 bits.
    nodes : ndarray of int, optional
        Evaluate the field only on these lattice nodes (flat indices, see
        :func:`lattice_nodes`; whole blocks of :data:`FIELD_BLOCK` nodes
        around them); the others keep the identity. Such a LUT is only right
        for the colors whose cells those nodes surround; there it is bitwise
        the whole LUT if the field computes each row from its block of rows
        alone, as :func:`smooth_displacement` does.

    Returns
    -------
    ColorLUT

    Examples
    --------
    >>> from imgot.colorspace import get_color_space
    >>> lut = lut_from_field(lambda x: np.zeros_like(x), get_color_space("rgb"), size=3)
    >>> bool(np.array_equal(lut.table.reshape(-1, 3), _lattice(3).astype(np.float32)))
    True
    """
    grid, working, identity, identity_unclipped = working_lattice(space, size)
    exact_map = _exact_map(field, space, strength, preserve_luminance) if exact else None
    if nodes is None:
        mapped, extended = _mapped_lattice(field, space, strength, grid, working, identity, identity_unclipped)
        return _finish(grid, mapped, size, preserve_luminance, extended, exact_map)
    # Whole blocks of FIELD_BLOCK nodes, as the full lattice's are evaluated.
    blocks = np.unique(np.asarray(nodes) // FIELD_BLOCK)
    nodes = (blocks[:, None] * FIELD_BLOCK + np.arange(FIELD_BLOCK)).ravel()
    nodes = nodes[: np.searchsorted(nodes, grid.shape[0])]
    some, some_extended = _mapped_lattice(field, space, strength, grid[nodes], working[nodes], identity[nodes],
                                          None if identity_unclipped is None else identity_unclipped[nodes])
    mapped = grid.copy()
    mapped[nodes] = some
    extended = None
    if some_extended is not None:
        extended = grid.copy()
        extended[nodes] = some_extended
    return _finish(grid, mapped, size, preserve_luminance, extended, exact_map, nodes=nodes)


def _mapped_lattice(field, space: ColorSpace, strength: float, grid, working, identity, identity_unclipped):
    """The lattice colors `grid` (sRGB; `working` in the space) moved by the field, clipped and not."""
    shift = field(working)
    # Add the change in RGB rather than the round-tripped color, so that a
    # zero displacement is the identity to the last bit.
    mapped = grid + (space.to_rgb(working + strength * shift) - identity)
    extended = None
    if space.to_rgb_unclipped is not None:
        # The same map before the gamut clip, for 16-bit and float images,
        # which interpolate it and clip after (see ColorLUT).
        extended = grid + (space.to_rgb_unclipped(working + strength * shift) - identity_unclipped)
    return mapped, extended


def _exact_map(field, space: ColorSpace, strength: float, preserve_luminance: bool):
    """The map of :func:`lut_from_field` at any sRGB colors (N, 3) in [0, 1], clipped to the gamut."""
    to_rgb = space.to_rgb_unclipped or space.to_rgb

    def exact(rgb: np.ndarray) -> np.ndarray:
        # float32 in (skimage converts it as float32), float64 out of the field: well within
        # a 16-bit level, and the round trip rgb -> working -> rgb is the identity to ~1e-7.
        rgb = np.clip(rgb, 0.0, 1.0)
        if strength == 0:
            return rgb.astype(np.float32)
        working = space.from_rgb(rgb)
        moved = (working + strength * field(working)).astype(working.dtype, copy=False)
        mapped = np.clip(to_rgb(moved), 0.0, 1.0)
        if preserve_luminance:
            mapped = _keep_lightness_of(rgb, mapped)
        return mapped.astype(np.float32)

    return exact


def _splat(points: np.ndarray, values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Trilinear splatting: per-node sums of weights and of weighted values."""
    pos = np.clip(points, 0.0, 1.0) * (size - 1)
    index = np.minimum(pos.astype(np.intp), size - 2)
    frac = pos - index
    n_nodes = size**3
    base = (index[:, 0] * size + index[:, 1]) * size + index[:, 2]
    # All 8 corners of every point at once: one bincount per sum.
    corners = [(dr, dg, db) for dr in (0, 1) for dg in (0, 1) for db in (0, 1)]
    nodes = np.concatenate([base + (dr * size + dg) * size + db for dr, dg, db in corners])
    sides = [(1.0 - frac[:, axis], frac[:, axis]) for axis in range(3)]  # each axis's weights of its 2 nodes
    weights = np.concatenate([sides[0][dr] * sides[1][dg] * sides[2][db] for dr, dg, db in corners])
    weight_sum = np.bincount(nodes, weights, minlength=n_nodes)
    value_sum = np.stack([np.bincount(nodes, weights * np.tile(values[:, c], 8), minlength=n_nodes)
                          for c in range(values.shape[1])], axis=1)
    shape = (size, size, size)
    return weight_sum.reshape(shape), value_sum.reshape(*shape, values.shape[1])


def _gaussian_kernel_matrix(size: int, sigma: float, radius: int) -> np.ndarray:
    """The 1-D Gaussian blur of `size` samples with zeros past the ends, as a (size, size) matrix.

    Row i holds the taps of output i: ``exp(-x^2 / 2 sigma^2)`` for offsets x
    within `radius`, normalized over those ``2 radius + 1`` taps, the kernel of
    :func:`scipy.ndimage.gaussian_filter1d` with ``mode="constant"``.
    """
    taps = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (taps / sigma) ** 2)
    kernel /= kernel.sum()
    offsets = np.arange(size)[None, :] - np.arange(size)[:, None]
    inside = np.abs(offsets) <= radius
    return np.where(inside, kernel[np.clip(offsets + radius, 0, 2 * radius)], 0.0)


def _gaussian_blur(stack: np.ndarray, sigma: float, radius: int) -> np.ndarray:
    """Separable Gaussian blur of a (n, n, n, C) lattice stack over its three lattice axes.

    As matrix products (BLAS) rather than three passes of a 1-D filter per
    channel: on a 33-point lattice the whole blur is a few small matmuls.
    """
    n = stack.shape[0]
    blur = _gaussian_kernel_matrix(n, sigma, radius)
    out = (blur @ stack.reshape(n, -1)).reshape(stack.shape)  # axis 0
    out = blur @ out.reshape(n, n, -1)  # axis 1, batched over axis 0
    out = out.reshape(n * n, n, -1)
    return (blur @ out).reshape(stack.shape)  # axis 2, batched over axes 0-1


def lut_from_samples(
    points: np.ndarray,
    targets: np.ndarray,
    *,
    size: int = 33,
    sigma: float = 1.0,
    preserve_luminance: bool = False,
) -> "ColorLUT":
    """A smooth LUT through scattered examples ``points[i] -> targets[i]`` (sRGB).

    The examples' displacements are splatted onto the lattice with trilinear
    weights and blurred by a Gaussian of `sigma` lattice steps (a normalized
    convolution, i.e. a Nadaraya-Watson estimate computed on the grid, in
    O(samples + lattice)). Lattice colors far from every example take the
    estimate of coarser blurs (2, 4, 8... times `sigma`), so the map stays
    smooth and defined everywhere.

    Parameters
    ----------
    points, targets : ndarray of shape (N, 3)
        Example inputs and outputs, sRGB in [0, 1].
    size : int
        Lattice points per axis.
    sigma : float
        Gaussian width in lattice steps.
    preserve_luminance : bool
        Keep each lattice color's CIELAB L*.

    Returns
    -------
    ColorLUT

    Examples
    --------
    >>> points = np.random.default_rng(0).random((500, 3))
    >>> lut = lut_from_samples(points, np.clip(points + 0.1, 0, 1), size=9)
    >>> bool(abs(lut.table[4, 4, 4, 0] - 0.6) < 0.01)
    True
    """
    weight, value = _splat(points, targets - points, size)
    # Weights and weighted displacements blurred together, as one (size, size, size, 4) stack.
    splatted = np.concatenate([weight[..., None], value], axis=-1)
    blurred = np.zeros_like(splatted)
    width, level = float(sigma), 0
    while True:
        # Each coarser level counts 1e-3 times less: it only fills the gaps.
        # Kernel taps past the lattice only meet zeros: the radius is capped at
        # the lattice size, which keeps the wide levels cheap.
        factor = 1e-3**level
        blurred += factor * _gaussian_blur(splatted, width, radius=min(int(4.0 * width + 0.5), size))
        denominator = blurred[..., 0]
        if width >= size or (level > 0 and denominator.min() > 1e-12 * denominator.max()):
            break
        width, level = 2 * width, level + 1
    numerator = blurred[..., 1:]
    shift = numerator / np.maximum(denominator, np.finfo(np.float64).tiny)[..., None]
    grid = _lattice(size)
    return _finish(grid, grid + shift.reshape(-1, 3), size, preserve_luminance)


_ALL_COLORS = 1 << 24
_PILLOW_MAX_SIZE = 65  # Pillow's Color3DLUT takes 2..65 points per axis (a HaldCLUT of level 12 has 144)
_BAKE_BLOCK = 1 << 20


def _rgbx_codes(image) -> np.ndarray:
    """A Pillow RGB image's pixels as uint32 codes ``r | g << 8 | b << 16`` (little-endian)."""
    codes = np.frombuffer(image.tobytes("raw", "RGBX"), dtype=np.uint32)
    return codes & np.uint32(0xFFFFFF)  # Pillow fills the X byte with 255


def _from_rgbx_codes(codes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The inverse of :func:`_rgbx_codes`: an 8-bit (H, W, 3) array."""
    from PIL import Image

    return np.asarray(Image.frombuffer("RGBX", size, codes, "raw", "RGBX", 0, 1).convert("RGB"))


def _filter_strip(rgb: np.ndarray, lut) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).filter(lut))


class ColorLUT:
    """A 3-D color lookup table on sRGB in [0, 1].

    Parameters
    ----------
    table : ndarray of shape (S, S, S, 3)
        ``table[r, g, b]`` is the output color of the input lattice color
        ``(r, g, b) / (S - 1)``; values in [0, 1].
    extended : ndarray of shape (S, S, S, 3), optional
        The same map before its clip to the sRGB gamut (values may leave
        [0, 1]), where it differs from `table`. A map that clips has a kink at
        the gamut boundary, which a lattice of 33 points smears over a whole
        cell (up to 2% of full scale on 16-bit images); interpolating the
        smooth unclipped map and clipping afterwards is exact to the lattice's
        second-order error. Used by :meth:`apply_float` (16-bit and float
        images); 8-bit images, exports and :attr:`table` keep the clipped map.
    exact : callable, optional
        The map itself, from sRGB colors (N, 3) in [0, 1] to mapped ones, for
        a cheap closed-form map: :meth:`apply_float` evaluates it per pixel
        instead of interpolating, so 16-bit and float images get the exact
        map. Not saved with the LUT (a pickled or exported LUT is its table).
    """

    def __init__(self, table: np.ndarray, *, extended: np.ndarray | None = None, exact=None):
        table = np.asarray(table, dtype=np.float32)
        size = table.shape[0]
        if table.shape != (size, size, size, 3) or size < 2:
            raise ValueError(f"table must have shape (S, S, S, 3) with S >= 2, got {table.shape}")
        if extended is not None:
            extended = np.asarray(extended, dtype=np.float32)
            if extended.shape != table.shape:
                raise ValueError(f"extended must have the table's shape {table.shape}, got {extended.shape}")
        self.table = table
        self.extended = extended
        self.exact = exact
        self.size = size
        self._baked: np.ndarray | None = None

    def __getstate__(self) -> dict:
        # The baked table (64 MB) is rebuilt where needed, never shipped.
        return {"table": self.table, "extended": self.extended, "size": self.size}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update({"extended": None, **state}, exact=None, _baked=None)

    @property
    def is_baked(self) -> bool:
        """Whether :meth:`bake` has tabulated every 8-bit color."""
        return self._baked is not None

    def bake(self, *, n_threads: int | None = None) -> "ColorLUT":
        """Tabulate the output of every 8-bit color, for faster :meth:`apply_uint8`.

        All 2**24 colors go once through the same Pillow filter as
        :meth:`apply_uint8`, so the results are bit-identical to it, and each
        later 8-bit image is mapped by one table lookup per pixel (about twice
        as fast). Worth it when one LUT recolors many images: baking costs
        about as much as mapping 10 two-megapixel images, and keeps a 64 MB
        table. A no-op on big-endian machines.

        Returns
        -------
        ColorLUT
            This LUT.

        Examples
        --------
        >>> lut = ColorLUT(np.random.default_rng(0).random((5, 5, 5, 3)))
        >>> image = np.random.default_rng(1).integers(0, 256, (4, 6, 3), dtype=np.uint8)
        >>> plain = lut.apply_uint8(image)
        >>> bool(np.array_equal(lut.bake().apply_uint8(image), plain))
        True
        """
        if self._baked is not None or sys.byteorder != "little" or self.size > _PILLOW_MAX_SIZE:
            return self
        from concurrent.futures import ThreadPoolExecutor

        from PIL import Image

        lut = self._pillow_lut()
        baked = np.empty(_ALL_COLORS, dtype=np.uint32)
        size = (1 << 12, _BAKE_BLOCK >> 12)
        codes = np.arange(_BAKE_BLOCK, dtype=np.uint32)

        def run(start: int) -> None:
            # The colors whose RGBX codes are start .. start + block - 1, as an image.
            colors = Image.frombuffer("RGBX", size, codes + np.uint32(start), "raw", "RGBX", 0, 1)
            baked[start : start + _BAKE_BLOCK] = _rgbx_codes(colors.convert("RGB").filter(lut))

        with ThreadPoolExecutor(n_threads or min(os.cpu_count() or 1, 8)) as pool:
            list(pool.map(run, range(0, _ALL_COLORS, _BAKE_BLOCK)))
        self._baked = baked
        return self

    def apply_uint8(self, rgb: np.ndarray, *, n_threads: int | None = None) -> np.ndarray:
        """Map an 8-bit (H, W, 3) image with Pillow's C trilinear filter.

        Pillow releases the GIL while filtering, so horizontal strips run on
        `n_threads` threads (default: one per core, at most 8). After
        :meth:`bake`, a table lookup with the same result, on one thread.
        """
        if self._baked is None:
            return self._apply_pillow(rgb, n_threads)
        from PIL import Image

        out = np.empty(rgb.shape, dtype=np.uint8)
        step = max(1, _CHUNK // max(1, rgb.shape[1]))
        for top in range(0, rgb.shape[0], step):
            strip = Image.fromarray(np.ascontiguousarray(rgb[top : top + step]))
            mapped = np.take(self._baked, _rgbx_codes(strip))
            out[top : top + step] = _from_rgbx_codes(mapped, strip.size)
        return out

    def _pillow_lut(self):
        from PIL import ImageFilter

        # Pillow wants the red index varying fastest: table[b, g, r].
        flat = self.table.transpose(2, 1, 0, 3).reshape(-1)
        return ImageFilter.Color3DLUT(self.size, flat, channels=3)

    def _apply_pillow(self, rgb: np.ndarray, n_threads: int | None) -> np.ndarray:
        from concurrent.futures import ThreadPoolExecutor

        if self.size > _PILLOW_MAX_SIZE:  # Pillow's filter stops there: numpy trilinear on the clipped table
            plain = self if self.extended is None else ColorLUT(self.table)
            return np.rint(plain.apply_float(rgb, 255.0) * np.float32(255.0)).astype(np.uint8)

        lut = self._pillow_lut()
        out = np.empty(rgb.shape, dtype=np.uint8)
        n_threads = n_threads or min(os.cpu_count() or 1, 8)
        # A few strips per thread even out the load between cores.
        n_strips = min(4 * n_threads, rgb.shape[0]) if rgb.size > _CHUNK else 1
        bounds = np.linspace(0, rgb.shape[0], n_strips + 1).astype(int)
        strips = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]

        def run(strip: slice) -> None:
            out[strip] = _filter_strip(rgb[strip], lut)

        if len(strips) == 1:
            run(strips[0])
        else:
            with ThreadPoolExecutor(n_threads) as pool:
                list(pool.map(run, strips))
        return out

    def apply_float(self, rgb: np.ndarray, scale: float) -> np.ndarray:
        """Map any (..., 3) array of values in [0, scale]; returns float32 in [0, 1]."""
        flat_in = rgb.reshape(-1, 3)
        out = np.empty(flat_in.shape, dtype=np.float32)
        for start in range(0, flat_in.shape[0], _CHUNK):
            block = flat_in[start : start + _CHUNK].astype(np.float32) * np.float32(1.0 / scale)
            out[start : start + _CHUNK] = self._trilinear(block) if self.exact is None else self.exact(block)
        return out.reshape(rgb.shape)

    def apply_gray(self, levels: np.ndarray) -> np.ndarray:
        """Map gray levels in [0, 1] along the neutral axis; returns gray in [0, 1].

        A gray input is the color (v, v, v); its output color is reduced to the
        gray of the same CIELAB L*.
        """
        levels = np.asarray(levels, dtype=np.float32)
        rgb = self._trilinear(np.repeat(levels[:, None], 3, axis=1))
        lightness = srgb_to_lab(rgb)[:, 0]
        neutral = np.zeros((levels.size, 3))
        neutral[:, 0] = lightness
        return lab_to_srgb(neutral)[:, 0].astype(np.float32)

    def _trilinear(self, rgb: np.ndarray) -> np.ndarray:
        size = self.size
        pos = np.clip(rgb, 0.0, 1.0) * np.float32(size - 1)
        index = np.minimum(pos.astype(np.intp), size - 2)
        frac = pos - index
        base = (index[:, 0] * size + index[:, 1]) * size + index[:, 2]
        flat = (self.table if self.extended is None else self.extended).reshape(-1, 3)
        out = np.zeros(rgb.shape, dtype=np.float32)
        for dr in (0, 1):
            wr = frac[:, 0] if dr else 1.0 - frac[:, 0]
            for dg in (0, 1):
                wrg = wr * (frac[:, 1] if dg else 1.0 - frac[:, 1])
                for db in (0, 1):
                    w = wrg * (frac[:, 2] if db else 1.0 - frac[:, 2])
                    out += w[:, None] * flat[base + (dr * size + dg) * size + db]
        # The extended map leaves the gamut; the table's weights may sum to 1 + an ulp.
        return np.clip(out, 0.0, 1.0, out=out)
