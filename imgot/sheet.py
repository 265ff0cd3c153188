"""Compare methods side by side: metric rows and a labelled contact sheet.

:func:`evaluate` scores outputs against their source and reference with
:mod:`imgot.metrics`; :func:`compare` runs several methods and draws one
sheet (source, reference and their palettes, then each output with its name
and three numbers), the picture people look at first. For
:class:`imgot.Normalizer`, :func:`spread_report` measures how much closer
normalization brought a dataset and :func:`normalize_sheet` draws it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .methods import METHOD_NAMES, get_method
from .pixels import as_pixels

if TYPE_CHECKING:
    from .normalize import Normalizer

__all__ = ["Scores", "evaluate", "compare", "contact_sheet", "spread_report", "normalize_sheet"]


@dataclass(frozen=True)
class Scores:
    """The metrics of one output.

    Attributes
    ----------
    color_distance : float
        :func:`imgot.metrics.color_distance` to the reference (Lab units).
    ratio : float
        ``color_distance`` over the source's own distance to the reference
        (below 1: the transfer moved toward the reference).
    structure_similarity : float or None
        :func:`imgot.metrics.structure_similarity` of source and output
        (None: undefined for so small an image).
    grain : float or None
        :func:`imgot.metrics.grain` of source and output (None for 1 x 1).
    """

    color_distance: float
    ratio: float
    structure_similarity: float | None
    grain: float | None


def format_score(value: float | None, spec: str) -> str:
    """A score as the commands print it: formatted by `spec`, or ``'n/a'`` when it is undefined (None).

    >>> format_score(0.98765, ".3f"), format_score(None, "+.3f")
    ('0.988', 'n/a')
    """
    return "n/a" if value is None else format(value, spec)


def evaluate(source, reference, outputs, *, source_mask=None, reference_mask=None) -> list[Scores]:
    """Score each output of a transfer from `source` toward `reference`.

    Parameters
    ----------
    source, reference : ndarray or PIL.Image.Image
    outputs : iterable of ndarray or PIL.Image.Image
        Images of the source's height and width.
    source_mask, reference_mask : optional
        Selections (:func:`imgot.regions.as_weight`): the color distances
        compare the source's and each output's pixels inside `source_mask`
        with the reference's inside `reference_mask`.

    Returns
    -------
    list of Scores

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> source, reference = rng.random((16, 16, 3)), rng.random((16, 16, 3)) * 0.5
    >>> scores = evaluate(source, reference, [source])
    >>> scores[0].ratio, scores[0].structure_similarity, scores[0].grain
    (1.0, 1.0, 0.0)
    """
    from .metrics import color_distance, grain, structure_similarity

    from .regions import select

    def selected(image, mask):
        return image if mask is None else select(as_pixels(image), mask)

    reference = selected(reference, reference_mask)
    baseline = color_distance(selected(source, source_mask), reference)
    scores = []
    for output in outputs:
        distance = color_distance(selected(output, source_mask), reference)
        ratio = distance / baseline if baseline > 0 else (0.0 if distance == 0 else float("inf"))
        scores.append(Scores(distance, ratio, structure_similarity(source, output), grain(source, output)))
    return scores


def _thumbnail(image, width: int):
    from PIL import Image

    pixels = as_pixels(image)
    color = pixels.color
    if color.dtype != np.uint8:
        color = np.round(color.astype(np.float64) / pixels.scale * 255).astype(np.uint8)
    thumb = Image.fromarray(np.ascontiguousarray(color)).convert("RGB")
    # `width` wide, and at most twice as tall: a 5000 x 1 column is not drawn 1.6 million pixels high.
    scale = min(width / thumb.width, 2 * width / thumb.height)
    size = (max(1, round(thumb.width * scale)), max(1, round(thumb.height * scale)))
    return thumb.resize(size, Image.Resampling.LANCZOS)


def _swatches(image, width: int, height: int, n_clusters: int, random_state: int):
    """A bar of the image's k-means palette, each color as wide as its share, dark to light."""
    from PIL import Image

    from .colorspace import lab_to_srgb
    from .transfer import ColorTransfer

    palette = ColorTransfer(n_clusters=n_clusters, random_state=random_state).fit(image).reference_palette_
    order = np.argsort(palette.colors[:, 0])
    rgb = np.round(lab_to_srgb(palette.colors[order]) * 255).astype(np.uint8)
    edges = np.round(np.concatenate([[0], np.cumsum(palette.weights[order])]) * width).astype(int)
    bar = np.zeros((height, width, 3), np.uint8)
    for color, left, right in zip(rgb, edges[:-1], edges[1:]):
        bar[:, left:right] = color
    return Image.fromarray(bar)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        return ImageFont.load_default()


