"""The command line's transfer options are the API's: same names, same defaults, everywhere."""

import inspect

import click
import pytest

from imgot import ColorTransfer
from imgot.cli import main
from imgot.cli import options as cli_options
from imgot.methods import DEFAULT_METHOD, METHOD_NAMES, PLAN_METHODS

API_DEFAULTS = {name: p.default for name, p in inspect.signature(ColorTransfer.__init__).parameters.items()
                if name != "self"}
RECOLORING_COMMANDS = ("transfer", "batch")


def test_cli_method_lists_are_the_registry():
    assert cli_options.METHODS == METHOD_NAMES
    assert cli_options.PLAN_METHODS == PLAN_METHODS
    assert cli_options.DEFAULT_METHOD == DEFAULT_METHOD


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


def test_every_command_has_help_with_an_example():
    for name, command in main.commands.items():
        assert command.help and "xample" in command.help, name
