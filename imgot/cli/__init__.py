"""The ``imgot`` command line: a thin click skin over the library.

One module per command; heavy libraries are imported inside the commands, so
``imgot --help`` answers at once.
"""

from __future__ import annotations

import os

# POT imports torch, jax, tensorflow and cupy at import time when they are
# installed (seconds for torch), to offer them as backends; imgot's command
# line only hands it numpy arrays. Set before any command imports POT; a user
# who sets one of these variables keeps their value. The library itself leaves
# POT's environment alone (see the README).
for _backend in ("PYTORCH", "JAX", "TENSORFLOW", "CUPY"):
    os.environ.setdefault(f"POT_BACKEND_DISABLE_{_backend}", "1")

from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from typing import NoReturn  # noqa: E402

import click  # noqa: E402

from .apply import apply  # noqa: E402
from .batch import batch
from .compare import compare
from .distance import distance
from .evaluate import evaluate
from .morph import morph
from .normalize import normalize
from .plan import plan
from .serve import serve
from .transfer import transfer


def _say_interrupted() -> NoReturn:
    click.echo("\ninterrupted: no output is left half-written; rerun the command to resume a batch", err=True)
    raise click.exceptions.Exit(130) from None


def _caused_by_interrupt(error: BaseException) -> bool:
    """Whether a KeyboardInterrupt is in the chain of `error` (its causes and contexts)."""
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        if isinstance(link, KeyboardInterrupt):
            return True
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return False


@contextmanager
def _interrupts_redelivered() -> Iterator[None]:
    """While a command runs, make a Ctrl+C that Python would swallow interrupt it after all.

    A KeyboardInterrupt raised inside a callback that Python runs on its own
    (a weakref callback of the import system's module locks, while the
    solvers import in the background) is "ignored": printed as an
    unraisable exception, and the command would go on to write its output.
    Such an interrupt is delivered to the main thread again instead. The
    previous ``sys.unraisablehook`` is back when the command ends.
    """
    import _thread
    import sys
    import threading

    previous = sys.unraisablehook

    def hook(unraisable) -> None:
        if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
            # A moment later, from another thread: raised in the hook, it would be swallowed again.
            timer = threading.Timer(0.05, _thread.interrupt_main)
            timer.daemon = True
            timer.start()
            return
        previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


class _Group(click.Group):
    """The command group, with a last net: any error a command did not turn into
    one line still becomes one ``Error:`` line and exit 1, never a traceback
    (``IMGOT_DEBUG=1`` shows the traceback, for a bug report)."""

    def invoke(self, ctx):
        import os

        try:
            with _interrupts_redelivered():
                return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            _say_interrupted()
        except Exception as error:  # the CLI's promise: one line, no traceback
            if _caused_by_interrupt(error):  # Ctrl+C inside a compiled module's import: pybind11's ImportError
                _say_interrupted()
            if os.environ.get("IMGOT_DEBUG"):
                raise
            from .options import ERRORS, fail

            if isinstance(error, ERRORS):
                raise fail(error) from None
            raise click.ClickException(
                f"unexpected {type(error).__name__}: {error} (a bug in imgot: please report it with "
                "the command; IMGOT_DEBUG=1 shows the traceback)") from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(None, "--version", package_name="imgot", prog_name="imgot")
def main() -> None:
    """Color transfer and histogram matching by optimal transport."""


for command in (transfer, apply, batch, evaluate, compare, distance, plan, morph, serve, normalize):
    main.add_command(command)
