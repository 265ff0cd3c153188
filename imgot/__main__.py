"""``python -m imgot``: the command-line interface."""

from .cli import main

main()
