"""Architecture rules: the imports form floors, not loops; POT lives in one module; building blocks once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import imgot

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "imgot"


# -- design goals (c), (d), (e): building blocks once, modules where they belong ---------------------


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("")
        parts = list(relative.parts)
        package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
        name = ".".join(parts if parts[-1] != "__init__" else parts[:-1])
        yield path, name, package, ast.parse(path.read_text(encoding="utf-8"))


def _relative_target(node: ast.ImportFrom, package: list[str]) -> str:
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(tree, package, top_level_only: bool) -> set[str]:
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.level:
            target = _relative_target(node, package)
            found |= {target} if node.module else {f"{target}.{alias.name}" for alias in node.names}
    return found


def _cycles(graph: dict) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    graph = {module: {t for t in targets if t in graph and t != module} for module, targets in graph.items()}
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    return found


def test_only_transport_imports_pot():
    importers = set()
    for path, _, _, tree in _modules():
        for node in ast.walk(tree):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            if any(name == "ot" or name.startswith("ot.") for name in names):
                importers.add(path.relative_to(PACKAGE).as_posix())
    # cli/options.py only preloads POT in a background thread, to overlap its import with decoding.
    assert importers - {"cli/options.py"} == {"transport.py"}


def test_the_two_sliced_w2_in_cielab_agree(rocket, coffee):
    from imgot.metrics import color_distance

    assert imgot.distance(rocket, coffee, method="sliced", n_samples=20000) == \
        pytest.approx(color_distance(rocket, coffee), rel=1e-6)


def test_colour_science_is_not_taken_from_metrics():
    for path, _, package, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level and \
                    _relative_target(node, package) == "imgot.metrics":
                private = [alias.name for alias in node.names if alias.name.startswith("_")]
                assert not private, (path.name, private)


def test_module_level_imports_have_no_cycle():
    graph = {name: _imports(tree, package, top_level_only=True) for _, name, package, tree in _modules()}
    assert _cycles(graph) == []


def test_cli_modules_have_no_cycle_even_through_function_level_imports():
    graph = {name: _imports(tree, package, top_level_only=False) for _, name, package, tree in _modules()
             if name.startswith("imgot.cli")}
    assert len(graph) > 10 and _cycles(graph) == []


def test_no_import_cycle_even_through_function_level_imports():
    graph = {name: _imports(tree, package, top_level_only=False) for _, name, package, tree in _modules()}
    assert _cycles(graph) == []


def test_every_exception_is_exported():
    import imgot.exceptions

    classes = {name for name, value in vars(imgot.exceptions).items()
               if isinstance(value, type) and issubclass(value, Exception) and value.__module__ == "imgot.exceptions"}
    assert classes == set(imgot.exceptions.__all__)
    assert all(getattr(imgot, name) is getattr(imgot.exceptions, name) for name in classes)
    assert classes <= set(imgot.__all__)
