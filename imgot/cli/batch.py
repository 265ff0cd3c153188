"""``imgot batch``: recolor a folder, a glob or a frame sequence toward one reference."""

from __future__ import annotations

import csv
import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import click

from .options import (
    ERRORS,
    LUT_METHODS,
    check_hald_level,
    fail,
    guard_outputs,
    lut_note,
    overwrite_option,
    quality_option,
    save_lut_option,
    transfer_options,
    warning_lines,
)
from .region_options import files as region_files
from .region_options import check_feather, region_options

FAILURES_NAME = "imgot_failures.csv"
DASK_MISSING = "Dask is not installed; pip install 'imgot[dask]' to use --scheduler or --dask-local"


def _fit_on(ctx, param, value: str | None):
    if value is None or value in ("first", "pooled"):
        return value
    if not Path(value).is_file():
        raise click.BadParameter(f"{value!r} is neither 'first', 'pooled' nor an existing image file")
    return Path(value)


def _report_path(ctx, param, value: Path | None) -> Path | None:
    if value is not None and value.suffix.lower() not in (".csv", ".json"):
        raise click.BadParameter(f"{value.name!r} must end in .csv or .json")
    return value


def _format(ctx, param, value: str | None) -> str | None:
    """``--format``: an extension imgot can write, else a usage error (exit 2)."""
    if value is None:
        return None
    from ..discovery import _output_suffix

    try:
        _output_suffix(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    return value


def write_failures(path: Path, failures: list) -> None:
    """Write the failed results as CSV or JSON (by extension), atomically: path and reason."""
    import io

    from ..atomic import atomic_write

    rows = [{"path": str(result.input), "reason": result.reason} for result in failures]
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        text = json.dumps(rows, indent=2) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["path", "reason"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    with atomic_write(path, overwrite=True, what="failures report") as temp:
        Path(temp).write_text(text, encoding="utf-8")


@contextmanager
def dask_client(scheduler: str | None, local: bool, jobs: int | None):
    """A distributed.Client on `scheduler`, on a new LocalCluster, or None."""
    if not scheduler and not local:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise click.ClickException(DASK_MISSING) from None
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=jobs, threads_per_worker=1) as cluster, Client(cluster) as client:
        yield client


def _progress(total: int, label: str = "imgot batch"):
    start = time.perf_counter()
    bar = click.progressbar(length=total, label=label, file=sys.stderr,
                            show_pos=True, show_eta=True)

    def rate(_item: int | None) -> str:
        elapsed = time.perf_counter() - start
        return f"{bar.pos / elapsed:.1f} img/s" if elapsed > 0 and bar.pos else ""

    bar.item_show_func = rate
    return bar


def _run(results, total: int, label: str = "imgot batch") -> tuple[dict, list, set]:
    counts = {"done": 0, "skipped": 0, "failed": 0}
    failures, messages = [], set()
    with _progress(total, label) as bar:
        for result in results:
            counts[result.status] += 1
            messages.update(result.warnings)
            if result.status == "failed":
                failures.append(result)
            bar.update(1, result)
    return counts, failures, messages


@click.command()
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True)
@click.option("-r", "--reference", required=True, type=click.Path(path_type=Path),
              help="Image whose colors to take.")
@click.option("-o", "--out-dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder; the inputs' sub-folders and file names are kept.")
@click.option("--fit-on", callback=_fit_on, metavar="FILE|first|pooled",
              help="One color map for all images (frame sequences): fitted on FILE, on the first "
                   "input, or on pixels pooled across the inputs. [default: one map per image]")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes. [default: cores]")
@overwrite_option("Redo outputs that exist (otherwise they are skipped).")
@click.option("--format", "format", metavar="EXT", callback=_format,
              help="Write every output as EXT (png, jpg, tif...). "
              "[default: each input's own]")
@click.option("--failures", type=click.Path(dir_okay=False, path_type=Path), callback=_report_path,
              help=f"Failures report, .csv or .json. [default: OUT_DIR/{FAILURES_NAME}, if any failed]")
@click.option("--scheduler", metavar="tcp://HOST:PORT", help="Run on this Dask scheduler (shared files).")
@click.option("--dask-local", is_flag=True, help="Run on a local Dask cluster (LocalCluster).")
@quality_option()
@save_lut_option("With --fit-on, also write the one fitted color map as a 3-D LUT to this file: .cube "
                 "(--lut-size points per axis) or .png (HaldCLUT, --hald-level).")
