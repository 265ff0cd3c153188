"""``imgot apply``: run a saved 3-D LUT (.cube) over image files."""

from __future__ import annotations

from pathlib import Path

import click

from .options import ERRORS, fail, overwrite_option, quality_option, transfer_options, warning_lines
from .region_options import apply_mask_options
from .video_options import encoder_options


def _apply_to_file(lut, source: Path, target: Path, quality: int, overwrite: bool, protect,
                   preserve_detail: bool = False, video: dict | None = None, masking: dict | None = None,
                   preserve_luminance: bool = False, saturation: float = 1.0, protect_skin: float = 0.0) -> None:
    """Map one image (or video) file through `lut` and write it, keeping its ICC profile and EXIF."""
    from ..perfile import recolor_file
    from ..transfer import LUTTransform
    from .video_options import apply_video, is_video

    masking = masking or {}
    if is_video(source):
        masks = [flag for flag, on in (("--apply-mask", masking.get("apply_mask") is not None),
                                       ("--ignore-color", masking.get("ignore_color") is not None)) if on]
        if masks:
            raise ValueError(f"{source}: {', '.join(masks)}: for images, not videos "
                             "(a video gets the LUT and its per-pixel steps only)")
        return apply_video(lut, source, target, overwrite, video or {}, preserve_detail=preserve_detail,
                           preserve_luminance=preserve_luminance, saturation=saturation, protect_skin=protect_skin)
    mapper = LUTTransform(lut, preserve_detail=preserve_detail, preserve_luminance=preserve_luminance,
                          ignore_color=masking.get("ignore_color"),
                          ignore_tolerance=masking.get("ignore_tolerance", 0), feather=masking.get("feather"),
                          saturation=saturation, protect_skin=protect_skin)
    apply_mask = masking.get("apply_mask")
    recolor_file(mapper, source, target, quality=quality, overwrite=overwrite, protect=protect,
                 selection=None if apply_mask is None else {"apply_mask": apply_mask})


def _targets(images: tuple[Path, ...], out_dir: Path, lut_file: Path) -> list[tuple[Path, Path, str | None]]:
    """(image, output, reason it is refused or None) for each input image."""
    from ..atomic import refuse_inputs

    seen: set[str] = set()
    plan = []
    for image in images:
        target = out_dir / image.name
        reason = None
        try:
            refuse_inputs([target], (*images, lut_file))
        except OSError as error:
            reason = str(error)
        if reason is None and image.name in seen:
            reason = f"{image}: another input has the same file name {image.name!r}"
        seen.add(image.name)
        plan.append((image, target, reason))
    return plan


@click.command()
@click.argument("lut_file", metavar="LUT", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out-dir", required=True, type=click.Path(path_type=Path),
              help="Folder of the outputs (created if missing); each keeps its input's file name. "
                   "For one video input, may be the output video itself (out.mp4, frames_%05d.png).")
@quality_option()
@overwrite_option()
@click.option("--preserve-detail/--no-detail", "preserve_detail", default=False, show_default=True,
              help="After the LUT, imgot's detail step (the LUT alone cannot hold it): with it, applying "
                   "the LUT of `imgot transfer --save-lut` reproduces the transfer. Off by default: the "
                   "LUT as any editor applies it.")
@transfer_options(only=("preserve_luminance", "saturation", "protect_skin"))
@apply_mask_options
@encoder_options
@warning_lines()
def apply(lut_file, images, out_dir, quality, overwrite, preserve_detail, preserve_luminance, saturation,
          protect_skin, video, **masking):
    """Apply a 3-D LUT (.cube, or a HaldCLUT .png) to IMAGES, writing OUT_DIR/<same file name>.

    A file that fails is reported on stderr and the others are still done;
    the exit code is then 1.

    \b
    Example:
      imgot apply sunset.cube holiday/*.jpg -o holiday_sunset/
      imgot apply sunset.cube shoot/*.jpg -o out/ --apply-mask '{stem}_sky.png' --feather 10
      imgot apply sunset.cube clip.mp4 -o clip_sunset.mp4 --crf 16
      imgot apply look.png portraits/*.jpg -o out/ --protect-skin 0.6   # a HaldCLUT

    The LUT of `imgot transfer --save-lut` holds its color map only: add the
    transfer's --preserve-detail, --preserve-luminance, --saturation and
    --protect-skin to redo its per-pixel steps.
    """
    from ..hald import read_lut
    from ..video.reading import is_video_path
    from .region_options import check_feather

    check_feather(masking, masking)

    one_video = len(images) == 1 and is_video_path(out_dir) and not out_dir.is_dir()
    try:
        lut = read_lut(lut_file)
        if not one_video:
            out_dir.mkdir(parents=True, exist_ok=True)
    except ERRORS as error:
        raise fail(error) from None
    failed = 0
    plan = [(images[0], out_dir, None)] if one_video else _targets(images, out_dir, lut_file)
    for image, target, reason in plan:
        try:
            if reason:
                raise ValueError(reason)
            protect = (*images, lut_file, *([masking["apply_mask"]] if masking.get("apply_mask") not in
                                            (None, "alpha") and "{" not in masking["apply_mask"] else []))
            _apply_to_file(lut, image, target, quality, overwrite, protect, preserve_detail, video, masking,
                           preserve_luminance, saturation, protect_skin)
        except (*ERRORS, ImportError) as error:
            failed += 1
            click.echo(f"Error: {fail(error).message}", err=True)
            continue
        click.echo(str(target))
    if failed:
        raise SystemExit(1)
