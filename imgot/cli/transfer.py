"""``imgot transfer``: recolor one image toward a reference."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from .options import (
    COLOR_SPACES,
    default_output,
    fail,
    import_solvers_in_background,
    max_iter_option,
    method_option,
    show_warning,
)


def _title(reference: Path) -> str:
    """A .cube TITLE naming the reference: no double quotes or line breaks."""
    return f"imgot transfer to {reference.name}".translate({ord('"'): "'", ord("\n"): " ", ord("\r"): " "})



def _cube_path(ctx, param, value: Path | None) -> Path | None:
    if value is not None and value.suffix.lower() != ".cube":
        raise click.BadParameter(f"{value.name!r} must end in .cube")
    return value



@click.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("reference", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file; its extension picks the format. [default: SOURCE_imgot.EXT]")
@method_option()
@click.option("--reg", type=click.FloatRange(min=0, min_open=True), default=0.01, show_default=True,
              help="Sinkhorn regularization, relative to the median palette cost.")
@click.option("--reg-m", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Mass relaxation of --method unbalanced, relative to the median palette cost.")
@max_iter_option()
@click.option("--n-iter", type=click.IntRange(min=1), default=20, show_default=True,
              help="Random rotations of --method sliced.")
@click.option("--clusters", "n_clusters", type=click.IntRange(min=1), default=64, show_default=True,
              help="Palette size (k-means clusters).")
@click.option("--color-space", type=click.Choice(COLOR_SPACES), default=None,
              help="Working space of the method. [default: rgb for histogram, lab otherwise]")
@click.option("--strength", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
              help="How far each color moves along its transport path (0 = unchanged).")
@click.option("--preserve-luminance", is_flag=True, help="Keep the source's lightness (L*); move only color.")
@click.option("--preserve-detail", "detail", is_flag=True,
              help="Smooth the color change with an edge-aware filter so grain is not amplified.")
@click.option("--seed", "random_state", type=int, default=0, show_default=True,
              help="Seed of sampling and k-means; same seed, same output bytes.")
@click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True,
              help="JPEG/WebP quality of the output.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@click.option("--save-lut", type=click.Path(dir_okay=False, path_type=Path), callback=_cube_path,
              help="Also write the fitted color map as a 3-D LUT (.cube) to this file.")
def transfer(source, reference, output, quality, overwrite, save_lut, **options):
    """Recolor SOURCE with the colors of REFERENCE.

    \b
    Example:
      imgot transfer photo.jpg sunset.jpg -o photo_sunset.jpg --strength 0.8
      imgot transfer photo.jpg sunset.jpg -o out.jpg --save-lut sunset.cube
      imgot transfer photo.jpg sunset.jpg -o out.jpg --method histogram --preserve-detail
    """
    from .. import io
    from ..cube import write_cube
    from ..exceptions import ImgotError
    from ..transfer import ColorTransfer, apply_lut_to_image

    output = output or default_output(source)
    inputs = (source.resolve(), reference.resolve())
    if output.resolve() in inputs and not overwrite:
        raise click.ClickException(f"{output}: refusing to write over an input; pick another -o")
    if save_lut and save_lut.resolve() in (*inputs, output.resolve()):
        raise click.ClickException(f"{save_lut}: refusing to write the LUT over an input or the output")
    for path in (output, save_lut):
        if path and path.exists() and not overwrite:
            raise click.ClickException(f"{path}: exists; pass --overwrite to replace it")
    warnings.showwarning = show_warning
    import_solvers_in_background()
    try:
        src = io.load_image(source)
        ref = io.load_image(reference)
        model = ColorTransfer(**options).fit(ref.pixels)
        if save_lut:  # solve once, use the map twice
            lut = model.color_lut(src.pixels)
            result = apply_lut_to_image(lut, src.pixels)
        else:
            result = model.transform(src.pixels)
        io.write_image(output, result, icc_profile=src.icc_profile, exif=src.exif,
                       quality=quality, overwrite=overwrite)
        if save_lut:
            write_cube(save_lut, lut, title=_title(reference), overwrite=overwrite)
    except (ImgotError, ValueError, TypeError) as error:
        raise fail(error) from None
    click.echo(str(output))
    if save_lut:
        click.echo(str(save_lut))