def contact_sheet(
    source, reference, entries: Sequence[tuple[str, object, Scores | None]], *,
    width: int = 320, columns: int = 4, random_state: int = 0, titles: tuple[str, str] = ("source", "reference"),
):
    """Draw a contact sheet: source and reference with palettes, then labelled outputs.

    Parameters
    ----------
    source, reference : ndarray or PIL.Image.Image
    entries : list of (name, image, Scores or None)
        The outputs, in order; each gets its name and scores below it.
    width : int, default 320
        Width of each tile in pixels.
    columns : int, default 4
        Tiles per row.
    random_state : int, default 0
        Seed of the palettes shown as swatches.
    titles : (str, str), default ("source", "reference")
        The labels of the two top tiles.

    Returns
    -------
    PIL.Image.Image
        An RGB image.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> image = rng.random((24, 32, 3))
    >>> contact_sheet(image, image, [("same", image, None)], width=64).mode
    'RGB'
    """
    from PIL import Image, ImageDraw

    pad, text, swatch = 12, max(14, width // 20), max(12, width // 14)
    font, bold = _font(text), _font(text + 2)
    source_thumb, reference_thumb = _thumbnail(source, width), _thumbnail(reference, width)
    tile_height = max(source_thumb.height, *(_thumbnail(image, width).height for _, image, _ in entries), 1)
    top_height = max(source_thumb.height, reference_thumb.height) + swatch + 3 * text + 2 * pad
    label_height = 3 * (text + 4) + pad
    rows = -(-len(entries) // columns)
    sheet_width = pad + max(columns, 2) * (width + pad)
    sheet_height = pad + top_height + rows * (tile_height + label_height + pad)
    sheet = Image.new("RGB", (sheet_width, sheet_height), (250, 250, 250))
    draw = ImageDraw.Draw(sheet)

    for column, (title, image, thumb) in enumerate(
        ((titles[0], source, source_thumb), (titles[1], reference, reference_thumb))
    ):
        x = pad + column * (width + pad)
        draw.text((x, pad), title, fill=(20, 20, 20), font=bold)
        y = pad + text + 6
        sheet.paste(thumb, (x, y))
        y += thumb.height + 4
        sheet.paste(_swatches(image, width, swatch, 12, random_state), (x, y))
        draw.text((x, y + swatch + 2), "palette (12 colors, by share)", fill=(90, 90, 90), font=font)

    y0 = pad + top_height
    for index, (name, image, scores) in enumerate(entries):
        row, column = divmod(index, columns)
        x = pad + column * (width + pad)
        y = y0 + row * (tile_height + label_height + pad)
        sheet.paste(_thumbnail(image, width), (x, y))
        y += tile_height + 4
        draw.text((x, y), name, fill=(20, 20, 20), font=bold)
        if scores is not None:
            lines = (
                f"color dist {scores.color_distance:.1f} ({scores.ratio:.2f} of source)",
                f"SSIM {format_score(scores.structure_similarity, '.3f')}   "
                f"grain {format_score(scores.grain, '+.2f')}",
            )
            for number, line in enumerate(lines, start=1):
                draw.text((x, y + number * (text + 4)), line, fill=(60, 60, 60), font=font)
    return sheet


def compare(
    source, reference, *, methods: tuple[str, ...] | None = None, width: int = 320,
    random_state: int = 0, **options,
):
    """Run several methods and draw their contact sheet.

    Parameters
    ----------
    source, reference : ndarray or PIL.Image.Image
    methods : tuple of str, optional
        Method names (default: every registered method, see
        :data:`imgot.methods.METHOD_NAMES`).
    width : int, default 320
        Tile width of the sheet.
    random_state : int, default 0
    **options
        Other :class:`imgot.ColorTransfer` parameters, for every method, and
        :func:`imgot.transfer`'s masks and labels (the scores then compare
        the selections, see :func:`evaluate`).

    Returns
    -------
    sheet : PIL.Image.Image
    results : list of (name, Scores, seconds)
        Each method's scores and transfer time.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sheet, results = compare(rng.random((24, 32, 3)), rng.random((24, 32, 3)) * 0.5,
    ...                          methods=("reinhard",), width=64)
    >>> [name for name, _, _ in results]
    ['reinhard']
    """
    from .transfer import transfer

    methods = METHOD_NAMES if methods is None else tuple(methods)
    for name in methods:
        get_method(name)
    outputs, seconds = [], []
    for name in methods:
        start = time.perf_counter()
        outputs.append(transfer(source, reference, method=name, random_state=random_state, **options))
        seconds.append(time.perf_counter() - start)
    judged = options.get("apply_mask")
    scores = evaluate(source, reference, outputs, reference_mask=options.get("reference_mask"),
                      source_mask=judged if judged is not None else options.get("source_mask"))
    sheet = contact_sheet(source, reference, list(zip(methods, outputs, scores)), width=width,
                          random_state=random_state)
    return sheet, list(zip(methods, scores, seconds))


# -- the normalizer's report and sheet -------------------------------------------------------------


def _check_fitted(model) -> None:
    from .exceptions import NotFittedError

    if not model.__sklearn_is_fitted__():
        raise NotFittedError(f"this {type(model).__name__} is not fitted yet; call fit(images) first")


def spread_report(model: Normalizer, pairs, *, max_pairwise: int = 30, random_state: int = 0) -> dict:
    """How much closer normalization brought the images: distances to the barycenter and to each other.

    Parameters
    ----------
    model : Normalizer
        Fitted.
    pairs : sequence of (input, output)
        Images (arrays, PIL images or paths) before and after normalization.
    max_pairwise : int, default 30
        Pairwise distances are computed among at most this many images.

    Returns
    -------
    dict
        ``images``: one row per pair (``input``, ``output``, ``before``,
        ``after``: W2 of its palette to the barycenter, working-space units);
        ``summary``: their median and 90th percentile before and after, and
        the median pairwise W2 between the images' palettes before and after.
    """
    from .barycenter import barycenter_cost

    _check_fitted(model)
    rows, before, after = [], [], []
    for source, output in pairs:
        a, b = model.palette(source), model.palette(output)
        before.append(a)
        after.append(b)
        rows.append({"input": str(source) if isinstance(source, (str, os.PathLike)) else "",
                     "output": str(output) if isinstance(output, (str, os.PathLike)) else "",
                     "before": float(np.sqrt(barycenter_cost(model.barycenter_, [a]))),
                     "after": float(np.sqrt(barycenter_cost(model.barycenter_, [b])))})
    if not rows:
        raise ValueError("spread_report needs at least one (input, output) pair")

    def pairwise(palettes):
        palettes = palettes[:max_pairwise]
        values = [np.sqrt(barycenter_cost(p, [q])) for i, p in enumerate(palettes) for q in palettes[i + 1:]]
        return float(np.median(values)) if values else 0.0

    far, near = np.array([r["before"] for r in rows]), np.array([r["after"] for r in rows])
    summary = {"images": len(rows), "before_median": float(np.median(far)), "after_median": float(np.median(near)),
               "before_p90": float(np.percentile(far, 90)), "after_p90": float(np.percentile(near, 90)),
               "pairwise_before_median": pairwise(before), "pairwise_after_median": pairwise(after)}
    return {"images": rows, "summary": summary}


def _name(image) -> str:
    return Path(image).name if isinstance(image, (str, os.PathLike)) else "image"


def normalize_sheet(model: Normalizer, pairs, *, width: int = 240):
    """A contact sheet: the first input and the barycenter palette, then each input and its output."""
    from .colorspace import get_color_space
    from .normalize import image_of

    _check_fitted(model)
    space = get_color_space(model.color_space or "lab")
    colors = np.clip(space.to_rgb(model.barycenter_.colors), 0.0, 1.0)
    order = np.argsort(model.barycenter_.colors[:, 0])
    swatch = np.repeat(colors[order][None], 24, axis=0)  # one column per support point, dark to light
    entries = []
    for source, output in pairs:
        name = _name(source)
        entries += [(f"{name} before", image_of(source), None), (f"{name} after", image_of(output), None)]
    first = image_of(pairs[0][0])
    return contact_sheet(first, swatch, entries, width=width, columns=4,
                         titles=("first input", "barycenter palette"))
