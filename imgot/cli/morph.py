"""``imgot morph``: an animation from one image to another by displacement interpolation."""

from __future__ import annotations

import click

from .options import (
    COLOR_SPACES,
    ERRORS,
    PLAN_METHOD_HELP,
    PLAN_METHODS,
    fail,
    guard_outputs,
    method_option,
    output_option,
    overwrite_option,
    source_reference_arguments,
    transfer_options,
    warning_lines,
)
from .plan import parse_size

# The transfer options imgot.morph() takes (tested against its signature);
# --strength is the morph's own time axis.
MORPH_TRANSFER_OPTIONS = ("reg", "reg_m", "max_iter", "n_iter", "preserve_luminance", "preserve_detail",
                          "random_state")


@click.command()
@source_reference_arguments
@output_option("Animation (.gif, .webp, .png) or numbered frames, e.g. frames_%03d.png.", image=False)
@click.option("--frames", type=click.IntRange(min=2), default=24, show_default=True, help="Number of frames.")
@click.option("--spatial", is_flag=True,
              help="Move mass in position and color (joint k-means + OT), not only recolor.")
@click.option("--size", help="Spatial morph frame size WIDTHxHEIGHT. [default: source fitted in 160x160]")
@method_option(choices=PLAN_METHODS, help=PLAN_METHOD_HELP)
@click.option("--clusters", "n_clusters", type=click.IntRange(min=1),
              help="Palette size (color morph, default 64) or joint clusters (spatial, default 300).")
@click.option("--color-space", type=click.Choice(COLOR_SPACES), default=None,
              help="Working space of the palettes (and of the colors a --spatial morph moves). [default: lab]")
@transfer_options(only=MORPH_TRANSFER_OPTIONS)
@click.option("--duration", type=click.IntRange(min=1), default=80, show_default=True,
              help="Milliseconds per frame of an animation.")
@overwrite_option()
@warning_lines()
def morph(source, reference, output, size, duration, overwrite, **options):
    """Morph SOURCE into REFERENCE: recolor it step by step, or (--spatial) move its mass.

    \b
    Example:
      imgot morph rocket.jpg coffee.jpg --frames 24 -o morph.gif
      imgot morph rocket.jpg coffee.jpg --spatial --size 160x107 -o morph.gif
      imgot morph rocket.jpg coffee.jpg --frames 5 -o frames_%03d.png
    """
    from .. import io
    from ..morph import morph as make_frames
    from ..morph import output_paths, save_frames

    if size is not None and not options["spatial"]:
        raise click.UsageError("--size applies to --spatial only; the color morph keeps the source's size")
    if size is not None:
        options["size"] = parse_size(size, minimum=(2, 2), maximum=1000)
    try:
        targets = output_paths(output, options["frames"], overwrite=True)
    except ERRORS as error:
        raise fail(error) from None
    guard_outputs(targets, (source, reference), overwrite)
    try:
        src, ref = io.read_image(source), io.read_image(reference)
        # An option left unset (None) takes imgot.morph's own default.
        frames = make_frames(src, ref, **{key: value for key, value in options.items() if value is not None})
        if not options["spatial"]:  # 8-bit RGB frames for the animation or the PNGs
            frames = (_to_rgb8(frame) for frame in frames)
        written = save_frames(output, frames, duration=duration, overwrite=overwrite)
    except ERRORS as error:
        raise fail(error) from None
    many = f"{written[0]} .. {written[-1]} ({len(written)} frames)"
    click.echo(str(written[0]) if len(written) == 1 else many)


def _to_rgb8(frame):
    import numpy as np

    from ..pixels import as_pixels, quantize

    pixels = as_pixels(frame)
    color = quantize(pixels.color.astype(np.float32) / np.float32(pixels.scale), np.uint8)
    return color if not pixels.is_gray else np.repeat(color[..., None], 3, axis=2)
