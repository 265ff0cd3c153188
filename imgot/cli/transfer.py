"""``imgot transfer``: recolor one image toward a reference."""

from __future__ import annotations

import click

from .options import (
    ERRORS,
    check_hald_level,
    default_output,
    fail,
    guard_outputs,
    import_solvers_in_background,
    lut_note,
    output_option,
    overwrite_option,
    quality_option,
    save_lut_option,
    source_reference_arguments,
    transfer_options,
    warning_lines,
)
from .region_options import files as region_files
from .region_options import check_depth, check_feather, given, region_options
from .region_options import load as load_selection
from .video_options import encoder_options, grading_options


@click.command()
@source_reference_arguments
@output_option("Output file; its extension picks the format. [default: SOURCE_imgot.EXT]", required=False)
@transfer_options()
@quality_option("JPEG/WebP quality of the output.")
@overwrite_option("Replace an existing output file.")
@save_lut_option()
@region_options
@grading_options
@encoder_options
@warning_lines()
def transfer(source, reference, output, quality, overwrite, save_lut, hald_level, video, selection, **options):
    """Recolor SOURCE with the colors of REFERENCE.

    \b
    Example:
      imgot transfer photo.jpg sunset.jpg -o photo_sunset.jpg --strength 0.8
      imgot transfer photo.jpg sunset.jpg -o out.jpg --save-lut sunset.cube
      imgot transfer photo.jpg sunset.jpg -o out.jpg --no-detail      # the fast path
      imgot transfer clip.mp4 sunset.jpg -o graded.mp4 --save-lut clip_sunset.cube
      imgot transfer clip.mov sunset.jpg -o graded.mov --per-shot --crf 16
      imgot transfer loop.gif sunset.jpg -o loop_sunset.gif         # every frame, one map
      imgot transfer face.jpg tan.jpg -o out.jpg --source-mask skin.png --apply-mask skin.png --feather 8
      imgot transfer scene.tif ref.tif -o out.tif --ignore-color 0,0,0
      imgot transfer day.jpg dusk.jpg -o out.jpg --regions day_labels.png dusk_labels.png
      imgot transfer portrait.jpg teal.jpg -o out.jpg --protect-skin --saturation 0.8
      imgot transfer photo.jpg look.jpg -o out.jpg --neutralize --save-lut look.png --hald-level 12

    A video SOURCE (.mp4, .mov, .mkv, .webm, .avi, ...) gets one color map for
    the whole clip (no flicker), or one per shot with --per-shot; -o may also
    be an image sequence such as frames_%05d.png. An animated GIF, PNG or
    WebP, or a multi-page TIFF, gets one map for all its frames too; timing,
    loop and transparency are kept.

    Masks and regions: --source-mask and --reference-mask choose which pixels
    give each image's colors; --apply-mask chooses where the result goes
    (elsewhere the source is kept bit for bit); --regions pairs the regions of
    two label images by equal labels.
    """
    from .. import io
    from ..cube import cube_title
    from ..hald import write_lut
    from ..transfer import ColorTransfer, LUTTransform

    hald_level = check_hald_level(save_lut, hald_level)
    output = output or default_output(source)
    inputs = (source, reference, *region_files(selection))
    guard_outputs((output, save_lut), inputs, overwrite)
    if save_lut and selection.get("source_labels") is not None:
        raise click.UsageError("--save-lut writes one color map; --regions makes one per region")
    check_feather(selection, options)
    import_solvers_in_background()
    from .video_options import is_video, refuse_for_images, transfer_video

    if is_video(source):
        if given(selection, options):
            raise click.UsageError(f"{', '.join(given(selection, options))}: only for an image input, not a video")
        return transfer_video(source, reference, output, save_lut, overwrite, video, options, hald_level)
    refuse_for_images(video)
    from ..frames import count_frames, frame_format, read_for_fit, recolor_frames

    frames = count_frames(source) > 1  # an animated GIF, PNG or WebP, a multi-page TIFF: one map, every frame
    per_pixel = [flag for flag in given(selection, options) if flag not in ("--reference-mask", "--ignore-color")]
    if frames and per_pixel:
        raise click.UsageError(f"{', '.join(per_pixel)}: for a still image, not for the frames of {source.name}")
    if frames:
        try:
            frame_format(output, source)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="'-o' / '--output'") from None
    try:
        ref = read_for_fit(reference)
        fit_data, transform_data = load_selection(selection)
        # Both images are decoded before the fit: the decoding overlaps the solvers'
        # imports, and a bad source fails at once rather than after the reference's fit.
        src = None if frames else io.load_image(source)
        if src is not None:
            check_depth(options.get("ignore_color"), {"SOURCE": src.pixels})
        model = ColorTransfer(**options).fit(ref, **fit_data)
        if frames:
            lut = recolor_frames(model, source, output, quality=quality, overwrite=overwrite, protect=inputs).lut
        if src is None:
            pass
        elif save_lut:  # solve once, use the map twice
            fitted = LUTTransform.from_model(model, src.pixels, source_mask=transform_data["source_mask"])
            lut, result = fitted.lut, fitted.transform(src.pixels, apply_mask=transform_data["apply_mask"])
        else:
            result = model.transform(src.pixels, **transform_data)
        if src is not None:
            io.write_image(output, result, icc_profile=src.icc_profile, exif=src.exif,
                           quality=quality, overwrite=overwrite, protect=inputs)
        if save_lut:
            write_lut(save_lut, lut, title=cube_title("transfer", reference), hald_level=hald_level,
                      overwrite=overwrite, protect=inputs)
    except ERRORS as error:
        raise fail(error) from None
    click.echo(str(output))
    if save_lut:
        click.echo(str(save_lut))
        masked = selection.get("apply_mask") is not None or options.get("ignore_color") is not None
        note = lut_note(save_lut, options["preserve_detail"], options["preserve_luminance"], masked,
                        saturation=options["saturation"], protect_skin=options["protect_skin"])
        if note:
            click.echo(note, err=True)
