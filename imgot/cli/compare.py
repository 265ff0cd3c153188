"""``imgot compare``: run several methods and write one labelled contact sheet."""

from __future__ import annotations

import click

from .options import (
    ERRORS,
    MAX_TILE,
    METHODS,
    fail,
    guard_outputs,
    output_option,
    overwrite_option,
    parse_methods,
    source_reference_arguments,
    transfer_options,
    warning_lines,
)
from .region_options import files as region_files
from .region_options import load as load_selection
from .region_options import check_depth, check_feather, region_options


@click.command()
@source_reference_arguments
@output_option("The contact sheet (.png recommended).")
@click.option("--methods", callback=parse_methods, metavar="A,B,...",
              help=f"Comma-separated methods to run. [default: all: {','.join(METHODS)}]")
@click.option("--width", type=click.IntRange(64, MAX_TILE), default=320, show_default=True,
              help="Width of each tile in pixels.")
@transfer_options(exclude=("method",))
@overwrite_option("Replace an existing sheet.")
@region_options
@warning_lines()
def compare(source, reference, output, methods, width, overwrite, selection, **options):
    """Recolor SOURCE toward REFERENCE with each method and draw a contact sheet.

    The sheet shows the source and the reference with their palettes, then
    every output with its name, color distance to the reference (and its
    ratio to the source's), L* SSIM and grain. The same numbers are printed,
    with each method's time.

    \b
    Example:
      imgot compare photo.jpg sunset.jpg -o sheet.png
      imgot compare photo.jpg sunset.jpg -o sheet.png --methods emd,histogram,sliced
      imgot compare photo.jpg sunset.jpg -o sheet.png --clusters 16 --strength 0.8 --no-detail
      imgot compare photo.jpg sunset.jpg -o sheet.png --source-mask sky.png --reference-mask sky2.png

    The transfer options (--clusters, --strength, ...) apply to every method
    that reads them.

    With masks, the color distances compare the selected pixels: the output's
    inside --apply-mask (or --source-mask) with the reference's inside
    --reference-mask.
    """
    import numpy as np

    from .. import io
    from ..sheet import compare as run
    from ..sheet import format_score

    inputs = (source, reference, *region_files(selection))
    guard_outputs([output], inputs, overwrite)
    check_feather(selection, options)
    try:
        src = io.read_image(source)
        ref = io.read_image(reference)
        check_depth(options.get("ignore_color"), {"SOURCE": src})
        fit_data, transform_data = load_selection(selection)
        sheet, results = run(src, ref, methods=methods, width=width, **fit_data, **transform_data, **options)
        io.write_image(output, np.asarray(sheet), overwrite=overwrite, protect=inputs)
    except ERRORS as error:
        raise fail(error) from None
    name_width = max(len(name) for name, _, _ in results)
    for name, scores, seconds in results:
        click.echo(f"{name:<{name_width}}  color_dist {scores.color_distance:6.2f} ({scores.ratio:.3f})  "
                   f"ssim {format_score(scores.structure_similarity, '.3f')}  "
                   f"grain {format_score(scores.grain, '+.3f')}  {seconds:.2f}s")
    click.echo(str(output))
