"""Selections and regions on the command line: the options, defined once, and reading their files.

``--source-mask``, ``--reference-mask``, ``--apply-mask`` and ``--regions``
name files (data, passed to ``fit`` and ``transform``); ``--ignore-color``,
``--ignore-tolerance`` and ``--feather`` are :class:`imgot.ColorTransfer`
parameters under the same names. Commands that recolor one image
(``transfer``, ``compare``) take all of them; ``imgot batch`` takes them with
per-image patterns (:func:`imgot.discovery.companion`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from .options import FiniteFloat

SELECTION_KEYS = ("source_mask", "reference_mask", "apply_mask", "regions")


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
    if not fractions and max(numbers) > 65535:
        raise click.BadParameter(f"{value!r}: levels of an image's depth are at most 255 (8-bit) or "
                                 "65535 (16-bit); 0.0-1.0 for fractions of full scale")
    return numbers if len(numbers) == 3 else numbers[0]


def check_depth(ignore_color, images: dict) -> None:
    """Exit 2 when --ignore-color's integer levels are above an image's top level (300 on an 8-bit image).

    `images` maps how to name each image ("SOURCE") to its array.
    """
    if ignore_color is None:
        return
    from ..pixels import as_pixels
    from ..regions import check_ignore_depth

    for name, array in images.items():
        try:
            check_ignore_depth(ignore_color, as_pixels(array).scale, what=name)
        except ValueError as error:
            shown = ",".join(map(str, ignore_color)) if isinstance(ignore_color, tuple) else str(ignore_color)
            message = str(error).replace(f"ignore_color {ignore_color}: ", "")
            raise click.BadParameter(f"{shown}: {message}", param_hint="'--ignore-color'") from None


def check_feather(selection: dict, options: dict) -> None:
    """Exit 2 for --feather without --apply-mask or --regions: it would do nothing."""
    if options.get("feather") is not None and selection.get("apply_mask") is None \
            and selection.get("source_labels") is None:
        raise click.UsageError("--feather fades the --apply-mask edge or blends --regions; give one of them "
                               "(without them it would do nothing)")


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
                      "given]; the width of the blend between --regions [default: 2% of the shorter side]. "
                      "Refused without either."),
    click.option("--ignore-color", callback=parse_ignore_color, default=None, metavar="R,G,B",
                 help="A nodata color (e.g. 0,0,0 for black borders): its pixels count in neither image and "
                      "are copied unchanged. Integers are levels of the image's depth (at most 255 for 8-bit), 0.0-1.0 "
                      "fractions."),
    click.option("--ignore-tolerance", type=FiniteFloat(0), default=0, show_default=True, metavar="LEVELS",
                 help="How far from --ignore-color (per channel, same units) a pixel may be and still be ignored."),
    click.option("--regions", nargs=2, type=click.Path(dir_okay=False, path_type=Path), default=None,
                 metavar="SRC_LABELS REF_LABELS",
                 help="Two label images (same label = corresponding regions, e.g. sky to sky): each region is "
                      "matched to its counterpart, blended without seams; labels only in SOURCE take the "
                      "global map."),
]


def apply_mask_options(command):
    """The options of :data:`REGION_OPTIONS` that one LUT can serve: --apply-mask, --feather, --ignore-*."""
    for option in reversed(REGION_OPTIONS):
        name = option(lambda: None).__click_params__[0].name
        if name in ("apply_mask", "feather", "ignore_color", "ignore_tolerance"):
            command = option(command)
    return command


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
    """The files `selection` reads (never to be written over); per-image patterns are not files."""
    from ..discovery import is_companion_pattern

    return [Path(value) for value in selection.values()
            if value is not None and value != "alpha" and not is_companion_pattern(value)]


_FLAGS = {"source_mask": "--source-mask", "reference_mask": "--reference-mask", "apply_mask": "--apply-mask",
          "source_labels": "--regions"}


def given(selection: dict, options: dict) -> list[str]:
    """The region options that were given, as ``--names``."""
    flags = [flag for key, flag in _FLAGS.items() if selection.get(key) is not None]
    return flags + [f"--{key.replace('_', '-')}" for key in ("ignore_color", "feather") if options.get(key) is not None]


def load(selection: dict) -> tuple[dict, dict]:
    """Read the files of `selection`: ``(fit keywords, transform keywords)``.

    Masks are read as images (``'alpha'`` passes through), label images by
    :func:`imgot.io.read_labels` (:func:`imgot.perfile.read_selection`).
    """
    from ..perfile import read_selection

    read = read_selection(selection)
    fit = {key: read.get(key) for key in ("reference_mask", "reference_labels")}
    transform = {key: read.get(key) for key in ("source_mask", "apply_mask", "source_labels")}
    return fit, transform
