"""``imgot transfer``: recolor one image toward a reference."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from .options import (
    ERRORS,
    default_output,
    fail,
    guard_outputs,
    image_output,
    import_solvers_in_background,
    lut_note,
    save_lut_option,
    show_warning,
    transfer_options,
)
from .video_options import encoder_options, grading_options


def _title(reference: Path) -> str:
    """A .cube TITLE naming the reference: no double quotes or line breaks."""
    return f"imgot transfer to {reference.name}".translate({ord('"'): "'", ord("\n"): " ", ord("\r"): " "})


@click.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("reference", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              callback=image_output,
              help="Output file; its extension picks the format. [default: SOURCE_imgot.EXT]")
@transfer_options
@click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True,
              help="JPEG/WebP quality of the output.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
@save_lut_option()
@grading_options
@encoder_options
def transfer(source, reference, output, quality, overwrite, save_lut, video, **options):
    """Recolor SOURCE with the colors of REFERENCE.

    \b
    Example:
      imgot transfer photo.jpg sunset.jpg -o photo_sunset.jpg --strength 0.8
      imgot transfer photo.jpg sunset.jpg -o out.jpg --save-lut sunset.cube
      imgot transfer photo.jpg sunset.jpg -o out.jpg --no-detail      # the fast path
      imgot transfer clip.mp4 sunset.jpg -o graded.mp4 --save-lut clip_sunset.cube
      imgot transfer clip.mov sunset.jpg -o graded.mov --per-shot --crf 16

    A video SOURCE (.mp4, .mov, .mkv, .webm, .avi, ...) gets one color map for
    the whole clip (no flicker), or one per shot with --per-shot; -o may also
    be an image sequence such as frames_%05d.png.
    """
    from .. import io
    from ..cube import write_cube
    from ..transfer import ColorTransfer, LUTTransform

    output = output or default_output(source)
    inputs = (source, reference)
    guard_outputs((output, save_lut), inputs, overwrite)
    warnings.showwarning = show_warning
    import_solvers_in_background()
    from .video_options import is_video, refuse_for_images, transfer_video

    if is_video(source):
        return transfer_video(source, reference, output, save_lut, overwrite, video, options)
    refuse_for_images(video)
    try:
        src = io.load_image(source)
        ref = io.load_image(reference)
        model = ColorTransfer(**options).fit(ref.pixels)
        if save_lut:  # solve once, use the map twice
            fitted = LUTTransform.from_model(model, src.pixels)
            lut, result = fitted.lut, fitted.transform(src.pixels)
        else:
            result = model.transform(src.pixels)
        io.write_image(output, result, icc_profile=src.icc_profile, exif=src.exif,
                       quality=quality, overwrite=overwrite, protect=inputs)
        if save_lut:
            write_cube(save_lut, lut, title=_title(reference), overwrite=overwrite, protect=inputs)
    except ERRORS as error:
        raise fail(error) from None
    click.echo(str(output))
    if save_lut:
        click.echo(str(save_lut))
        note = lut_note(save_lut, options["detail"], options["preserve_luminance"])
        if note:
            click.echo(note, err=True)
