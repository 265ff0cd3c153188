"""Shared pieces of the command line: option choices, error and warning plumbing."""

from __future__ import annotations

import warnings
from collections.abc import Collection
from contextlib import contextmanager
from pathlib import Path

import click

# The method table imports only the standard library: `imgot --help` lists the methods without a solver.
# PLAN_METHODS: the only ones `imgot plan` and the color morph can serve; LUT_METHODS: the only
# ones `imgot batch --fit-on` can fit once for all.
from ..method_table import DEFAULT_METHOD, DEFAULT_ROTATIONS, LUT_METHODS, PLAN_METHODS, method_help  # noqa: F401 (for the commands)
from ..method_table import METHOD_NAMES as METHODS
from ..validation import MAX_SEED

COLOR_SPACES = ("lab", "rgb")
NEUTRALIZE = ("gray-world", "white-patch")  # imgot.adaptation.NEUTRALIZE_METHODS (checked by a test)

METHOD_HELP = method_help()
PLAN_METHOD_HELP = "A method with a palette plan (emd-sliced: its emd stage's plan)."


def max_iter_option(default: int = 1000, solvers: str = "sinkhorn, unbalanced"):
    """``--max-iter``: the iteration cap of the Sinkhorn solvers (``max_iter`` in the API).

    `solvers` names the methods of the command that iterate.
    """
    return click.option("--max-iter", type=click.IntRange(min=1), default=default, show_default=True,
                        help=f"Iteration cap of the Sinkhorn solvers ({solvers}); raise it when "
                             "a warning says they did not converge.")


def parse_methods(ctx, param, value: str | None) -> tuple[str, ...] | None:
    """``--methods a,b,c`` as a tuple of known method names."""
    if value is None:
        return None
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    unknown = [name for name in names if name not in METHODS]
    if unknown or not names:
        raise click.BadParameter(f"unknown method {', '.join(unknown) or value!r}; choose from: {', '.join(METHODS)}")
    return names


def default_output(source: Path) -> Path:
    """Where ``imgot transfer SRC REF`` writes without ``-o``: next to SRC."""
    return source.with_name(f"{source.stem}_imgot{source.suffix}")


def import_solvers_in_background() -> None:
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


# Every error a command turns into one "Error: ..." line and exit 1: bad files
# and data (ImgotError, OSError), and values the library refuses.
ERRORS = (OSError, ValueError, TypeError, MemoryError)

MAX_SIDE = 8192  # largest picture side a command draws (plan, morph --size)
MAX_TILE = 4096  # largest compare tile width


def fail(error: BaseException) -> click.ClickException:
    """One line for a library error (exit 1), in imgot's words."""
    if isinstance(error, MemoryError):
        return click.ClickException("not enough memory for this image size; try a smaller image or size")
    from ..exceptions import ImgotError

    if isinstance(error, OSError) and not isinstance(error, ImgotError) and error.strerror:
        # A bare OSError ("[Errno 13] Permission denied: 'x'"): name the file first, as imgot's own do.
        where = f"{error.filename}: " if error.filename else ""
        return click.ClickException(f"{where}{error.strerror}")
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    return click.ClickException(message)


class FiniteFloat(click.ParamType):
    """A float with optional bounds that refuses NaN (and inf unless allowed): exit 2.

    click's FloatRange lets NaN through (every comparison with NaN is false).
    """

    name = "float"

    def __init__(self, low: float | None = None, high: float | None = None, *, low_open: bool = False,
                 allow_inf: bool = False):
        self.low, self.high, self.low_open, self.allow_inf = low, high, low_open, allow_inf

    def convert(self, value, param, ctx):
        import math

        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if math.isnan(number) or (math.isinf(number) and not self.allow_inf):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.low is not None and (number < self.low or (self.low_open and number == self.low)):
            self.fail(f"{value} must be {'>' if self.low_open else '>='} {self.low}", param, ctx)
        if self.high is not None and number > self.high:
            self.fail(f"{value} must be <= {self.high}", param, ctx)
        return number

    def __repr__(self) -> str:
        return f"FiniteFloat({self.low}, {self.high})"


def image_output(ctx, param, value):
    """An output image path whose extension imgot can write (``.psd``: a usage error, exit 2)."""
    if value is None:
        return None
    from ..video.reading import is_video_path

    if is_video_path(Path(value)) or "%" in Path(value).name:  # a clip, or a numbered frame sequence
        return value
    from ..io import _format_for

    try:
        _format_for(Path(value))
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    return value


def lut_path(ctx, param, value: Path | None) -> Path | None:
    """A LUT output path (``--save-lut``): ``.cube`` or ``.png`` (HaldCLUT); others are a usage error (exit 2)."""
    if value is not None and value.suffix.lower() not in (".cube", ".png"):
        raise click.BadParameter(f"{value.name!r} must end in .cube (3-D LUT) or .png (HaldCLUT)")
    return value


SAVE_LUT_HELP = ("Also write the fitted color map as a 3-D LUT to this file: .cube (Adobe/Resolve, "
                 "--lut-size points per axis) or .png (HaldCLUT, --hald-level).")


