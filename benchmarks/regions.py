"""Cost of masks, an ignored color and regions (issue 13) against the plain default transfer.

Run from the repository root:

    python benchmarks/regions.py                  # 12 MP source, 3 repeats
    python benchmarks/regions.py --size 2 --repeat 5
    python benchmarks/regions.py --profile 'regions, 8 labels'   # also cProfile that row

The source is ``rocket`` upscaled to about --size MP and the reference is
``coffee`` at its own size, both made by ``peers.py prepare`` (Pillow bicubic,
JPEG q95, cached in ``benchmarks/out/inputs/``). Every row calls
``imgot.transfer`` on the decoded arrays with the default parameters except
the ones named:

1. default transfer (no masks): the peer of every ratio;
2. ``preserve_detail=False``: the fast path;
3. ``source_mask`` + ``reference_mask`` (an ellipse on each): selections only;
4. ``apply_mask`` (the source's ellipse) with ``feather`` 0, 20 and 200;
5. ``ignore_color=(0, 0, 0)`` on the source with a black frame (5% of the
   shorter side on each side);
6. ``source_labels`` + ``reference_labels``: 2, 4 and 8 horizontal bands,
   the same labels on both images;
7. the composite users do today (color-matcher's advice): a full default
   transfer, then ``src + w * (out - src)`` in numpy with the ellipse as a
   float32 weight, rounded back to uint8: the peer of row 4.

Times are medians of --repeat runs in this one process, the rows interleaved
(one run of each row per round, after a warm-up round), so a load change on a
shared machine hits every row alike; each ratio is the row's median over the
default's median of the same run. Masks, labels and the composite's weight
are built before the clocks start.

Peak RSS: rows 1, 4 (feather 200), 6 (8 labels) and 7 each run once in a
fresh process (``python benchmarks/regions.py --child ROW``) that loads the
inputs, builds that row's masks, runs it and reports
``resource.getrusage(RUSAGE_SELF).ru_maxrss``. On Linux a child's
``ru_maxrss`` starts from its parent's RSS at fork, so these children are
spawned before this parent imports numpy or loads an image. A child that
only loads the inputs and builds every mask gives the floor of those figures.

Two rows are checked against what their design promises: ``k`` regions should
cost at most about ``k`` default transfers (each region fits its own map and
maps the whole image), and ``feather=200`` about what ``feather=20`` costs
(feathers are blurred on a coarse grid). A row that misses by more than 25% is
profiled (cProfile, top 15 by cumulative time), as is any row given to
--profile.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from run import fmt, input_path, run_job

HERE = Path(__file__).resolve().parent
SOURCE, REFERENCE = "rocket", "coffee"
DEFAULT = "default transfer (no masks)"
FEATHERS = (0, 20, 200)
LABELS = (2, 4, 8)
FLOOR = "inputs loaded, masks built, no transfer"
# Rows whose peak RSS is measured in a fresh process, and the floor of those figures.
RSS_ROWS = (DEFAULT, "apply_mask, feather=200", "regions, 8 labels", "composite afterwards (default + numpy)")
SLACK = 1.25  # how far a row may miss its expected cost before it is profiled


def row_names() -> list[str]:
    """The rows of the table, in order (numbered as in the module docstring by :func:`row_number`)."""
    return ([DEFAULT, "default, detail=False", "source_mask + reference_mask"]
            + [f"apply_mask, feather={f}" for f in FEATHERS]
            + ["ignore_color=(0,0,0), black frame"]
            + [f"regions, {k} labels" for k in LABELS]
            + ["composite afterwards (default + numpy)"])


def row_number(name: str) -> str:
    """The row's number in the module docstring: 1, 2, 3, 4a-4c, 5, 6a-6c, 7."""
    names = row_names()
    groups = [names[:1], names[1:2], names[2:3], names[3:6], names[6:7], names[7:10], names[10:]]
    for number, group in enumerate(groups, 1):
        if name in group:
            return f"{number}{'abc'[group.index(name)]}" if len(group) > 1 else str(number)
    raise KeyError(name)


# --------------------------------------------------------------------------- inputs


