"""Benchmark the default's finishing route: the LUT on the detail step's sample only, or on every pixel.

Run from the repository root:

    python benchmarks/lut_on_sample.py

With the chroma filter on (the default), every output pixel of the detail
step is made from its source color and the smoothed coefficients, so the
color map is needed only on the filters' sampled lattice. This script times,
in one process and interleaved (paired medians), :func:`imgot.recolor.finish`
given the full-size mapped image against the same call given the LUT as a
function of colors, on a 12 MP upscale of a bundled sample, and checks that
both give the same bytes.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from imgot.pixels import as_pixels
from imgot.recolor import apply_lut, finish, lut_on_colors
from imgot.transfer import ColorTransfer

ROOT = Path(__file__).resolve().parent.parent
SIZE = (4240, 2832)
REPEATS = int(os.environ.get("IMGOT_BENCH_REPEATS", "7"))


def main() -> int:
    rocket = Image.open(ROOT / "sample_images" / "rocket.jpg").convert("RGB")
    source = np.asarray(rocket.resize(SIZE, Image.BICUBIC))
    reference = np.asarray(Image.open(ROOT / "sample_images" / "coffee.jpg").convert("RGB"))
    pixels = as_pixels(source)
    lut = ColorTransfer().fit(reference).color_lut(source)

    def full_size() -> np.ndarray:
        return finish(pixels, apply_lut(lut, pixels), preserve_detail=True, preserve_luminance=False)

    def on_sample() -> np.ndarray:
        return finish(pixels, lut_on_colors(lut, pixels), preserve_detail=True, preserve_luminance=False)

    if not np.array_equal(full_size(), on_sample()):
        raise SystemExit("the two routes differ")
    full_times, sample_times = [], []
    for _ in range(REPEATS):
        for route, times in ((full_size, full_times), (on_sample, sample_times)):
            start = time.perf_counter()
            route()
            times.append(time.perf_counter() - start)
    saved = [a - b for a, b in zip(full_times, sample_times)]
    print(f"12 MP ({SIZE[0]}x{SIZE[1]}), LUT + detail step, {os.cpu_count()} cores, medians of {REPEATS} "
          f"interleaved runs, load {os.getloadavg()[0]:.1f}\n")
    print("| route | median | saved (paired) |\n|---|---:|---:|")
    print(f"| full-size LUT, then the detail step | {statistics.median(full_times):.3f} s | |")
    print(f"| LUT on the detail step's sample (default) | {statistics.median(sample_times):.3f} s "
          f"| {statistics.median(saved):.3f} s |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
