"""CLI parity: one code path, so the API, every command and every saved map give the same bytes.

Each check runs the real commands through click's runner on tiny images and
reads the outputs back; the truth is the library call with the same
parameters. Options defined once: every command's option named after an API
parameter has the API's default (or a listed, deliberate difference).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import imgot
from imgot import ColorTransfer, read_image, transfer, write_image
from imgot.batch import transfer_many
from imgot.cli import main
from imgot.cli.region_options import REGION_OPTIONS
from imgot.cube import read_cube
from imgot.methods import METHOD_NAMES, METHODS, PLAN_METHODS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
API_DEFAULTS = {name: p.default for name, p in inspect.signature(ColorTransfer.__init__).parameters.items()
                if name != "self"}
# The CLI spelling of an API parameter (the chosen pairs of the "consistent names").
CLI_NAMES = {"n_clusters": "--clusters", "random_state": "--seed"}


def invoke(*args):
    return CliRunner().invoke(main, [str(arg) for arg in args])


def ok(result):
    assert result.exit_code == 0, result.output
    return result


def cli_flags(params: dict) -> list[str]:
    """The command-line flags that give ColorTransfer `params` (one vocabulary, two spellings)."""
    flags = []
    for name, value in params.items():
        if name == "preserve_detail":
            flags.append("--preserve-detail" if value else "--no-detail")
        elif name == "preserve_luminance":
            flags += ["--preserve-luminance"] if value else []
        else:
            flags += [CLI_NAMES.get(name, "--" + name.replace("_", "-")), str(value)]
    return flags


def option_names(command) -> dict:
    return {p.name: p for p in main.commands[command].params if p.opts and p.opts[0].startswith("-")}


def default_of(command: str, option):
    """The value an option takes when it is not given (click 8.3 marks "no default" with a sentinel)."""
    value = option.get_default(click.Context(main.commands[command]))
    if type(value).__name__ == "Sentinel" or value is None:
        return False if getattr(option, "is_flag", False) and not option.secondary_opts else None
    return value


def region_option_name(option) -> str:
    return option(lambda: None).__click_params__[0].name


# -- design goal: one code path, the same bytes everywhere (and items 1, 2, 6) ---------------------

# Non-default options that each method reads, so that the test also shows they reach it everywhere.
EXTRA = {
    "emd": {"color_space": "rgb"},
    "sinkhorn": {"reg": 0.05, "max_iter": 500},
    "unbalanced": {"reg_m": 0.5},
    "histogram": {},  # item 1: batch's --color-space default was lab, transfer's rgb
    "linear": {"strength": 0.6},
    "reinhard": {"preserve_luminance": True},
    "sliced": {"n_iter": 7},
    "emd-sliced": {"n_iter": 7},
    "histogram-linear-histogram": {"strength": 0.7},
}


@pytest.fixture
def files(tmp_path, warm, cool):
    (tmp_path / "in").mkdir()
    write_image(tmp_path / "in" / "src.png", warm)
    write_image(tmp_path / "ref.png", cool)
    return tmp_path / "in" / "src.png", tmp_path / "ref.png"


def test_extra_options_cover_every_method():
    assert set(EXTRA) == set(METHOD_NAMES)


@pytest.mark.parametrize("detail", [True, False], ids=["detail", "no-detail"])
@pytest.mark.parametrize("method", METHOD_NAMES)
def test_transfer_batch_apply_save_lut_and_api_give_the_same_bytes(files, tmp_path, method, detail):
    src, ref = files
    params = {"method": method, "n_clusters": 8, "random_state": 5, "preserve_detail": detail, **EXTRA[method]}
    source, reference = read_image(src), read_image(ref)
    api = transfer(source, reference, **params)
    flags = cli_flags(params)

    ok(invoke("transfer", src, ref, "-o", tmp_path / "cli.png", *flags))
    np.testing.assert_array_equal(read_image(tmp_path / "cli.png"), api)
    ok(invoke("batch", src.parent, "-r", ref, "-o", tmp_path / "batch", "-j", 1, *flags))
    np.testing.assert_array_equal(read_image(tmp_path / "batch" / "src.png"), api)

    if not METHODS.get(method) or not METHODS[method].is_lut:
        # item 2's capability check: one map for all needs a LUT; a usage error in one line, before any work.
        refused = invoke("batch", src.parent, "-r", ref, "-o", tmp_path / "fit", "--fit-on", "first", *flags)
        assert refused.exit_code == 2 and "Traceback" not in refused.output
        errors = [line for line in refused.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "not a single 3-D LUT" in errors[0]
        assert not (tmp_path / "fit").exists()
        return
    # item 2: --fit-on first for every LUT method; fitted on the only image, it is that image's transfer.
    ok(invoke("batch", src.parent, "-r", ref, "-o", tmp_path / "fit", "-j", 1, "--fit-on", "first", *flags))
    np.testing.assert_array_equal(read_image(tmp_path / "fit" / "src.png"), api)
    # --save-lut: the output is still the transfer; the .cube is the model's color map, exactly.
    ok(invoke("transfer", src, ref, "-o", tmp_path / "lut.png", "--save-lut", tmp_path / "t.cube", *flags))
    np.testing.assert_array_equal(read_image(tmp_path / "lut.png"), api)
    model = ColorTransfer(**params).fit(reference)
    np.testing.assert_array_equal(read_cube(tmp_path / "t.cube").table, model.color_lut(source).table)
    # batch --save-lut maps through the file's table: imgot apply of that file gives the same bytes.
    ok(invoke("batch", src.parent, "-r", ref, "-o", tmp_path / "fitlut", "-j", 1, "--fit-on", "first",
              "--save-lut", tmp_path / "b.cube", *flags))
    ok(invoke("apply", tmp_path / "b.cube", src, "-o", tmp_path / "applied",
              "--preserve-detail" if detail else "--no-detail",
              *(["--preserve-luminance"] if params.get("preserve_luminance") else [])))
    np.testing.assert_array_equal(read_image(tmp_path / "applied" / "src.png"),
                                  read_image(tmp_path / "fitlut" / "src.png"))
    assert np.abs(read_image(tmp_path / "fitlut" / "src.png").astype(int) - api).max() <= 1


@pytest.mark.parametrize("method", PLAN_METHODS)
def test_color_morph_frames_are_the_transfer_at_each_strength(files, tmp_path, method):
    src, ref = files
    params = {"method": method, "n_clusters": 8, "random_state": 5}
    ok(invoke("morph", src, ref, "--frames", 3, "-o", tmp_path / "f_%d.png", *cli_flags(params)))
    source, reference = read_image(src), read_image(ref)
    np.testing.assert_array_equal(read_image(tmp_path / "f_0.png"), source)
    np.testing.assert_array_equal(read_image(tmp_path / "f_1.png"), transfer(source, reference, strength=0.5,
                                                                              **params))
    np.testing.assert_array_equal(read_image(tmp_path / "f_2.png"), transfer(source, reference, **params))


# -- item 3: transfer_many(fit_on=..., preserve_detail=True) keeps the detail step --------------------------


def test_transfer_many_fit_on_keeps_the_detail_step(tmp_path, rocket, coffee):
    (tmp_path / "in").mkdir()
    write_image(tmp_path / "in" / "a.png", rocket)
    params = {"method": "emd", "n_clusters": 8}
    for detail in (True, False):
        out = tmp_path / f"out_{detail}"
        results = list(transfer_many(tmp_path / "in", coffee, out, fit_on="first", jobs=1, preserve_detail=detail,
                                     **params))
        assert [r.status for r in results] == ["done"]
        expected = ColorTransfer(preserve_detail=detail, **params).fit(coffee).transform(rocket)
        np.testing.assert_array_equal(read_image(out / "a.png"), expected)
    assert not np.array_equal(read_image(tmp_path / "out_True" / "a.png"),
                              read_image(tmp_path / "out_False" / "a.png"))


# -- item 5: plan and morph offer exactly the methods that can serve them --------------------------


def test_plan_and_morph_offer_exactly_the_methods_with_a_palette_plan(files, tmp_path, warm, cool):
    def has_plan(method):
        try:
            ColorTransfer(method=method, n_clusters=4, n_samples=500).fit(cool).color_map(warm)
        except ValueError:
            return False
        return True

    servable = {method for method in METHOD_NAMES if has_plan(method)}  # asked of the API, not the registry
    assert servable and servable != set(METHOD_NAMES)
    src, ref = files
    for command in ("plan", "morph"):
        assert set(option_names(command)["method"].type.choices) == servable, command
    for method in METHOD_NAMES:
        result = invoke("plan", src, ref, "-o", tmp_path / f"plan_{method}.png", "--method", method,
                        "--clusters", 4)
        assert result.exit_code == (0 if method in servable else 2), (method, result.output)


# -- item 7: --save-lut with the detail step exports the color map and says so in one line ---------


def test_save_lut_with_preserve_detail_exports_the_map_and_one_note(files, tmp_path):
    src, ref = files
    source, reference = read_image(src), read_image(ref)
    result = ok(invoke("transfer", src, ref, "-o", tmp_path / "o.png", "--method", "linear",
                       "--preserve-detail", "--save-lut", tmp_path / "x.cube"))
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "detail" in notes[0] and "not in the LUT" in notes[0]
    model = ColorTransfer(method="linear").fit(reference)
    np.testing.assert_allclose(read_cube(tmp_path / "x.cube").table, model.color_lut(source).table, atol=1e-6)
    np.testing.assert_array_equal(read_image(tmp_path / "o.png"), model.transform(source))
    plain = ok(invoke("transfer", src, ref, "-o", tmp_path / "p.png", "--method", "linear", "--no-detail",
                      "--save-lut", tmp_path / "y.cube"))
    assert "note:" not in plain.stderr


# -- item 8: PIL modes handled right or refused -----------------------------------------------------


def test_pil_float_gray_is_the_float_array_and_one_bit_files_read_as_gray(tmp_path, cool):
    ramp = np.linspace(0, 1, 48, dtype=np.float32).reshape(6, 8)
    through_pil = imgot.transfer(Image.fromarray(ramp, mode="F"), cool, method="linear")
    assert through_pil.mode == "F"
    np.testing.assert_array_equal(np.asarray(through_pil), transfer(ramp, cool, method="linear"))
    bits = np.zeros((6, 8), bool)
    bits[:, 4:] = True
    Image.fromarray(bits).save(tmp_path / "bits.png")
    assert Image.open(tmp_path / "bits.png").mode == "1"
    gray = read_image(tmp_path / "bits.png")
    assert gray.dtype == np.uint8 and gray.shape == (6, 8)
    np.testing.assert_array_equal(gray, bits * np.uint8(255))
    write_image(tmp_path / "ref.png", cool)
    ok(invoke("transfer", tmp_path / "bits.png", tmp_path / "ref.png", "-o", tmp_path / "out.png"))
    assert read_image(tmp_path / "out.png").shape == (6, 8)


def test_cli_distance_of_the_same_pixels_in_two_files_is_zero(tmp_path, rocket):
    write_image(tmp_path / "a.png", rocket)
    write_image(tmp_path / "a.tif", rocket)
    result = ok(invoke("distance", tmp_path / "a.png", tmp_path / "a.tif", "--method", "sinkhorn"))
    assert float(result.output) == 0.0
    assert "debiased" in README.lower() and "S(a, b) - (S(a, a) + S(b, b)) / 2" in README


# -- design goal (a): options defined once, with the API's defaults ---------------------------------

# Where a command's default deliberately differs from ColorTransfer's (reported in the audit).
KNOWN_DIFFERENCES = {
    ("plan", "n_clusters"): 16,  # a picture of 16 swatches per side
    ("plan", "color_space"): "lab",  # = the plan methods' own default
    ("morph", "n_clusters"): None,  # 64 for the color morph, 300 for the spatial one
    ("apply", "preserve_detail"): False,  # the LUT as an editor applies it (= apply_lut_to_image's default)
    ("normalize", "method"): "emd",  # Normalizer's default; it serves palette methods only
    ("distance", "method"): "emd",  # imgot.distance's parameters, not ColorTransfer's
    ("distance", "color_space"): "lab",
    ("distance", "max_iter"): 10000,
}


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_option_named_as_a_parameter_has_the_api_default(command):
    for name, option in option_names(command).items():
        if name not in API_DEFAULTS:
            continue
        expected = KNOWN_DIFFERENCES.get((command, name), API_DEFAULTS[name])
        assert default_of(command, option) == expected, (command, name, option.default)
        flag = CLI_NAMES.get(name, "--" + name.replace("_", "-"))
        spelled = flag in option.opts or (name == "preserve_detail" and "--preserve-detail" in option.opts)
        assert spelled, (command, name, option.opts)


def test_region_options_are_defined_once_and_offered_where_they_apply():
    names = [region_option_name(option) for option in REGION_OPTIONS]
    for name in ("ignore_color", "ignore_tolerance", "feather"):
        assert name in names and name in API_DEFAULTS
    for command in ("transfer", "batch", "compare"):
        params = option_names(command)
        for option in REGION_OPTIONS:
            name = region_option_name(option)
            reference = option(lambda: None).__click_params__[0]
            assert name in params, (command, name)
            assert params[name].help == reference.help and params[name].default == reference.default
            if name in API_DEFAULTS:
                assert params[name].default == API_DEFAULTS[name], (command, name)
    apply = set(option_names("apply")) & set(names)
    assert apply == {"apply_mask", "feather", "ignore_color", "ignore_tolerance"}


def test_morph_yields_the_same_kind_whatever_its_flags(warm, cool):
    """PIL in, PIL out; 16-bit and float keep their depth. (A gray source's spatial frames are RGB: they
    carry the reference's colors, documented in imgot.morph.)"""
    for source in (Image.fromarray(warm), warm.astype(np.uint16) * 257, warm / 255.0):
        kinds = set()
        for spatial in (False, True):
            frame = list(imgot.morph(source, cool, frames=2, spatial=spatial, n_clusters=4))[-1]
            kinds.add((type(frame), np.asarray(frame).dtype, np.asarray(frame).shape))
        assert len(kinds) == 1, kinds
