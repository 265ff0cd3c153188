"""``imgot normalize``: one look for a dataset, the Wasserstein barycenter of its palettes."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..method_table import PALETTE_METHODS
from .batch import FAILURES_NAME, _report_path, _run, dask_client, write_failures
from .options import FiniteFloat, fail, overwrite_option, quality_option, transfer_options, warning_lines

NORMALIZE_METHODS = PALETTE_METHODS  # = imgot.normalize.NORMALIZE_METHODS: the palette methods
REPORT_SAMPLE = 200


def _fit_images(target: str, inputs, out_dir: Path, fit_images: int | None) -> list:
    """The images the barycenter is fitted on: the inputs (or N spread over them), or a template."""
    from ..discovery import find_inputs

    if target != "barycenter":
        return [path for path, _ in find_inputs(target)]
    paths = [path for path, _ in find_inputs(inputs, exclude=out_dir)]
    if fit_images and fit_images < len(paths):
        paths = [paths[int(i)] for i in sorted(set(map(round, _spread_indices(len(paths), fit_images))))]
    return paths


def _spread_indices(total: int, count: int):
    import numpy as np

    return np.linspace(0, total - 1, count)


@click.command()
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True)
@click.option("-o", "--out-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder; the inputs' sub-folders and file names are kept.")
@click.option("--target", default="barycenter", show_default=True, metavar="barycenter|FILE|DIR|MODEL.npz",
              help="Normalize toward the inputs' barycenter, a template image, the barycenter of a "
                   "template folder, or a barycenter saved with --save-barycenter.")
@click.option("--fit-images", type=click.IntRange(min=1), metavar="N",
              help="Fit the barycenter on N images spread over the inputs, apply it to all.")
@click.option("--fit-sample", type=click.IntRange(min=1), metavar="N", hidden=True,
              help="Deprecated name of --fit-images (N images; n_samples counts pixels).")
@click.option("--weights", type=click.Choice(("equal", "pixels")), default="equal", show_default=True,
              help="Weight of each image in the barycenter.")
@click.option("--save-barycenter", type=click.Path(dir_okay=False, path_type=Path),
              help="Save the fitted barycenter (.npz) for reuse with --target.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), callback=_report_path,
              help="Per-image distance to the barycenter before and after, .csv or .json (summary printed).")
@click.option("--sheet", type=click.Path(dir_okay=False, path_type=Path),
              help="Contact sheet of a few images before and after (PNG).")
@click.option("--save-luts", type=click.Path(file_okay=False, path_type=Path),
              help="Also write each image's color map as a .cube LUT under this folder (the detail step "
                   "of --preserve-detail is not in a LUT).")
@click.option("--scheduler", metavar="tcp://HOST:PORT", help="Run on this Dask scheduler (shared files).")
@click.option("--dask-local", is_flag=True, help="Run on a local Dask cluster (LocalCluster).")
@click.option("--method", type=click.Choice(NORMALIZE_METHODS), default="emd", show_default=True,
              help="Transport onto the barycenter palette; unbalanced lets images keep their color shares.")
@transfer_options(only=("n_clusters", "color_space", "reg", "reg_m", "max_iter", "strength", "preserve_luminance",
                        "preserve_detail", "random_state"))
@click.option("--background", type=FiniteFloat(0, 1, low_open=True), default=None, metavar="LEVEL",
              help="Pixels whose lightness (luma, lightly blurred) is at least LEVEL (a fraction of full "
                   "scale, e.g. 0.85 for slides on white glass) are background: they count in no palette and keep their colors. "
                   "[default: none, every pixel is normalized]")
@click.option("--min-content", type=FiniteFloat(0, 1), default=None, metavar="SHARE",
              help="With --background, the content share an image needs to be fitted on and normalized; "
                   "an image with less (an empty tile) is copied unchanged. [default: 0.05]")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes. [default: cores]")
@overwrite_option("Redo outputs that exist (otherwise they are skipped).")
@quality_option()
@warning_lines()
def normalize(inputs, out_dir, target, fit_images, fit_sample, save_barycenter, report, sheet, save_luts, scheduler,
              dask_local, jobs, overwrite, quality, **options):
    """Recolor every image of INPUT toward one common look: the barycenter of their palettes.

    The barycenter is the average of the images' color distributions along
    their transport paths (a free-support Wasserstein barycenter); each image
    is then transported onto it. Existing outputs are skipped, so a rerun
    resumes; failures are listed in OUT_DIR/imgot_failures.csv (exit code 1).

    \b
    Examples:
      imgot normalize slides/ -o slides_normalized/ --report spread.csv --sheet sheet.png
      imgot normalize slides/ -o out/ --fit-images 50 --save-barycenter look.npz
      imgot normalize new_slides/ -o out2/ --target look.npz --method unbalanced
      imgot normalize tiles/ -o tiles_normalized/ --background 0.85 --min-content 0.1

    With --background, near-white pixels (glass) count in no palette and keep
    their colors, and an image with too little content (an empty tile) is
    neither fitted on nor changed.
    """
    from ..batch import transfer_many
    from ..discovery import find_inputs
    from ..exceptions import ImgotError
    from ..normalize import Normalizer, load_normalizer

    if fit_sample is not None:  # the old name, for a release
        click.echo("warning: --fit-sample is deprecated; use --fit-images", err=True)
        fit_images = fit_images if fit_images is not None else fit_sample
    if scheduler and dask_local:
        raise click.UsageError("give --scheduler or --dask-local, not both")
    if options["min_content"] is None:
        options.pop("min_content")
    elif options["background"] is None:
        raise click.UsageError("--min-content is the content share of --background: give --background LEVEL")
    source = inputs[0] if len(inputs) == 1 else list(inputs)
    for path in (save_barycenter, report, sheet):
        if path is not None and path.exists() and not overwrite:
            raise click.ClickException(f"{path}: exists; pass --overwrite to replace it")
    try:
        if target.lower().endswith(".npz"):
            model = load_normalizer(target)
        else:
            model = Normalizer(**options).fit(_fit_images(target, source, out_dir, fit_images))
        if save_barycenter:
            model.save(save_barycenter, overwrite=overwrite)
        pairs = list(find_inputs(source, exclude=out_dir))
        with dask_client(scheduler, dask_local, jobs) as client:
            results = transfer_many([p for p, _ in pairs] if not isinstance(source, str) else source,
                                    model.transfer_, out_dir, jobs=jobs, overwrite=overwrite, quality=quality,
                                    client=client)
            counts, failed, messages = _run(results, len(pairs), "imgot normalize")
        done = [(path, out_dir / relative) for path, relative in pairs if (out_dir / relative).exists()]
        if save_luts:
            _write_luts(model, pairs, save_luts, overwrite)
        if report or sheet:
            summary = _report(model, done, report, sheet, options["random_state"])
    except (ImgotError, ValueError, TypeError, OSError) as error:
        raise fail(error) from None
    for message in sorted(messages):
        click.echo(f"warning: {message}", err=True)
    click.echo(", ".join(f"{status} {count}" for status, count in counts.items()), err=True)
    if report or sheet:
        click.echo(summary, err=True)
    if failed:
        write_failures(out_dir / FAILURES_NAME, failed)
        click.echo(f"failures: {out_dir / FAILURES_NAME}", err=True)
        raise SystemExit(1)


def _report(model, done, report: Path | None, sheet: Path | None, seed: int) -> str:
    import csv

    from ..sheet import spread_report

    result = spread_report(model, done[:REPORT_SAMPLE], random_state=seed)
    if report:
        if report.suffix.lower() == ".json":
            report.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        else:
            with report.open("w", newline="", encoding="utf-8") as stream:
                writer = csv.DictWriter(stream, fieldnames=["input", "output", "before", "after"])
                writer.writeheader()
                writer.writerows(result["images"])
    if sheet:
        import numpy as np

        from .. import io
        from ..sheet import normalize_sheet

        io.write_image(sheet, np.asarray(normalize_sheet(model, done[:6])), overwrite=True)
    s = result["summary"]
    return (f"distance to the barycenter: median {s['before_median']:.2f} -> {s['after_median']:.2f}, "
            f"p90 {s['before_p90']:.2f} -> {s['after_p90']:.2f}; pairwise median "
            f"{s['pairwise_before_median']:.2f} -> {s['pairwise_after_median']:.2f} ({s['images']} images)")


def _write_luts(model, pairs, folder: Path, overwrite: bool) -> None:
    """Each input's color map toward the barycenter as FOLDER/RELATIVE.cube."""
    from ..cube import write_cube
    from ..frames import read_for_fit

    for path, relative in pairs:
        target = folder / relative.with_suffix(".cube")
        if target.exists() and not overwrite:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        lut = model.color_lut(read_for_fit(path))  # a GIF's map is its frames' (imgot.frames)
        write_cube(target, lut, title=f"imgot normalize {relative.name}"[:200].replace('"', "'"),
                   overwrite=overwrite)