def save_lut_option(help: str = SAVE_LUT_HELP):
    """``--save-lut PATH.cube|PATH.png``, with ``--hald-level`` for a HaldCLUT PNG."""
    save = click.option("--save-lut", type=click.Path(dir_okay=False, path_type=Path), callback=lut_path,
                        help=help)
    level = click.option("--hald-level", type=click.IntRange(2, 16), default=None, metavar="LEVEL",
                         help="Level of the HaldCLUT that --save-lut *.png writes: 8 is 512x512 pixels "
                              "(64 points per axis), 12 is 1728x1728, 16 is 4096x4096. [default: 8]")

    def decorate(command):
        return save(level(command))

    return decorate


def check_hald_level(save_lut: Path | None, hald_level: int | None) -> int:
    """The HaldCLUT level to write; ``--hald-level`` without a ``.png`` --save-lut is a usage error."""
    if hald_level is not None and (save_lut is None or save_lut.suffix.lower() != ".png"):
        raise click.UsageError("--hald-level sets the size of a HaldCLUT: give --save-lut a .png file")
    from ..hald import DEFAULT_HALD_LEVEL

    return DEFAULT_HALD_LEVEL if hald_level is None else hald_level


def lut_note(path: Path, preserve_detail: bool, preserve_luminance: bool, masked: bool = False, *,
             saturation: float = 1.0, protect_skin: float = 0.0) -> str | None:
    """The stderr note that the saved LUT at `path` lacks the per-pixel steps that are on, or None."""
    steps = [(name, flag) for name, flag, on in (
        ("detail", "--preserve-detail", preserve_detail),
        ("exact per-pixel L*", "--preserve-luminance", preserve_luminance),
        ("color intensity", f"--saturation {saturation:g}", saturation != 1.0),
        ("skin protection", f"--protect-skin {protect_skin:g}", protect_skin > 0),
        ("mask", "--apply-mask/--ignore-color", masked),
    ) if on]
    if not steps:
        return None
    names, flags = ", ".join(name for name, _ in steps), " ".join(flag for _, flag in steps)
    names = " and ".join(names.rsplit(", ", 1))
    steps_are = "steps are" if len(steps) > 1 else "step is"
    adds = "add them" if len(steps) > 1 else "adds it"
    return (f"note: {path.name} holds the color map only; the {names} {steps_are} applied per pixel and "
            f"{'are' if len(steps) > 1 else 'is'} not in the LUT (imgot apply {flags} {adds} back)")


def source_reference_arguments(command):
    """``SOURCE REFERENCE``: the two image files of the commands that take a pair."""
    for name in ("reference", "source"):
        command = click.argument(name, type=click.Path(dir_okay=False, path_type=Path))(command)
    return command


def output_option(help: str, *, required: bool = True, image: bool = True):
    """``-o/--output``: one output file; with `image`, checked as an image name (:func:`image_output`)."""
    if not image:
        return click.option("-o", "--output", required=required, help=help)
    return click.option("-o", "--output", required=required, type=click.Path(dir_okay=False, path_type=Path),
                        callback=image_output, help=help)


def overwrite_option(help: str = "Replace existing output files."):
    """``--overwrite``: replace (or redo) existing outputs; without it an existing file is never replaced."""
    return click.option("--overwrite", is_flag=True, help=help)


def quality_option(help: str = "JPEG/WebP quality of the outputs."):
    """``--quality``: JPEG/WebP quality, 1..100, default 95."""
    return click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True, help=help)


def seed_option(help: str = "Seed of sampling and k-means; same seed, same output bytes."):
    """``--seed``: an integer in 0..2**32-1, as ``random_state``."""
    return click.option("--seed", "random_state", type=click.IntRange(0, MAX_SEED), default=0,
                        show_default=True, help=help)


def guard_outputs(outputs, inputs, overwrite: bool) -> None:
    """Before any work: no output is an input (device + inode), none exists unless `overwrite`.

    `outputs` and `inputs` may hold None (absent optional files). Raises a
    ClickException (exit 1) naming the file.
    """
    from ..atomic import refuse_inputs

    outputs = [path for path in outputs if path is not None]
    try:
        refuse_inputs(outputs, inputs)
    except OSError as error:
        raise fail(error) from None
    resolved = [Path(path).resolve() for path in outputs]
    if len(set(resolved)) != len(resolved):
        raise click.ClickException("two outputs are the same file; give each its own name")
    for path in outputs:
        if Path(path).is_dir():
            raise click.ClickException(f"{path}: is a folder; give a file name")
        if Path(path).exists() and not overwrite:
            raise click.ClickException(f"{path}: exists; pass --overwrite to replace it")


def show_warning(message, category, filename, lineno, file=None, line=None):
    """A warning as one ``warning: ...`` line on stderr (a ``warnings.showwarning`` hook)."""
    click.echo(f"warning: {message}", err=True)


