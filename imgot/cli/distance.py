"""``imgot distance``: Wasserstein distance between two images or two groups of images."""

from __future__ import annotations

from pathlib import Path

import click

from ..distances import DISTANCE_METHODS
from .options import (
    COLOR_SPACES,
    ERRORS,
    FiniteFloat,
    fail,
    guard_outputs,
    image_output,
    max_iter_option,
    overwrite_option,
    seed_option,
    warning_lines,
)


def expand_images(spec: str) -> list[Path]:
    """The image files named by `spec`: a file, a folder (its images, recursively) or a glob pattern.

    Found as every command finds its inputs (:func:`imgot.discovery.find_inputs`).
    """
    from ..discovery import find_inputs

    try:
        found = [path for path, _ in find_inputs(spec)]
    except ERRORS as error:
        raise fail(error) from None
    if not found:  # an empty folder, or a pattern that matches no image file
        what = "no image files in this folder" if Path(spec).is_dir() else "no file matches this pattern"
        raise click.ClickException(f"{spec}: {what}")
    return found


def labels_for(paths: list[Path]) -> list[str]:
    """File names, or the paths as given when two files share a name."""
    names = [p.name for p in paths]
    return names if len(set(names)) == len(names) else [str(p) for p in paths]


@click.command()
@click.argument("group_a", metavar="A")
@click.argument("group_b", metavar="[B]", required=False)
@click.option("--gray", is_flag=True,
              help="Compare gray-level histograms (exact, all pixels) instead of colors.")
@click.option("--method", type=click.Choice(DISTANCE_METHODS), default="emd", show_default=True,
              help="Exact transport between palettes, debiased Sinkhorn divergence (0 for identical "
                   "inputs), or sliced on pixel samples.")
@click.option("--p", "p", type=click.Choice(["1", "2"]), default="2", show_default=True,
              help="Order of the Wasserstein distance (cost |x - y|^p).")
@click.option("--color-space", type=click.Choice(COLOR_SPACES), default="lab", show_default=True,
              help="Space of the colors, and unit of the result.")
@click.option("--clusters", "n_clusters", type=click.IntRange(min=1), default=64, show_default=True,
              help="Palette size for emd and sinkhorn (gray levels are always exact).")
@click.option("--reg", type=FiniteFloat(0, low_open=True), default=0.01, show_default=True,
              help="Sinkhorn regularization, relative to the median cost.")
@max_iter_option(10_000, solvers="--method sinkhorn")
@seed_option("Seed of the sampling, k-means and projections.")
@click.option("--pairwise", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the distance of every image against every other (A and B) to this CSV.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path),
              callback=image_output,
              help="Draw that matrix as a heat map (PNG, ...); needs matplotlib.")
@overwrite_option("Replace existing --pairwise/--plot files.")
@warning_lines()
def distance(group_a, group_b, pairwise, plot, overwrite, p, **options):
    """Wasserstein distance between the colors (or gray levels) of A and B.

    A and B are image files, folders (searched recursively) or quoted glob
    patterns; a group is compared through its pooled distribution, each
    image weighing the same. The distance is printed on stdout (Lab: in L*
    units; --gray: in 8-bit gray levels). --method sinkhorn is the debiased
    Sinkhorn divergence, 0 for identical inputs. With --pairwise or --plot,
    B may be left out.

    \b
    Example:
      imgot distance rocket.jpg coffee.jpg --method sliced
      imgot distance healthy/ pneumonia/ --gray --p 1
      imgot distance 'scans/*.png' --gray --pairwise d.csv --plot d.png
    """
    from .. import io
    from ..distances import distance as wasserstein
    from ..distances import pairwise_distances
    from ..frames import read_for_fit
    from ..planview import draw_heatmap, matrix_csv

    if options["gray"] and options["method"] == "sinkhorn":
        raise click.UsageError("--gray compares gray levels exactly; --method sinkhorn applies to colors only")
    if group_b is None and not (pairwise or plot):
        raise click.UsageError("give B, or --pairwise/--plot to compare the images of A with each other")
    if pairwise and plot and pairwise.resolve() == plot.resolve():
        raise click.UsageError("--pairwise and --plot must be different files")
    paths_a = expand_images(group_a)
    paths_b = expand_images(group_b) if group_b is not None else []
    guard_outputs((pairwise, plot), paths_a + paths_b, overwrite)
    options["p"] = int(p)
    try:
        cache = {path: read_for_fit(path) for path in dict.fromkeys(paths_a + paths_b)}  # a GIF: all its frames
        if group_b is not None:
            value = wasserstein([cache[q] for q in paths_a], [cache[q] for q in paths_b], **options)
            click.echo(f"{value:.6g}")
        if pairwise or plot:
            paths = list(cache)
            labels = labels_for(paths)
            matrix = pairwise_distances([cache[q] for q in paths], **options)
            if pairwise:
                matrix_csv(matrix, labels, labels, pairwise, overwrite=overwrite)
                click.echo(str(pairwise))
            if plot:
                unit = "gray levels" if options["gray"] else options["color_space"]
                title = f"W{options['p']} ({'exact' if options['gray'] else options['method']}, {unit})"
                picture = draw_heatmap(matrix, labels, title=title)
                io.write_image(plot, picture, overwrite=overwrite, protect=paths)
                click.echo(str(plot))
    except (*ERRORS, ImportError) as error:
        raise fail(error) from None
