"""The ``imgot`` command line: a thin click skin over the library.

One module per command; heavy libraries are imported inside the commands, so
``imgot --help`` answers at once.
"""

from __future__ import annotations

import click

from .apply import apply
from .batch import batch
from .compare import compare
from .distance import distance
from .evaluate import evaluate
from .morph import morph
from .normalize import normalize
from .plan import plan
from .transfer import transfer


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("imgot")
    except PackageNotFoundError:
        return "0+unknown"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="imgot")
def main() -> None:
    """Color transfer and histogram matching by optimal transport."""


for command in (transfer, apply, batch, normalize, evaluate, compare, distance, plan, morph):
    main.add_command(command)