@transfer_options()
@click.option("--mask-pattern", metavar="PATTERN", default=None,
              help="Each image's own mask, found by a pattern such as '{stem}_mask.png' or 'masks/{name}' "
                   "(relative to the image's folder): its colors come from inside the mask and only the "
                   "inside is recolored (--source-mask and --apply-mask in one).")
@region_options
@warning_lines()
def batch(inputs, out_dir, failures, scheduler, dask_local, jobs, save_lut, hald_level, mask_pattern, selection,
          **options):
    """Recolor every image of INPUT (a folder, a glob, or files) toward --reference.

    Existing outputs are skipped, so a rerun resumes an interrupted batch. A file
    that fails is listed in the failures report and the others are still done;
    the exit code is then 1.

    \b
    Examples:
      imgot batch photos/ -r look.jpg -o photos_graded/ --jobs 4
      imgot batch 'shot01/*.png' -r grade.png -o shot01_graded/ --fit-on first
      imgot batch dataset/ -r look.jpg -o out/ --scheduler tcp://10.0.0.5:8786
      imgot batch 'shot01/*.png' -r grade.png -o out/ --fit-on pooled --save-lut shot01.cube
      imgot batch products/ -r look.jpg -o out/ --mask-pattern '{stem}_mask.png' --feather 4
      imgot batch scenes/ -r ref.tif -o out/ --ignore-color 0,0,0

    --source-mask, --apply-mask and the first file of --regions may be one
    file for all images or a pattern ({stem}, {name}, {parent}) naming each
    image's own; files that are some image's mask are not recolored.
    """
    from ..batch import transfer_many
    from ..discovery import find_inputs

    hald_level = check_hald_level(save_lut, hald_level)
    if scheduler and dask_local:
        raise click.UsageError("give --scheduler or --dask-local, not both")
    if options["fit_on"] is not None and options["method"] not in LUT_METHODS:
        method = options["method"]
        raise click.UsageError(f"--fit-on fits one color map for all images, and --method {method} is not a "
                               f"single 3-D LUT; LUT methods: {', '.join(LUT_METHODS)}")
    if save_lut and options["fit_on"] is None:
        raise click.UsageError("--save-lut writes one map for all images: add --fit-on first|pooled|FILE")
    if mask_pattern is not None:
        if selection["source_mask"] is not None or selection["apply_mask"] is not None:
            raise click.UsageError("--mask-pattern is --source-mask and --apply-mask in one: give one or the others")
        selection.update(source_mask=mask_pattern, apply_mask=mask_pattern)
    check_feather(selection, options)
    if options["fit_on"] is not None and (selection["source_mask"] or selection.get("source_labels")):
        raise click.UsageError("--fit-on fits one map for all images: --source-mask, --mask-pattern and "
                               "--regions select each image's own colors (use --apply-mask)")
    source = inputs[0] if len(inputs) == 1 else list(inputs)
    try:
        found = (path for path, _ in find_inputs(source, exclude=out_dir))
        if save_lut:
            found = list(found)
            fit_file = options["fit_on"] if isinstance(options["fit_on"], Path) else None
            guard_outputs((save_lut,), (options["reference"], fit_file, *found, *region_files(selection)),
                          options["overwrite"])
        total = sum(1 for _ in found)
        with dask_client(scheduler, dask_local, jobs) as client:
            results = transfer_many(source, options.pop("reference"), out_dir, client=client, jobs=jobs,
                                    save_lut=save_lut, hald_level=hald_level, **selection, **options)
            counts, failed, messages = _run(results, total)
    except ERRORS as error:
        raise fail(error) from None
    for message in sorted(messages):
        click.echo(f"warning: {message}", err=True)
    click.echo(", ".join(f"{status} {count}" for status, count in counts.items()), err=True)
    if save_lut:
        click.echo(f"lut: {save_lut}", err=True)
        note = lut_note(save_lut, options["preserve_detail"], options["preserve_luminance"],
                        selection["apply_mask"] is not None or options["ignore_color"] is not None,
                        saturation=options["saturation"], protect_skin=options["protect_skin"])
        if note:
            click.echo(note, err=True)
    report = failures or out_dir / FAILURES_NAME
    try:
        if failed or failures:
            write_failures(report, failed)
            click.echo(f"failures: {report}", err=True)
        elif report.exists():  # a stale report from an earlier run that had failures
            report.unlink()
    except ERRORS as error:
        raise fail(error) from None
    if failed:
        raise SystemExit(1)
