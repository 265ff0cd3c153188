"""``imgot evaluate``: score transfer outputs against their source and reference."""

from __future__ import annotations

from pathlib import Path

import click

from .options import ERRORS, fail, source_reference_arguments, warning_lines


@click.command()
@source_reference_arguments
@click.argument("outputs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@warning_lines()
def evaluate(source, reference, outputs):
    """Print the quality metrics of each OUTPUT of a transfer SOURCE -> REFERENCE.

    One row per output: color distance to REFERENCE (sliced Wasserstein in
    CIELAB) and its ratio to SOURCE's own distance (below 1 = closer), L*
    SSIM against SOURCE (1 = same structure), and grain (relative change of
    high-frequency L* energy; 0 = none added). A score that so small an
    image cannot have (SSIM of a 1 x 1 or 2 x 2 image) is printed n/a.

    \b
    Example:
      imgot evaluate photo.jpg sunset.jpg out_emd.jpg out_histogram.jpg
    """
    from .. import io
    from ..sheet import evaluate as score
    from ..sheet import format_score

    try:
        src = io.read_image(source)
        ref = io.read_image(reference)
        images = [io.read_image(path) for path in outputs]
        scores = score(src, ref, images)
    except ERRORS as error:
        raise fail(error) from None
    name_width = max(len("output"), *(len(str(path)) for path in outputs))
    click.echo(f"{'output':<{name_width}}  {'color_dist':>10}  {'ratio':>6}  {'ssim':>6}  {'grain':>7}")
    for path, row in zip(outputs, scores):
        click.echo(f"{str(path):<{name_width}}  {row.color_distance:>10.2f}  {row.ratio:>6.3f}  "
                   f"{format_score(row.structure_similarity, '.3f'):>6}  {format_score(row.grain, '+.3f'):>7}")
