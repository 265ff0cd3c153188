"""Sinkhorn's entropic regularization on a small allocation problem.

Eight people want r = [3, 3, 3, 4, 2, 2, 2, 1] portions; five desserts come in
amounts c = [4, 2, 6, 4, 4] (20 portions on each side). M[i, j] in -2 .. 2 is
how much person i likes dessert j; the cost is -M. The regularized plan
``P = diag(u) exp(-lambda * cost) diag(v)`` is Sinkhorn's, with reg = 1 /
lambda in POT's ``ot.sinkhorn``:

- small lambda (0.1): preferences barely matter, and every person's share is
  spread in proportion to c (the plan tends to ``r c^T / 20``);
- large lambda (10): the plan follows the preferences, and as lambda grows it
  tends to an exact optimal plan. This problem has several optimal plans
  (same total preference, 24): Sinkhorn tends to the one of largest entropy,
  which need not be the vertex ``ot.emd`` returns, so the limit is checked on
  the cost, and on the plan being optimal.

The plans are in portions (r and c are divided by 20 for POT, the plan
multiplied back). They are printed, with the lambda sweep the textbook shows
(lambda = 0.1, 1, 3, 10 and 50, from nearly uniform shares to the
preferences). With matplotlib installed it also saves ``desserts.png``: one
panel of stacked bars (one per person, one color per dessert) for each lambda
and for the exact plan; without it, one line says so.

Run: ``python examples/sinkhorn_desserts.py [OUT_DIR]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

R = np.array([3, 3, 3, 4, 2, 2, 2, 1], dtype=float)
C = np.array([4, 2, 6, 4, 4], dtype=float)
M = np.array([
    [2, 2, 1, 0, 0], [0, -2, -2, -2, -2], [1, 2, 2, 2, -1], [2, 1, 0, 1, -1],
    [0.5, 2, 2, 1, 0], [0, 1, 1, 1, -1], [-2, 2, 2, 1, 1], [2, 1, 2, 1, -1],
])
PEOPLE = [f"person {k + 1}" for k in range(len(R))]
DESSERTS = ["merveilleux", "eclair", "chocolate mousse", "bavarois", "carrot cake"]


def sinkhorn_plan(lam: float) -> np.ndarray:
    """The entropic plan, in portions, for exp(-lam * cost); log domain, so any lam works."""
    import ot

    total = R.sum()
    plan = ot.sinkhorn(R / total, C / total, -M, 1.0 / lam, method="sinkhorn_log",
                       numItermax=100_000, stopThr=1e-12)
    return plan * total


def exact_plan() -> np.ndarray:
    """The optimal (unregularized) plan, in portions."""
    import ot

    total = R.sum()
    return ot.emd(R / total, C / total, -M) * total


def draw(plans: dict[str, np.ndarray], path: Path) -> None:
    """One panel per plan, one stacked bar per person, one color per dessert."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3.2 * len(plans), 3.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(plans), sharey=True)
    colors = ["#e4b363", "#8c5e3c", "#4b2e2a", "#d96c75", "#e88d3f"]
    for ax, (title, plan) in zip(axes, plans.items()):
        bottom = np.zeros(len(R))
        for j, name in enumerate(DESSERTS):
            ax.bar(range(len(R)), plan[:, j], bottom=bottom, color=colors[j], label=name)
            bottom += plan[:, j]
        ax.set_title(title)
        ax.set_xticks(range(len(R)), [str(k + 1) for k in range(len(R))])
        ax.set_xlabel("person")
    axes[0].set_ylabel("portions")
    axes[0].set_ylim(0, R.max() + 0.5)
    axes[-1].legend(fontsize=8, loc="upper right")
    figure.tight_layout()
    figure.savefig(path)


SWEEP = (0.1, 1.0, 3.0, 10.0, 50.0)


def main(out_dir=".") -> dict:
    """Compute and print the plans of the lambda sweep, draw them if matplotlib is there.

    Returns the plans, and the chart's path (None without matplotlib).
    """
    plans = {f"lambda = {lam:g}": sinkhorn_plan(lam) for lam in SWEEP}
    plans["exact (ot.emd)"] = exact_plan()
    with np.printoptions(precision=2, suppress=True):
        for title, plan in plans.items():
            print(f"{title}: total preference {np.sum(plan * M):.2f}\n{plan}")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("matplotlib is not installed: no chart (pip install 'imgot[plot]' to draw desserts.png)")
        return {"plans": plans, "chart": None}
    path = Path(out_dir) / "desserts.png"
    draw(plans, path)
    print(path)
    return {"plans": plans, "chart": path}


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
