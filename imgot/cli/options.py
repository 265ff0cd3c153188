"""Shared pieces of the command line: option choices, error and warning plumbing."""

from __future__ import annotations

from pathlib import Path

import click

METHODS = ("emd", "sinkhorn")
COLOR_SPACES = ("lab", "rgb")


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


