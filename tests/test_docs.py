"""The README and the docstrings say what the code does: names resolve, defaults match, examples run."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import imgot
from imgot import ColorTransfer
from imgot.batch import transfer_many
from imgot.cli import main

from .test_parity import default_of

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "imgot"
README = (ROOT / "README.md").read_text(encoding="utf-8")


# -- design goal (g): the public API, and one kind of result ----------------------------------------


def test_the_names_readme_code_uses_are_exported():
    code = "\n".join(re.findall(r"```python\n(.*?)```", README, re.S))
    names = set(re.findall(r"\bimgot\.([A-Za-z_]\w*)", code))
    names |= {"transfer_many", "ColorLUT", "color_distance", "read_cube", "write_cube"}  # the list
    for name in sorted(names):
        if name not in imgot.__all__ and ((PACKAGE / f"{name}.py").exists() or (PACKAGE / name).is_dir()):
            importlib.import_module(f"imgot.{name}")  # a submodule, as in `from imgot.cube import ...`
            continue
        assert name in imgot.__all__ and getattr(imgot, name) is not None, name


def test_every_dotted_imgot_name_in_the_readme_resolves():
    for dotted in sorted(set(re.findall(r"`(imgot(?:\.[A-Za-z_]\w*)+)", README))):
        value = imgot
        for part in dotted.split(".")[1:]:
            if not hasattr(value, part) and inspect.ismodule(value):
                importlib.import_module(f"{value.__name__}.{part}")  # a submodule not imported yet
            assert hasattr(value, part), dotted
            value = getattr(value, part)


def test_docstring_defaults_are_the_signatures():
    def documented(obj):
        found = {}
        for line in (inspect.getdoc(obj) or "").splitlines():
            match = re.match(r"^(\w+(?:, \w+)*) : .*?, default (.+)$", line)
            if match:
                found.update(dict.fromkeys(match.group(1).split(", "), match.group(2).strip()))
        return found

    checked = ((ColorTransfer, ColorTransfer.__init__), (imgot.transfer, None), (imgot.morph, None),
               (imgot.distance, None), (transfer_many, None), (imgot.Normalizer, imgot.Normalizer.__init__))
    for obj, signature in checked:
        parameters = inspect.signature(signature or obj).parameters
        for name, text in documented(obj).items():
            assert eval(text, {"inf": float("inf")}) == parameters[name].default, (obj, name, text)


# -- README: the options table and the Python API block --------------------------------------------


def test_readme_transfer_table_matches_the_command():
    section = README.split("## Command line", 1)[1].split("### Methods", 1)[0]
    params = {}
    for p in main.commands["transfer"].params:
        for opt in (*p.opts, *getattr(p, "secondary_opts", ())):
            params[opt] = p
    rows = re.findall(r"^\| `([^`]+)`[^|]* \|\s*([^|]*?)\s*\|", section, re.M)
    assert len(rows) >= 16
    for flags, default in rows:
        for flag in re.findall(r"--[a-z-]+", flags):
            assert flag in params or flag in ("--version", "--help"), flag
        name = re.findall(r"--[a-z-]+", flags)[0]
        if name in ("--version", "--help", "--output", "--color-space", "--save-lut"):
            continue
        value = {"off": False, "on": True, "": None}.get(default.strip(), default.strip().strip("`"))
        actual = default_of("transfer", params[name])
        same = str(actual) == value if isinstance(value, str) else actual == value
        assert same, (name, default, actual)


def test_readme_python_api_block_runs(tmp_path, monkeypatch):
    block = README.split("## Python API", 1)[1]
    code = re.search(r"```python\n(.*?)```", block, re.S).group(1)
    (tmp_path / "sample_images").symlink_to(ROOT / "sample_images")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    mapping = namespace["mapping"]
    assert mapping.plan.shape == (64, 64) and mapping.lut.table.shape == (33, 33, 33, 3)
    assert (tmp_path / "grade.cube").exists() and (tmp_path / "out.png").exists()
    assert namespace["same"].get_params() == namespace["model"].get_params()
