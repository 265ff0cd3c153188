"""Selections and regions on the command line: the options, defined once, and reading their files.

``--source-mask``, ``--reference-mask``, ``--apply-mask`` and ``--regions``
name files (data, passed to ``fit`` and ``transform``); ``--ignore-color``,
``--ignore-tolerance`` and ``--feather`` are :class:`imgot.ColorTransfer`
parameters under the same names. Commands that recolor one image
(``transfer``, ``compare``) take all of them; ``imgot batch`` takes them with
per-image patterns (:func:`resolve`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from .options import FiniteFloat

SELECTION_KEYS = ("source_mask", "reference_mask", "apply_mask", "regions")
PATTERN_FIELDS = ("{stem}", "{name}", "{parent}")


def parse_ignore_color(ctx, param, value: str | None):
    """``0,0,0`` (levels of the image's depth), ``0.0,0.0,0.0`` (fractions) or one gray value."""
    if value is None:
        return None
    parts = [part.strip() for part in value.split(",")]
    if len(parts) not in (1, 3) or not all(parts):
        raise click.BadParameter(f"{value!r}: give R,G,B (e.g. 0,0,0) or one gray level")
    try:
        fractions = any("." in part or "e" in part.lower() for part in parts)
        numbers = tuple(float(part) if fractions else int(part) for part in parts)
    except ValueError:
        raise click.BadParameter(f"{value!r}: R,G,B must be numbers") from None
    from ..regions import check_ignore_color

    try:
        check_ignore_color(numbers)
    except ValueError as error:
        raise click.BadParameter(str(error).replace("ignore_color", value)) from None
    return numbers if len(numbers) == 3 else numbers[0]


_MASK_HELP = "a gray image of the same size (white = counts, gray = counts partly), or 'alpha' for its own alpha"

REGION_OPTIONS = [
    click.option("--source-mask", metavar="FILE|alpha", default=None,
                 help=f"Only these pixels of SOURCE count in its colors: {_MASK_HELP}. Every pixel is still "
                      "recolored (see --apply-mask)."),
    click.option("--reference-mask", metavar="FILE|alpha", default=None,
                 help=f"Only these pixels of REFERENCE give the target colors: {_MASK_HELP}."),
    click.option("--apply-mask", metavar="FILE|alpha", default=None,
                 help="Recolor only inside this gray mask (gray blends); outside it the output is the source "
                      "bit for bit."),
    click.option("--feather", type=FiniteFloat(0), default=None, metavar="PX",
                 help="Fade the result in over PX pixels inside the --apply-mask edge [default: 0, the mask as "
                      "given]; the width of the blend between --regions [default: 2% of the shorter side]."),
    click.option("--ignore-color", callback=parse_ignore_color, default=None, metavar="R,G,B",
                 help="A nodata color (e.g. 0,0,0 for black borders): its pixels count in neither image and "
                      "are copied unchanged. Integers are levels of the image's depth, 0.0-1.0 fractions."),
    click.option("--ignore-tolerance", type=FiniteFloat(0), default=0, show_default=True, metavar="LEVELS",
                 help="How far from --ignore-color (per channel, same units) a pixel may be and still be ignored."),
    click.option("--regions", nargs=2, type=click.Path(dir_okay=False, path_type=Path), default=None,
                 metavar="SRC_LABELS REF_LABELS",
                 help="Two label images (same label = corresponding regions, e.g. sky to sky): each region is "
                      "matched to its counterpart, blended without seams; labels only in SOURCE take the "
                      "global map."),
]


def region_options(command):
    """Add :data:`REGION_OPTIONS`; the file options reach the command as one ``selection`` dict."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        selection = {key: kwargs.pop(key) for key in SELECTION_KEYS}
        if selection["regions"] is not None:
            selection["source_labels"], selection["reference_labels"] = selection["regions"]
        selection.pop("regions")
        return command(*args, selection=selection, **kwargs)

    for option in reversed(REGION_OPTIONS):
        run = option(run)
    return run


def files(selection: dict) -> list[Path]:
    """The files `selection` reads (never to be written over)."""
    return [Path(value) for value in selection.values() if value is not None and value != "alpha"]


def given(selection: dict, options: dict) -> list[str]:
    """The region options that were given, as ``--names``."""
    names = [key for key, value in selection.items() if value is not None]
    names += [key for key in ("ignore_color", "feather") if options.get(key) is not None]
    renamed = {"source_labels": "regions", "reference_labels": None}
    return list(dict.fromkeys("--" + renamed.get(key, key).replace("_", "-")
                              for key in names if renamed.get(key, key) is not None))


def is_pattern(value) -> bool:
    return isinstance(value, (str, Path)) and any(field in str(value) for field in PATTERN_FIELDS)


def resolve(value, image: Path):
    """A per-image file option for `image`: a pattern such as ``{stem}_mask.png`` is filled in
    (``{stem}``, ``{name}``, ``{parent}``) and taken relative to the image's folder; a plain file or
    ``'alpha'`` is the same for every image."""
    if value is None or value == "alpha" or not is_pattern(value):
        return value
    try:
        filled = str(value).format(stem=image.stem, name=image.name, parent=image.parent.name)
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(f"bad file pattern {str(value)!r} ({error}); use {{stem}}, {{name}} or {{parent}}") from None
    path = Path(filled)
    return path if path.is_absolute() else image.parent / path


def load(selection: dict) -> tuple[dict, dict]:
    """Read the files of `selection`: ``(fit keywords, transform keywords)``.

    Masks are read as images (``'alpha'`` passes through), label images by
    :func:`imgot.io.read_labels`.
    """
    from .. import io

    def mask(value):
        return value if value is None or value == "alpha" else io.load_image(value).pixels

    def labels(value):
        return None if value is None else io.read_labels(value)

    fit = {"reference_mask": mask(selection.get("reference_mask")),
           "reference_labels": labels(selection.get("reference_labels"))}
    transform = {"source_mask": mask(selection.get("source_mask")),
                 "apply_mask": mask(selection.get("apply_mask")),
                 "source_labels": labels(selection.get("source_labels"))}
    return fit, transform
