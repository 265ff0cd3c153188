"""``imgot plan``: draw where each source color goes in the reference palette."""

from __future__ import annotations

from pathlib import Path

import click

from .options import (
    COLOR_SPACES,
    ERRORS,
    MAX_SIDE,
    PLAN_METHOD_HELP,
    PLAN_METHODS,
    fail,
    guard_outputs,
    max_iter_option,
    method_option,
    output_option,
    overwrite_option,
    seed_option,
    source_reference_arguments,
    warning_lines,
)


@click.command()
@source_reference_arguments
@output_option("Picture of the plan; its extension picks the format (.png, .jpg, ...).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the plan matrix, with the palette colors as hex labels.")
@method_option(choices=PLAN_METHODS, help=PLAN_METHOD_HELP)
@max_iter_option()
@click.option("--clusters", "n_clusters", type=click.IntRange(min=1), default=16, show_default=True,
              help="Palette size (k-means clusters) of each image.")
@click.option("--color-space", type=click.Choice(COLOR_SPACES), default="lab", show_default=True,
              help="Space of the palettes and the transport cost.")
@click.option("--size", default="900x600", show_default=True, help="Picture size, WIDTHxHEIGHT.")
@seed_option("Seed of sampling and k-means.")
@overwrite_option()
@warning_lines()
def plan(source, reference, output, csv_path, size, overwrite, **options):
    """Draw the transport plan from SOURCE's palette to REFERENCE's.

    Both palettes stand as columns of swatches, sized by mass and sorted by
    lightness; each band is as thick as the mass moved between its two colors.

    \b
    Example:
      imgot plan rocket.jpg coffee.jpg -o plan.png --csv plan.csv
    """
    import numpy as np

    from .. import io
    from ..planview import draw_plan, plan_csv
    from ..transfer import ColorTransfer

    width, height = parse_size(size, minimum=(120, 80))
    if csv_path and csv_path.resolve() == output.resolve():
        raise click.UsageError("-o and --csv must be different files")
    guard_outputs((output, csv_path), (source, reference), overwrite)
    try:
        src, ref = io.read_image(source), io.read_image(reference)
        color_map = ColorTransfer(**options).fit(ref).color_map(src)
        picture = draw_plan(color_map, width, height, color_space=options["color_space"])
        io.write_image(output, np.asarray(picture), overwrite=overwrite, protect=(source, reference))
        if csv_path:
            plan_csv(color_map, csv_path, color_space=options["color_space"], overwrite=overwrite)
    except ERRORS as error:
        raise fail(error) from None
    click.echo(str(output))
    if csv_path:
        click.echo(str(csv_path))


def parse_size(text: str, *, minimum: tuple[int, int] = (1, 1), maximum: int = MAX_SIDE) -> tuple[int, int]:
    """``'640x480'`` -> (640, 480); a bad or out-of-bounds value is a usage error (exit 2)."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not WIDTHxHEIGHT, e.g. 640x480", param_hint="--size") from None
    if width < minimum[0] or height < minimum[1] or width > maximum or height > maximum:
        raise click.BadParameter(f"{text!r}: width must be in {minimum[0]}..{maximum} and height in "
                                 f"{minimum[1]}..{maximum}", param_hint="--size")
    return width, height
