"""Shared pieces of the command line: option choices, error and warning plumbing."""

from __future__ import annotations

from pathlib import Path

import click

# Kept equal to imgot.methods.METHOD_NAMES by a test; a plain tuple here so
# that `imgot --help` imports no solver.
METHODS = (
    "emd", "sinkhorn", "unbalanced", "histogram", "linear", "reinhard", "sliced", "emd-sliced",
    "histogram-linear-histogram",
)
COLOR_SPACES = ("lab", "rgb")

METHOD_HELP = (
    "emd/sinkhorn/unbalanced: OT between palettes; histogram: exact per-channel matching; "
    "linear: Gaussian OT map (MKL); reinhard: per-channel mean/std; sliced: iterative sliced OT; "
    "emd-sliced: emd refined by sliced OT (closest colors; best with --preserve-detail); "
    "histogram-linear-histogram: the three in turn."
)


def method_option(default: str = "emd"):
    """``--method``, offering every registered method."""
    return click.option("--method", type=click.Choice(METHODS), default=default, show_default=True,
                        help=METHOD_HELP)


def max_iter_option(default: int = 1000):
    """``--max-iter``: the iteration cap of the Sinkhorn solvers (``max_iter`` in the API)."""
    return click.option("--max-iter", type=click.IntRange(min=1), default=default, show_default=True,
                        help="Iteration cap of the Sinkhorn solvers (sinkhorn, unbalanced); raise it when "
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


def fail(error: Exception) -> click.ClickException:
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    return click.ClickException(message)


def show_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"warning: {message}", err=True)


