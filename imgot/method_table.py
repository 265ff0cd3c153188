"""The facts about each method, in one table that every consumer reads.

What a method *is* (its name, its default working space, whether its map is
one 3-D LUT, whether it has a palette plan, whether a fitted model can be
saved, which method-specific settings it reads, a one-line summary) lives
here, once. :mod:`imgot.methods` builds the registry of fit/map functions on
it; the CLI's choices and help, the page's sliders (:mod:`imgot.serve`), the
Normalizer and :mod:`imgot.transport` read it. Only the standard library is
imported, so ``imgot --help`` can list the methods without loading a solver.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "COMPOSITES", "DEFAULT_METHOD", "LUT_METHODS", "METHOD_NAMES", "METHOD_TABLE", "MethodInfo", "PALETTE_METHODS",
    "PLAN_METHODS", "SAVABLE_METHODS", "method_help",
]


@dataclass(frozen=True)
class MethodInfo:
    """What one method is.

    Attributes
    ----------
    name : str
    summary : str
        One line for the help.
    color_space : str
        Default working space (``'lab'`` or ``'rgb'``).
    is_lut : bool
        Its color map is one 3-D LUT (``color_lut``, ``--save-lut``, ``batch --fit-on``).
    has_plan : bool
        It has a palette plan (``color_map``, ``imgot plan``, the color morph).
    palette : bool
        Its whole reference state is a palette (``fit_palette``, the Normalizer,
        the optimal transport solvers of :mod:`imgot.transport`).
    savable : bool
        A fitted model can be saved (``ColorTransfer.save``).
    settings : tuple of str
        The method-specific parameters it reads (beyond the shared ones).
    stages : tuple of str
        For a composite, the methods it applies in turn; empty otherwise.
    """

    name: str
    summary: str
    color_space: str = "lab"
    is_lut: bool = True
    has_plan: bool = False
    palette: bool = False
    savable: bool = False
    settings: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()


# The default: the palette plan places the colors, sliced OT refines their
# spread, and the finishing step (``preserve_detail=True``, also a default)
# keeps the source's fine texture. It is a method plus a finishing step, not a
# method of its own, because the detail step is spatial and cannot live in a LUT.
DEFAULT_METHOD = "emd-sliced"
# Random rotations of the sliced methods. 12 score the same as 20 on the benchmark
# pairs (color distance, structure, chroma, blotches within seed noise, for both
# `sliced` and `emd-sliced`; benchmarks/RESULTS.md) at 60% of the sorting.
DEFAULT_ROTATIONS = 12

METHOD_TABLE: dict[str, MethodInfo] = {info.name: info for info in (
    MethodInfo("emd", "exact OT between k-means palettes (ot.emd)",
               has_plan=True, palette=True, savable=True, settings=("n_clusters",)),
    MethodInfo("sinkhorn", "entropic OT between palettes (Sinkhorn, log domain)",
               has_plan=True, palette=True, savable=True, settings=("n_clusters", "reg")),
    MethodInfo("unbalanced", "unbalanced Sinkhorn between palettes: reg_m lets shares differ",
               has_plan=True, palette=True, savable=True, settings=("n_clusters", "reg", "reg_m")),
    MethodInfo("histogram", "exact per-channel histogram matching (1-D OT per channel, all pixels)",
               color_space="rgb", is_lut=False),
    MethodInfo("linear", "Gaussian OT map, Monge-Kantorovich linear (MKL)"),
    MethodInfo("reinhard", "per-channel mean and std (diagonal linear map)"),
    MethodInfo("sliced", "iterative sliced OT (Pitie's IDT) on samples, smoothed into a LUT", settings=("n_iter",)),
    MethodInfo("emd-sliced", "emd, then sliced OT from its result: the closest colors, one LUT (default)",
               has_plan=True, savable=True, settings=("n_clusters", "n_iter")),
    MethodInfo("histogram-linear-histogram", "histogram, linear, histogram in turn (color-matcher's hm-mkl-hm)",
               color_space="rgb", is_lut=False, stages=("histogram", "linear", "histogram")),
)}

METHOD_NAMES: tuple[str, ...] = tuple(METHOD_TABLE)
COMPOSITES: dict[str, tuple[str, ...]] = {name: info.stages for name, info in METHOD_TABLE.items() if info.stages}
PALETTE_METHODS: tuple[str, ...] = tuple(name for name, info in METHOD_TABLE.items() if info.palette)
PLAN_METHODS: tuple[str, ...] = tuple(name for name, info in METHOD_TABLE.items() if info.has_plan)
LUT_METHODS: tuple[str, ...] = tuple(name for name, info in METHOD_TABLE.items() if info.is_lut)
SAVABLE_METHODS: tuple[str, ...] = tuple(name for name, info in METHOD_TABLE.items() if info.savable)


def method_help(names: tuple[str, ...] = METHOD_NAMES) -> str:
    """The methods' summaries as one help paragraph, the default first.

    >>> method_help(("emd", "linear"))
    'emd: exact OT between k-means palettes (ot.emd); linear: Gaussian OT map, Monge-Kantorovich linear (MKL).'
    """
    ordered = sorted(names, key=lambda name: name != DEFAULT_METHOD)
    return "; ".join(f"{name}: {METHOD_TABLE[name].summary}" for name in ordered) + "."
