"""The command line's transfer options are the API's: same names, same defaults, everywhere."""

import inspect

import click
import pytest

import imgot
from imgot import ColorTransfer
from imgot.cli import main
from imgot.cli import options as cli_options
from imgot.methods import DEFAULT_METHOD, PLAN_METHODS

API_DEFAULTS = {name: p.default for name, p in inspect.signature(ColorTransfer.__init__).parameters.items()
                if name != "self"}
RECOLORING_COMMANDS = ("transfer", "batch")
SHARED = {cli_options.option_name(option): option(lambda: None).__click_params__[0]
          for option in cli_options.TRANSFER_OPTIONS}


def params_of(command: str) -> dict:
    return {p.name: p for p in main.commands[command].params if isinstance(p, click.Option)}


@pytest.mark.slow  # a subprocess
def test_help_imports_no_solver():
    """``imgot --help`` and ``imgot transfer --help`` (which lists the methods from the stdlib-only method
    table) import no POT, scikit-learn, SciPy or scikit-image."""
    import subprocess
    import sys

    for args in (["--help"], ["transfer", "--help"]):
        code = (f"import runpy, sys; sys.argv = ['imgot', *{args!r}]\n"
                "try:\n    runpy.run_module('imgot', run_name='__main__')\nexcept SystemExit:\n    pass\n"
                "print(sorted({m.split('.')[0] for m in sys.modules} & {'ot', 'sklearn', 'scipy', 'skimage'}))")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout[-400:]
    assert "emd-sliced" in done.stdout and "histogram-linear-histogram" in done.stdout  # transfer's --method help


def test_cli_neutralize_choices_are_the_library_s():
    from imgot.adaptation import NEUTRALIZE_METHODS

    assert cli_options.NEUTRALIZE == NEUTRALIZE_METHODS


def same_option(ours: click.Option, shared: click.Option) -> bool:
    return (ours.opts, ours.secondary_opts, ours.help, ours.default, repr(ours.type)) == \
        (shared.opts, shared.secondary_opts, shared.help, shared.default, repr(shared.type))


@pytest.mark.parametrize(("command", "expected"), [
    ("transfer", set(SHARED)),
    ("batch", set(SHARED)),
    ("compare", set(SHARED) - {"method"}),  # its --methods list instead
    # imgot.morph()'s own transfer parameters (its --method and --clusters are its own, see below)
    # (its --color-space is its own too: its help names no histogram method, which morph does not offer)
    ("morph", set(SHARED) & set(inspect.signature(imgot.morph).parameters) - {"method", "n_clusters", "color_space"}),
    # a LUT's finishing steps (--preserve-detail has its own default)
    ("apply", {"preserve_luminance", "saturation", "protect_skin"}),
    # Normalizer's transfer parameters; its --method lists the barycenter's methods, default emd
    # (not the colorist controls of issue 26: a stain normalizer keeps each slide's own look)
    ("normalize", set(SHARED) - {"method", "n_iter", "lut_size", "protect_skin", "saturation", "neutralize"}),
])
def test_commands_take_the_shared_transfer_options_themselves(command, expected):
    params = params_of(command)
    shared_here = {name for name in SHARED if name in params and same_option(params[name], SHARED[name])}
    assert shared_here == expected, command


def test_morph_offers_what_imgot_morph_takes_and_nothing_else():
    takes = set(inspect.signature(imgot.morph).parameters)
    offered = {name for name in params_of("morph") if name in SHARED}
    assert offered <= takes  # nothing the library would refuse, nothing silently dropped
    # Every transfer option morph() can take is offered; strength is the morph's own time axis.
    assert (set(SHARED) & takes) - {"strength"} == offered
    method = params_of("morph")["method"]
    assert tuple(method.type.choices) == PLAN_METHODS and method.help == cli_options.PLAN_METHOD_HELP


def test_transfer_options_picks_by_name_and_refuses_unknown_names():
    command = click.command()(cli_options.transfer_options(only=("strength", "n_clusters"))(lambda **kw: kw))
    assert [p.name for p in command.params] == ["n_clusters", "strength"]  # in TRANSFER_OPTIONS order
    with pytest.raises(ValueError, match="clusters"):
        cli_options.transfer_options(exclude=("clusters",))


@pytest.mark.parametrize("command", RECOLORING_COMMANDS)
def test_every_recoloring_command_has_every_transfer_option_with_the_api_default(command):
    params = {p.name: p for p in main.commands[command].params if isinstance(p, click.Option)}
    for option in cli_options.TRANSFER_OPTIONS:
        name = option(lambda: None).__click_params__[0].name
        assert name in API_DEFAULTS, f"--{name} is not a ColorTransfer parameter"
        assert name in params, f"imgot {command} lacks the option for {name}"
        assert params[name].default == API_DEFAULTS[name], (command, name)


def test_commands_offer_only_the_methods_that_can_serve_them():
    for command in ("plan", "morph"):
        method = next(p for p in main.commands[command].params if p.name == "method")
        assert tuple(method.type.choices) == PLAN_METHODS
        assert method.default == DEFAULT_METHOD
    batch_method = params_of("batch")["method"]
    assert set(cli_options.LUT_METHODS) < set(batch_method.type.choices)  # --fit-on refuses the others


def test_every_command_has_help_with_an_example():
    for name, command in main.commands.items():
        assert command.help and "xample" in command.help, name


@pytest.mark.parametrize("command, absent", [("morph", "histogram"), ("distance", "unbalanced")])
def test_help_names_only_what_the_command_offers(command, absent):
    """morph has no histogram method and distance no unbalanced one: their help does not name them."""
    from click.testing import CliRunner

    shown = CliRunner().invoke(main, [command, "--help"])
    assert shown.exit_code == 0 and absent not in shown.output.lower()
