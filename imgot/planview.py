"""Pictures and tables of transport results: the plan as a flow picture, CSV, heat maps.

:func:`draw_plan` shows where each color goes: the two palettes stand as
columns of swatches, each as tall as its mass and sorted by lightness, and a
band joins source color i to reference color j, as thick as the mass
``plan[i, j]`` moved between them and shaded from the one color to the other.
It is drawn with Pillow alone (supersampled, alpha-blended bands).
:func:`draw_heatmap` (matplotlib, optional) draws a distance matrix.
"""

from __future__ import annotations

import csv
import io as _io
import os
from typing import Sequence

import numpy as np

from .atomic import atomic_write
from .colorspace import get_color_space, srgb_to_lab

__all__ = ["draw_plan", "plan_csv", "matrix_csv", "draw_heatmap", "hex_colors"]

_BACKGROUND = (246, 246, 244)
_TEXT = (40, 40, 40)
_BAND_ALPHA = 0.72
_SUPERSAMPLE = 3


def _unpack(plan_like):
    """(source colors, source weights, reference colors, reference weights, plan)."""
    if hasattr(plan_like, "plan") and hasattr(plan_like, "source_palette"):
        source, reference, plan = plan_like.source_palette, plan_like.reference_palette, plan_like.plan
    else:
        try:
            source, reference, plan = plan_like
        except (TypeError, ValueError):
            raise TypeError(
                "expected a ColorMap or a (source_palette, reference_palette, plan) tuple"
            ) from None
    plan = np.asarray(plan, dtype=np.float64)
    xs, ys = np.asarray(source.colors, np.float64), np.asarray(reference.colors, np.float64)
    if plan.shape != (xs.shape[0], ys.shape[0]) or xs.shape[1:] != (3,) or ys.shape[1:] != (3,):
        raise ValueError(f"plan of shape {plan.shape} does not fit palettes of {xs.shape[0]} "
                         f"and {ys.shape[0]} three-channel colors")
    if not np.all(np.isfinite(plan)) or plan.min() < 0 or plan.sum() <= 0:
        raise ValueError("plan must hold finite non-negative masses with a positive sum")
    return xs, np.asarray(source.weights, np.float64), ys, np.asarray(reference.weights, np.float64), plan


def hex_colors(colors: np.ndarray, color_space: str = "lab") -> list[str]:
    """``#rrggbb`` labels of colors given in a working space.

    Examples
    --------
    >>> hex_colors(np.array([[100.0, 0, 0], [0, 0, 0]]))
    ['#ffffff', '#000000']
    """
    rgb = _to_rgb8(np.asarray(colors, np.float64), color_space)
    return ["#{:02x}{:02x}{:02x}".format(*row) for row in rgb.tolist()]


def _to_rgb8(colors: np.ndarray, color_space: str) -> np.ndarray:
    rgb = np.clip(get_color_space(color_space).to_rgb(colors), 0.0, 1.0)
    return np.rint(rgb * 255).astype(np.uint8)


def _smoothstep(s: np.ndarray) -> np.ndarray:
    return s * s * (3.0 - 2.0 * s)


