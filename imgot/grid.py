"""Coarse grids: per-cell means of a plane, and linear interpolation back to every pixel.

Smooth quantities (a guided filter's coefficients, feathered mask and region
weights) need not be computed at full resolution: they are computed on a grid
`step` times coarser, whose cell centers sit at ``(i + 0.5) * step - 0.5`` in
pixel coordinates, and interpolated back row by row.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cell_means", "upsample", "upsample_columns", "row_weights"]


def cell_means(plane: np.ndarray, step: int) -> np.ndarray:
    """The mean of `plane` over each `step` x `step` cell (edge cells padded by repetition).

    Examples
    --------
    >>> cell_means(np.arange(16.0).reshape(4, 4), 2).tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    """
    height, width = plane.shape
    rows, cols = -(-height // step), -(-width // step)
    if (rows * step, cols * step) != (height, width):
        plane = np.pad(plane, ((0, rows * step - height), (0, cols * step - width)), mode="edge")
    exact = np.int64 if plane.dtype.kind in "bui" else np.float32  # masks and labels: integer sums
    sums = plane.reshape(rows * step, cols, step).sum(axis=2, dtype=exact)
    sums = sums.reshape(rows, step, cols).sum(axis=1, dtype=exact)
    return (sums * (1.0 / (step * step))).astype(np.float32)


def upsample_columns(coarse: np.ndarray, width: int, step: int) -> np.ndarray:
    """Linear interpolation along columns from cell centers to pixel centers (float32, one row per cell row).

    Examples
    --------
    >>> upsample_columns(np.array([[0.0, 1.0]]), 4, 2).tolist()
    [[0.0, 0.25, 0.75, 1.0]]
    """
    coarse = np.asarray(coarse, dtype=np.float32)
    n_cells = coarse.shape[1]
    position = np.clip((np.arange(width) + 0.5) / step - 0.5, 0, n_cells - 1)
    low = np.minimum(position.astype(np.intp), max(n_cells - 2, 0))
    high = np.minimum(low + 1, n_cells - 1)
    left = coarse[:, low]
    out = coarse[:, high] - left
    out *= (position - low).astype(np.float32)
    out += left
    return out


def row_weights(rows: slice, n_cells: int, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each pixel row in `rows`: the cell rows below and above it, and the weight of the upper one."""
    position = np.clip((np.arange(rows.start, rows.stop) + 0.5) / step - 0.5, 0, n_cells - 1)
    low = np.minimum(position.astype(np.intp), max(n_cells - 2, 0))
    high = np.minimum(low + 1, n_cells - 1)
    return low, high, (position - low).astype(np.float32)[:, None]


def upsample(coarse: np.ndarray, shape: tuple[int, int], step: int) -> np.ndarray:
    """A coarse grid linearly interpolated to a full (H, W) float32 plane.

    Examples
    --------
    >>> upsample(np.array([[0.0, 1.0]]), (1, 4), 2).tolist()
    [[0.0, 0.25, 0.75, 1.0]]
    """
    height, width = shape
    columns = upsample_columns(coarse, width, step)
    low, high, frac = row_weights(slice(0, height), coarse.shape[0], step)
    out = columns[high] - columns[low]
    out *= frac
    out += columns[low]
    return out