def ellipse(shape: tuple[int, int], fill: float = 0.7):
    """A centered ellipse spanning `fill` of each side: uint8, 255 inside, 0 outside."""
    import numpy as np

    height, width = shape
    y, x = np.ogrid[:height, :width]
    dy = (y - (height - 1) / 2) / (fill * height / 2)
    dx = (x - (width - 1) / 2) / (fill * width / 2)
    inside = dy**2 + dx**2
    return np.where(inside <= 1.0, np.uint8(255), np.uint8(0))


def bands(shape: tuple[int, int], count: int):
    """`count` horizontal bands of equal height, labelled 0..count-1: int32 (H, W)."""
    import numpy as np

    height, width = shape
    rows = (np.arange(height) * count // height).astype(np.int32)
    return np.broadcast_to(rows[:, None], (height, width)).copy()


def load_inputs(size: float) -> dict:
    """The decoded source and reference, and every mask, label image and weight the rows use."""
    import numpy as np

    from imgot import io

    source = io.load_image(input_path(SOURCE, size)).pixels
    reference = io.load_image(input_path(REFERENCE, 0.0)).pixels
    shape, ref_shape = source.shape[:2], reference.shape[:2]
    framed = source.copy()
    border = round(0.05 * min(shape))
    framed[:border], framed[-border:], framed[:, :border], framed[:, -border:] = 0, 0, 0, 0
    mask = ellipse(shape)
    return {"source": source, "reference": reference, "framed": framed,
            "mask": mask, "reference_mask": ellipse(ref_shape),
            "weight": mask.astype(np.float32) / np.float32(255.0),
            "labels": {k: (bands(shape, k), bands(ref_shape, k)) for k in LABELS}}


def composite_afterwards(source, reference, weight):
    """A full default transfer, then the user's own composite through a float32 weight."""
    import numpy as np

    import imgot

    out = imgot.transfer(source, reference)
    low = source.astype(np.float32)
    mixed = low + weight[..., None] * (out.astype(np.float32) - low)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def calls(inputs: dict) -> dict:
    """Row name -> zero-argument call of that row on `inputs`."""
    import imgot

    src, ref, mask = inputs["source"], inputs["reference"], inputs["mask"]
    table = {
        DEFAULT: lambda: imgot.transfer(src, ref),
        "default, detail=False": lambda: imgot.transfer(src, ref, preserve_detail=False),
        "source_mask + reference_mask": lambda: imgot.transfer(
            src, ref, source_mask=mask, reference_mask=inputs["reference_mask"]),
    }
    for feather in FEATHERS:
        table[f"apply_mask, feather={feather}"] = (
            lambda f=feather: imgot.transfer(src, ref, apply_mask=mask, feather=f))
    table["ignore_color=(0,0,0), black frame"] = lambda: imgot.transfer(
        inputs["framed"], ref, ignore_color=(0, 0, 0))
    for count in LABELS:
        source_labels, reference_labels = inputs["labels"][count]
        table[f"regions, {count} labels"] = (
            lambda s=source_labels, r=reference_labels: imgot.transfer(
                src, ref, source_labels=s, reference_labels=r))
    table["composite afterwards (default + numpy)"] = lambda: composite_afterwards(src, ref, inputs["weight"])
    return table


# --------------------------------------------------------------------------- measuring


def child(row: str, size: float) -> int:
    """One run of `row` in this fresh process; print its wall time and peak RSS as JSON."""
    import resource

    inputs = load_inputs(size)
    start = time.perf_counter()
    if row != FLOOR:
        calls(inputs)[row]()
    print(json.dumps({"seconds": time.perf_counter() - start,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    return 0


def peak_rss(row: str, size: float) -> float | None:
    """Peak RSS (MB) of `row` run once in a fresh process; None (and a message) if it failed."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", row, "--size", str(size)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parent)
    if done.returncode != 0:
        errors = done.stderr.strip().splitlines()
        last = errors[-1] if errors else f"exit status {done.returncode}"
        print(f"  peak RSS of {row!r} failed: {last}", flush=True)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])["rss_mb"]


def timings(inputs: dict, repeat: int) -> dict[str, list[float]]:
    """`repeat` timed runs of every row, interleaved round by round after one warm-up round."""
    table = calls(inputs)
    times: dict[str, list[float]] = {name: [] for name in table}
    for round_ in range(repeat + 1):
        began = time.perf_counter()
        for name, call in table.items():
            start = time.perf_counter()
            call()
            elapsed = time.perf_counter() - start
            if round_:  # round 0 warms up: lazy imports, thread pools, page faults
                times[name].append(elapsed)
        label = "warm-up round" if round_ == 0 else f"round {round_}/{repeat}"
        print(f"  {label} done in {time.perf_counter() - began:.1f} s", flush=True)
    return times


def expected_misses(medians: dict[str, float]) -> list[tuple[str, str]]:
    """Rows that cost more than their design promises (see the module docstring), with why."""
    base, misses = medians[DEFAULT], []
    for count in LABELS:
        name = f"regions, {count} labels"
        if medians[name] > SLACK * count * base:
            misses.append((name, f"{medians[name] / base:.2f}x the default, more than {count} transfers"))
    wide, narrow = medians["apply_mask, feather=200"], medians["apply_mask, feather=20"]
    if wide > SLACK * narrow:
        misses.append(("apply_mask, feather=200", f"{wide / narrow:.2f}x feather=20"))
    return misses


def profile(name: str, call, top: int = 15) -> str:
    """cProfile one run of `call`: the `top` functions by cumulative time, as pstats prints them."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(call)
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).strip_dirs().sort_stats("cumulative").print_stats(top)
    body = text.getvalue().strip().splitlines()
    start = next((i for i, line in enumerate(body) if "ncalls" in line), 0)
    total = next((line.strip() for line in body if "function calls" in line), "")
    return "\n".join([f"#### Profile: {name} ({total})", "", "```", *body[start:], "```", ""])


# --------------------------------------------------------------------------- report


def table(medians: dict[str, float], rss: dict[str, float | None], shape, reference_shape, args) -> str:
    base = medians[DEFAULT]
    lines = [f"Source {SOURCE} {shape[1]}x{shape[0]} ({shape[0] * shape[1] / 1e6:.1f} MP), reference "
             f"{REFERENCE} {reference_shape[1]}x{reference_shape[0]}; medians of {args.repeat} interleaved "
             f"runs in one process; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}.", "",
             "| row | median s | ratio to default | peak RSS MB |", "|---|---:|---:|---:|"]
    for name in row_names():
        lines.append(f"| {row_number(name)}. {name} | {medians[name]:.3f} | {medians[name] / base:.2f}x "
                     f"| {fmt(rss.get(name), '.0f')} |")
    lines += ["", "Peak RSS: one run in a fresh process (`getrusage(RUSAGE_SELF).ru_maxrss`); a process that "
              f"only loads the inputs and builds the masks peaks at {fmt(rss.get(FLOOR), '.0f')} MB."]
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=float, default=12.0, help="megapixels of the source [12]")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per row [3]")
    parser.add_argument("--profile", action="append", default=[], metavar="ROW",
                        help=f"also cProfile this row (repeatable); rows: {'; '.join(row_names())}")
    parser.add_argument("--child", metavar="ROW", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.size > 0:
        parser.error("--size must be > 0 megapixels")
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    unknown = [row for row in args.profile + ([args.child] if args.child else [])
               if row not in row_names() + [FLOOR]]
    if unknown:
        parser.error(f"unknown row(s) {unknown}; rows: {'; '.join(row_names())}")
    return args


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.child:
        return child(args.child, args.size)
    images = [(SOURCE, args.size, str(input_path(SOURCE, args.size))),
              (REFERENCE, 0.0, str(input_path(REFERENCE, 0.0)))]
    prepared, _ = run_job("prepare", {"images": images}, "regions_prepare")
    if "error" in prepared:
        sys.exit(f"cannot prepare inputs: {prepared['error']}")
    # Fresh processes first, while this parent holds only the standard library.
    rss = {}
    for row in (FLOOR, *RSS_ROWS):
        rss[row] = peak_rss(row, args.size)
        print(f"  peak RSS {row}: {fmt(rss[row], '.0f', ' MB')}", flush=True)
    inputs = load_inputs(args.size)
    times = timings(inputs, args.repeat)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print()
    print(table(medians, rss, inputs["source"].shape, inputs["reference"].shape, args))
    misses = expected_misses(medians)
    for name, why in misses:
        print(f"\n{name}: {why} (> {SLACK:g}x what it should cost): profiled below.")
    table_calls = calls(inputs)
    for name in dict.fromkeys([name for name, _ in misses] + args.profile):
        print()
        print(profile(name, table_calls[name]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
