"""The ``imgot`` command line: a thin click skin over the library.

Heavy libraries are imported inside the commands, so ``imgot --help`` answers
at once.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import click

METHODS = ("emd", "sinkhorn")
COLOR_SPACES = ("lab", "rgb")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("imgot")
    except PackageNotFoundError:
        return "0+unknown"


def default_output(source: Path) -> Path:
    """Where ``imgot transfer SRC REF`` writes without ``-o``: next to SRC."""
    return source.with_name(f"{source.stem}_imgot{source.suffix}")


def _import_solvers_in_background() -> None:
    """Import scikit-learn, POT and scikit-image while the main thread decodes images.

    Those imports cost a couple of seconds of pure Python; Pillow's decoders
    release the GIL, so the two overlap on a multi-core machine.
    """
    import threading

    def load() -> None:
        import ot  # noqa: F401
        import skimage.color  # noqa: F401
        import sklearn.cluster  # noqa: F401

    threading.Thread(target=load, name="imgot-imports", daemon=True).start()


def _fail(error: Exception) -> click.ClickException:
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    return click.ClickException(message)


def _title(reference: Path) -> str:
    """A .cube TITLE naming the reference: no double quotes or line breaks."""
    return f"imgot transfer to {reference.name}".translate({ord('"'): "'", ord("\n"): " ", ord("\r"): " "})


def _cube_path(ctx, param, value: Path | None) -> Path | None:
    if value is not None and value.suffix.lower() != ".cube":
        raise click.BadParameter(f"{value.name!r} must end in .cube")
    return value


def _show_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"warning: {message}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="imgot")
def main() -> None:
    """Color transfer and histogram matching by optimal transport."""


@main.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("reference", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file; its extension picks the format. [default: SOURCE_imgot.EXT]")
@click.option("--method", type=click.Choice(METHODS), default="emd", show_default=True,
              help="Exact transport or entropic Sinkhorn.")
@click.option("--reg", type=click.FloatRange(min=0, min_open=True), default=0.01, show_default=True,
              help="Sinkhorn regularization, relative to the median palette cost.")
@click.option("--clusters", "n_clusters", type=click.IntRange(min=1), default=64, show_default=True,
              help="Palette size (k-means clusters).")
@click.option("--color-space", type=click.Choice(COLOR_SPACES), default="lab", show_default=True,
              help="Space of the palettes and the transport cost.")
@click.option("--strength", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
              help="How far each color moves along its transport path (0 = unchanged).")
@click.option("--preserve-luminance", is_flag=True, help="Keep the source's lightness (L*); move only color.")
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
    """
    from . import io
    from .cube import write_cube
    from .exceptions import ImgotError
    from .transfer import ColorTransfer

    output = output or default_output(source)
    inputs = (source.resolve(), reference.resolve())
    if output.resolve() in inputs and not overwrite:
        raise click.ClickException(f"{output}: refusing to write over an input; pick another -o")
    if save_lut and save_lut.resolve() in (*inputs, output.resolve()):
        raise click.ClickException(f"{save_lut}: refusing to write the LUT over an input or the output")
    for path in (output, save_lut):
        if path and path.exists() and not overwrite:
            raise click.ClickException(f"{path}: exists; pass --overwrite to replace it")
    warnings.showwarning = _show_warning
    _import_solvers_in_background()
    try:
        src = io.load_image(source)
        ref = io.load_image(reference)
        model = ColorTransfer(**options).fit(ref.pixels)
        if save_lut:  # solve once, use the map twice
            mapping = model.color_map(src.pixels)
            result = mapping.apply(src.pixels)
        else:
            result = model.transform(src.pixels)
        io.write_image(output, result, icc_profile=src.icc_profile, exif=src.exif,
                       quality=quality, overwrite=overwrite)
        if save_lut:
            write_cube(save_lut, mapping.lut, title=_title(reference), overwrite=overwrite)
    except (ImgotError, ValueError, TypeError) as error:
        raise _fail(error) from None
    click.echo(str(output))
    if save_lut:
        click.echo(str(save_lut))


def _apply_to_file(lut, source: Path, target: Path, quality: int, overwrite: bool) -> None:
    """Map one image file through `lut` and write it, keeping its ICC profile and EXIF."""
    from . import io
    from .transfer import apply_lut_to_image

    image = io.load_image(source)
    result = apply_lut_to_image(lut, image.pixels)
    io.write_image(target, result, icc_profile=image.icc_profile, exif=image.exif,
                   quality=quality, overwrite=overwrite)


def _targets(images: tuple[Path, ...], out_dir: Path) -> list[tuple[Path, Path, str | None]]:
    """(image, output, reason it is refused or None) for each input image."""
    inputs = {image.resolve() for image in images}
    seen: set[str] = set()
    plan = []
    for image in images:
        target = out_dir / image.name
        reason = None
        if target.resolve() in inputs:
            reason = f"{target}: refusing to write over an input; pick another -o"
        elif image.name in seen:
            reason = f"{image}: another input has the same file name {image.name!r}"
        seen.add(image.name)
        plan.append((image, target, reason))
    return plan


@main.command()
@click.argument("lut_file", metavar="LUT.cube", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder of the outputs (created if missing); each keeps its input's file name.")
@click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True,
              help="JPEG/WebP quality of the outputs.")
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
def apply(lut_file, images, out_dir, quality, overwrite):
    """Apply a 3-D LUT (.cube) to IMAGES, writing OUT_DIR/<same file name>.

    A file that fails is reported on stderr and the others are still done;
    the exit code is then 1.

    \b
    Example:
      imgot apply sunset.cube holiday/*.jpg -o holiday_sunset/
    """
    from .cube import read_cube
    from .exceptions import ImgotError

    try:
        lut = read_cube(lut_file)
        out_dir.mkdir(parents=True, exist_ok=True)
    except (ImgotError, OSError) as error:
        raise _fail(error) from None
    warnings.showwarning = _show_warning
    failed = 0
    for image, target, reason in _targets(images, out_dir):
        try:
            if reason:
                raise ValueError(reason)
            _apply_to_file(lut, image, target, quality, overwrite)
        except (ImgotError, ValueError, TypeError) as error:
            failed += 1
            click.echo(f"Error: {_fail(error).message}", err=True)
            continue
        click.echo(str(target))
    if failed:
        raise SystemExit(1)
