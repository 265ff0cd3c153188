"""``imgot compare``: run several methods and write one labelled contact sheet."""

from __future__ import annotations

from pathlib import Path

import click

from .region_options import files as region_files
from .region_options import load as load_selection
from .region_options import region_options
from .options import ERRORS, MAX_TILE, METHODS, detail_option, fail, guard_outputs, image_output, parse_methods, seed_option


@click.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("reference", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              callback=image_output,
              help="The contact sheet (.png recommended).")
@click.option("--methods", callback=parse_methods, metavar="A,B,...",
              help=f"Comma-separated methods to run. [default: all: {','.join(METHODS)}]")
@click.option("--width", type=click.IntRange(64, MAX_TILE), default=320, show_default=True,
              help="Width of each tile in pixels.")
@detail_option()
@seed_option("Seed of every method.")
@click.option("--overwrite", is_flag=True, help="Replace an existing sheet.")
@region_options
def compare(source, reference, output, methods, width, detail, random_state, overwrite, selection, **regions):
    """Recolor SOURCE toward REFERENCE with each method and draw a contact sheet.

    The sheet shows the source and the reference with their palettes, then
    every output with its name, color distance to the reference (and its
    ratio to the source's), L* SSIM and grain. The same numbers are printed,
    with each method's time.

    \b
    Example:
      imgot compare photo.jpg sunset.jpg -o sheet.png
      imgot compare photo.jpg sunset.jpg -o sheet.png --methods emd,histogram,sliced
      imgot compare photo.jpg sunset.jpg -o sheet.png --source-mask sky.png --reference-mask sky2.png

    With masks, the color distances compare the selected pixels: the output's
    inside --apply-mask (or --source-mask) with the reference's inside
    --reference-mask.
    """
    import numpy as np

    from .. import io
    from ..sheet import compare as run

    inputs = (source, reference, *region_files(selection))
    guard_outputs([output], inputs, overwrite)
    try:
        src = io.read_image(source)
        ref = io.read_image(reference)
        fit_data, transform_data = load_selection(selection)
        sheet, results = run(src, ref, methods=methods, width=width, random_state=random_state, detail=detail,
                             **fit_data, **transform_data, **regions)
        io.write_image(output, np.asarray(sheet), overwrite=overwrite, protect=inputs)
    except ERRORS as error:
        raise fail(error) from None
    name_width = max(len(name) for name, _, _ in results)
    for name, scores, seconds in results:
        click.echo(f"{name:<{name_width}}  color_dist {scores.color_distance:6.2f} ({scores.ratio:.3f})  "
                   f"ssim {scores.structure_similarity:.3f}  grain {scores.grain:+.3f}  {seconds:.2f}s")
    click.echo(str(output))