@contextmanager
def warning_lines():
    """Show the warnings raised inside as one ``warning: ...`` line each, on stderr.

    The hook is set inside :func:`warnings.catch_warnings`, so the global
    ``warnings.showwarning`` (and the filters) are the caller's again on exit,
    also when a command is called from Python or under click's CliRunner.
    Use it as a ``with`` block or as a decorator of a command's function.
    """
    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        yield


def method_option(default: str = DEFAULT_METHOD, choices: tuple[str, ...] = METHODS, help: str = METHOD_HELP):
    """``--method``, offering `choices` (every registered method by default)."""
    return click.option("--method", type=click.Choice(choices), default=default, show_default=True, help=help)


def detail_option():
    """``--preserve-detail/--no-detail``: the finishing step, on by default as in the API."""
    return click.option(
        "--preserve-detail/--no-detail", "preserve_detail", default=True, show_default=True,
        help="Keep the source's fine texture: the lightness change is smoothed by a fast edge-aware "
             "filter, so no grain, banding or JPEG blocks are added. --no-detail is the fast path "
             "(one LUT per pixel, nothing else).")


# The transfer options, defined once and used by every command that recolors.
# Their names and defaults are the API's (a test checks them against
# imgot.ColorTransfer's parameters); --clusters is n_clusters, --seed random_state.
TRANSFER_OPTIONS = (
    method_option(),
    click.option("--clusters", "n_clusters", type=click.IntRange(min=1), default=64, show_default=True,
                 help="Palette size (k-means clusters) of the palette methods."),
    click.option("--color-space", type=click.Choice(COLOR_SPACES), default=None,
                 help="Working space of the method. [default: rgb for histogram, lab otherwise]"),
    click.option("--reg", type=FiniteFloat(0, low_open=True), default=0.01, show_default=True,
                 help="Sinkhorn regularization, relative to the median palette cost."),
    click.option("--reg-m", type=FiniteFloat(0, low_open=True, allow_inf=True), default=1.0, show_default=True,
                 help="Mass relaxation of --method unbalanced, relative to the median palette cost "
                      "(inf: balanced Sinkhorn)."),
    max_iter_option(),
    click.option("--n-iter", type=click.IntRange(min=1), default=DEFAULT_ROTATIONS, show_default=True,
                 help="Random rotations of the sliced methods."),
    click.option("--strength", type=FiniteFloat(0.0, 1.0), default=1.0, show_default=True,
                 help="How far each color moves along its transport path (0 = unchanged)."),
    click.option("--preserve-luminance", is_flag=True, default=False,
                 help="Keep the source's lightness (L*) on every pixel; move only hue and chroma."),
    detail_option(),
    seed_option("Seed of sampling, k-means and rotations; same seed, same output bytes."),
    click.option("--lut-size", type=click.IntRange(2, 256), default=33, show_default=True, metavar="N",
                 help="Lattice points per axis of the color map's 3-D LUT, and so of the .cube that "
                      "--save-lut writes (17, 32, 33, 65, ...)."),
    click.option("--protect-skin", type=FiniteFloat(0.0, 1.0), default=0.0, show_default=True, is_flag=False,
                 flag_value=0.8, metavar="[AMOUNT]",
                 help="Skin protection: skin tones (CIELAB hue 30-68 deg, chroma 10-40, smooth edges) move "
                      "back toward the source by AMOUNT times their skin weight (bare flag: 0.8). 0 is off."),
    click.option("--saturation", type=FiniteFloat(0.0, 4.0), default=1.0, show_default=True, metavar="FACTOR",
                 help="Color intensity (Photoshop's Match Color \"Color Intensity\"): the result's CIELAB "
                      "chroma times FACTOR, L* and hue unchanged, kept inside sRGB. 1 is the map's result."),
    click.option("--neutralize", type=click.Choice(NEUTRALIZE), default=None, is_flag=False,
                 flag_value="gray-world",
                 help="Remove the source's color cast first (Bradford adaptation of its white to D65): "
                      "gray-world (bare flag: the mean color is gray) or white-patch (the brightest is white)."),
)


def option_name(option) -> str:
    """The parameter name a ``click.option(...)`` decorator declares (``--clusters``: ``n_clusters``)."""
    return option(lambda: None).__click_params__[0].name


def transfer_options(*, only: Collection[str] | None = None, exclude: Collection[str] = ()):
    """A decorator adding :data:`TRANSFER_OPTIONS`, in their order, to a command.

    Parameters
    ----------
    only : collection of str, optional
        Parameter names (``n_clusters``, ``preserve_luminance``, ...) to add;
        default all.
    exclude : collection of str
        Parameter names to leave out (a command that defines its own).
    """
    names = [option_name(option) for option in TRANSFER_OPTIONS]
    unknown = set(only or ()).union(exclude).difference(names)
    if unknown:
        raise ValueError(f"not transfer options: {', '.join(sorted(unknown))}")
    chosen = [option for option, name in zip(TRANSFER_OPTIONS, names)
              if (only is None or name in only) and name not in exclude]

    def decorate(command):
        for option in reversed(chosen):
            command = option(command)
        return command

    return decorate
