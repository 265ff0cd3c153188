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
def transfer(source, reference, output, quality, overwrite, **options):
    """Recolor SOURCE with the colors of REFERENCE.

    \b
    Example:
      imgot transfer photo.jpg sunset.jpg -o photo_sunset.jpg --strength 0.8
    """
    from . import io
    from .exceptions import ImgotError
    from .transfer import ColorTransfer

    output = output or default_output(source)
    if output.resolve() in (source.resolve(), reference.resolve()) and not overwrite:
        raise click.ClickException(f"{output}: refusing to write over an input; pick another -o")
    if output.exists() and not overwrite:
        raise click.ClickException(f"{output}: exists; pass --overwrite to replace it")
    warnings.showwarning = _show_warning
    _import_solvers_in_background()
    try:
        src = io.load_image(source)
        ref = io.load_image(reference)
        result = ColorTransfer(**options).fit(ref.pixels).transform(src.pixels)
        io.write_image(output, result, icc_profile=src.icc_profile, exif=src.exif,
                       quality=quality, overwrite=overwrite)
    except (ImgotError, ValueError, TypeError) as error:
        raise _fail(error) from None
    click.echo(str(output))