def draw_plan(plan_like, width: int = 900, height: int = 600, *, color_space: str = "lab"):
    """Draw a transport plan between two palettes as swatches joined by bands.

    Parameters
    ----------
    plan_like : ColorMap or tuple (source_palette, reference_palette, plan)
        Palettes with ``colors`` (K, 3) in `color_space` and ``weights`` (K,),
        and the plan (K_source, K_reference).
    width, height : int, default 900, 600
        Size of the picture in pixels (at least 120 x 80).
    color_space : {'lab', 'rgb'}, default 'lab'
        The space the palette colors are in.

    Returns
    -------
    PIL.Image.Image
        RGB. Source swatches on the left, reference on the right, each column
        sorted by lightness (lightest on top) with heights proportional to
        mass; band (i, j) is ``plan[i, j]`` thick at both ends.

    Examples
    --------
    >>> from imgot.palette import Palette
    >>> red = Palette(np.array([[50.0, 70, 50]]), np.array([1.0]))
    >>> blues = Palette(np.array([[30.0, 20, -60], [80.0, -10, -20]]), np.array([0.5, 0.5]))
    >>> draw_plan((red, blues, np.array([[0.5, 0.5]])), 300, 200).size
    (300, 200)
    """
    from PIL import Image, ImageDraw

    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (width, height)) \
            or width < 120 or height < 80:
        raise ValueError(
            f"width and height must be integers of at least 120 and 80, got {width!r}, {height!r}"
        )
    xs, xw, ys, yw, plan = _unpack(plan_like)
    plan = plan / plan.sum()
    src_rgb, ref_rgb = _to_rgb8(xs, color_space), _to_rgb8(ys, color_space)
    # Lightest on top: order by L* of the displayed colors.
    src_order = np.argsort(-srgb_to_lab(src_rgb / 255.0)[:, 0], kind="stable")
    ref_order = np.argsort(-srgb_to_lab(ref_rgb / 255.0)[:, 0], kind="stable")

    k = _SUPERSAMPLE
    big_w, big_h = width * k, height * k
    margin = round(0.04 * min(big_w, big_h))
    top = margin + round(0.06 * big_h)
    column = max(6 * k, round(0.12 * big_w))
    left_x, right_x = margin, big_w - margin - column
    n_max = max(xs.shape[0], ys.shape[0])
    gap = min(2.0 * k, 0.25 * (big_h - top - margin) / n_max)
    scale = (big_h - top - margin - gap * (n_max - 1))  # pixels per unit of mass
    # Masses of each side, from the plan (they equal the palette weights for a balanced plan).
    src_mass, ref_mass = plan.sum(axis=1), plan.sum(axis=0)

    def stack(order, mass):
        starts = np.empty(mass.size)
        height_used = mass[order].sum() * scale + gap * (order.size - 1)
        y = top + 0.5 * (big_h - top - margin - height_used)
        for index in order:
            starts[index] = y
            y += mass[index] * scale + gap
        return starts

    src_top, ref_top = stack(src_order, src_mass), stack(ref_order, ref_mass)
    image = Image.new("RGB", (big_w, big_h), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    for starts, mass, rgb, x in ((src_top, src_mass, src_rgb, left_x), (ref_top, ref_mass, ref_rgb, right_x)):
        for index in range(mass.size):
            if mass[index] * scale >= 0.5:
                draw.rectangle([x, starts[index], x + column - 1, starts[index] + mass[index] * scale],
                               fill=tuple(int(v) for v in rgb[index]))

    # Where each band leaves its source swatch and reaches its reference swatch:
    # within a swatch, bands are stacked in the order of the swatches at their other end.
    rank_src, rank_ref = np.argsort(src_order), np.argsort(ref_order)
    out_offset, in_offset = np.zeros(src_mass.size), np.zeros(ref_mass.size)
    x0, x1 = left_x + column, right_x
    steps = np.linspace(0.0, 1.0, 48)
    curve_x = x0 + (x1 - x0) * steps
    bands = []
    for i in src_order:
        for j in sorted(np.flatnonzero(plan[i] > 0), key=lambda j: rank_ref[j]):
            bands.append((i, j, src_top[i] + out_offset[i]))
            out_offset[i] += plan[i, j] * scale
    entry = {}
    for j in ref_order:
        for i in sorted(np.flatnonzero(plan[:, j] > 0), key=lambda i: rank_src[i]):
            entry[i, j] = ref_top[j] + in_offset[j]
            in_offset[j] += plan[i, j] * scale
    # Thin bands first, so that the large flows stay readable on top.
    for i, j, y_start in sorted(bands, key=lambda band: plan[band[0], band[1]]):
        thickness = plan[i, j] * scale
        if thickness < 0.3 * k:
            continue
        upper = y_start + (entry[i, j] - y_start) * _smoothstep(steps)
        _blend_band(image, curve_x, upper, thickness, src_rgb[i], ref_rgb[j])

    image = image.resize((width, height), Image.Resampling.LANCZOS)
    _label(image, margin // k, (top // k) // 2, column // k,
           (f"source ({xs.shape[0]} colors)", f"reference ({ys.shape[0]} colors)"))
    return image


def _blend_band(image, curve_x: np.ndarray, upper: np.ndarray, thickness: float, start, end) -> None:
    """Alpha-blend one band, shaded from `start` to `end` color along x, onto `image`."""
    from PIL import Image, ImageDraw

    left, right = int(np.floor(curve_x[0])), int(np.ceil(curve_x[-1]))
    low, high = int(np.floor(upper.min())), int(np.ceil(upper.max() + thickness)) + 1
    mask = Image.new("L", (right - left + 1, high - low + 1), 0)
    outline = [(x - left, y - low) for x, y in zip(curve_x, upper)]
    outline += [(x - left, y + thickness - low) for x, y in zip(curve_x[::-1], upper[::-1])]
    ImageDraw.Draw(mask).polygon(outline, fill=round(255 * _BAND_ALPHA))
    s = np.linspace(0.0, 1.0, mask.width)[:, None]
    row = np.rint((1 - s) * np.asarray(start, float) + s * np.asarray(end, float)).astype(np.uint8)
    shade = Image.fromarray(np.ascontiguousarray(np.broadcast_to(row, (mask.height, mask.width, 3))))
    image.paste(shade, (left, low), mask)


def _label(image, margin: int, y_center: int, column: int, texts: tuple[str, str]) -> None:
    from PIL import ImageDraw, ImageFont

    size = max(10, min(18, image.height // 28))
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType sizes
        font = ImageFont.load_default()
    draw = ImageDraw.Draw(image)
    draw.text((margin, y_center), texts[0], fill=_TEXT, font=font, anchor="lm")
    draw.text((image.width - margin, y_center), texts[1], fill=_TEXT, font=font, anchor="rm")


def _write_text(path: str | os.PathLike, text: str, overwrite: bool) -> None:
    """Write text atomically (temporary file in the same folder, then rename)."""
    with atomic_write(path, overwrite=overwrite, what="text") as temp:
        with open(temp, "w", newline="", encoding="utf-8") as file:
            file.write(text)


def matrix_csv(
    matrix: np.ndarray,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    path: str | os.PathLike | None = None,
    *,
    corner: str = "",
    overwrite: bool = False,
) -> str:
    """A labelled matrix as CSV text, optionally written (atomically) to `path`.

    Examples
    --------
    >>> print(matrix_csv(np.array([[0, 1.5], [1.5, 0]]), ["a", "b"], ["a", "b"]), end="")
    ,a,b
    a,0,1.5
    b,1.5,0
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (len(row_labels), len(column_labels)):
        raise ValueError(f"matrix of shape {matrix.shape} does not match "
                         f"{len(row_labels)} row and {len(column_labels)} column labels")
    buffer = _io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([corner, *column_labels])
    for label, row in zip(row_labels, matrix):
        writer.writerow([label, *(f"{value:.10g}" for value in row)])
    text = buffer.getvalue()
    if path is not None:
        _write_text(path, text, overwrite)
    return text


def plan_csv(plan_like, path: str | os.PathLike | None = None, *, color_space: str = "lab",
             overwrite: bool = False) -> str:
    """The transport plan as CSV: rows are source colors, columns reference colors, as hex.

    Parameters
    ----------
    plan_like : ColorMap or tuple (source_palette, reference_palette, plan)
    path : str or path-like, optional
        Also write the text there (atomically; an existing file only with `overwrite`).
    color_space : {'lab', 'rgb'}, default 'lab'
        The space the palette colors are in.
    overwrite : bool, default False

    Returns
    -------
    str
        The CSV text; cell (i, j) is the mass moved from source color i to
        reference color j, in the palettes' order.

    Examples
    --------
    >>> from imgot.palette import Palette
    >>> black = Palette(np.array([[0.0, 0, 0]]), np.array([1.0]))
    >>> gray = Palette(np.array([[0.5, 0.5, 0.5], [1.0, 1, 1]]), np.array([0.25, 0.75]))
    >>> print(plan_csv((black, gray, [[0.25, 0.75]]), color_space="rgb"), end="")
    source\\reference,#808080,#ffffff
    #000000,0.25,0.75
    """
    xs, _, ys, _, plan = _unpack(plan_like)
    return matrix_csv(plan, hex_colors(xs, color_space), hex_colors(ys, color_space), path,
                      corner="source\\reference", overwrite=overwrite)


def draw_heatmap(matrix: np.ndarray, labels: Sequence[str], *, title: str | None = None) -> np.ndarray:
    """Draw a square distance matrix as a labelled heat map (needs matplotlib).

    Parameters
    ----------
    matrix : ndarray of shape (n, n)
    labels : sequence of n str
    title : str, optional

    Returns
    -------
    ndarray of shape (H, W, 3), uint8
        The picture, ready for :func:`imgot.write_image`.

    Raises
    ------
    ImportError
        Without matplotlib, with a one-line hint to install ``imgot[plot]``.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] != len(labels):
        raise ValueError(
            f"expected an (n, n) matrix with n labels, got {matrix.shape} and {len(labels)} labels"
        )
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("drawing a heat map needs matplotlib: pip install 'imgot[plot]'") from None
    n = matrix.shape[0]
    side = min(14.0, 3.0 + 0.45 * n)
    figure = Figure(figsize=(side + 1.2, side), dpi=100)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    shown = axes.imshow(matrix, cmap="viridis")
    figure.colorbar(shown, ax=axes, fraction=0.046, pad=0.04)
    axes.set_xticks(range(n), labels, rotation=60, ha="right", fontsize=8)
    axes.set_yticks(range(n), labels, fontsize=8)
    if n <= 12:
        middle = (np.nanmax(matrix) + np.nanmin(matrix)) / 2
        for i in range(n):
            for j in range(n):
                axes.text(j, i, f"{matrix[i, j]:.3g}", ha="center", va="center", fontsize=7,
                          color="black" if matrix[i, j] > middle else "white")
    if title:
        axes.set_title(title)
    figure.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
