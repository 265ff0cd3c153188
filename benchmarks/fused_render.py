"""Benchmark imgot.fused: the detail step's compiled render against its NumPy route.

Run from the repository root (needs the ``fast`` extra, numba):

    python benchmarks/fused_render.py             # 2, 12 and 24 MP, 5 interleaved repeats
    python benchmarks/fused_render.py --repeats 3

It prints two markdown tables:

1. in this process, for upscales of a bundled photo toward the bundled
   coffee photo: the detail step (:func:`imgot.detail.preserve_detail` on
   the LUT-mapped image) and the whole default ``transform`` (fitted
   reference), through the NumPy route and through the kernel, medians of
   interleaved repeats, and whether both gave the same bytes;
2. the kernel's one-time costs in fresh processes: importing numba, and
   :func:`imgot.fused.warm` (compiling, or reading numba's cache).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SIZES = {2: (1732, 1155), 12: (4240, 2832), 24: (6000, 4000)}


def in_process(repeats: int) -> list[str]:
    from imgot import ColorTransfer, fused
    from imgot.detail import preserve_detail
    from imgot.pixels import as_pixels
    from imgot.recolor import apply_lut

    if not fused.warm():
        sys.exit("numba is not installed: pip install -e '.[fast]'")
    with Image.open(ROOT / "sample_images" / "coffee.jpg") as reference:
        model = ColorTransfer().fit(np.asarray(reference.convert("RGB")))
    rows = ["| image | detail step, NumPy | detail step, kernel | ratio | transform, NumPy "
            "| transform, kernel | ratio | same bytes |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    with Image.open(ROOT / "sample_images" / "rocket.jpg") as photo:
        rgb = photo.convert("RGB")
        for megapixels, size in SIZES.items():
            image = np.asarray(rgb.resize(size, Image.Resampling.BICUBIC))
            mapped = apply_lut(model.color_lut(image), as_pixels(image))
            times: dict = {key: [] for key in ("detail numpy", "detail kernel", "transform numpy",
                                               "transform kernel")}
            outputs = {}
            for _ in range(repeats):
                for route, threshold in (("numpy", 1 << 62), ("kernel", 0)):
                    fused.MIN_PIXELS = threshold
                    start = time.perf_counter()
                    outputs[route] = preserve_detail(image, mapped)
                    times[f"detail {route}"].append(time.perf_counter() - start)
                    start = time.perf_counter()
                    model.transform(image)
                    times[f"transform {route}"].append(time.perf_counter() - start)
            median = {key: statistics.median(value) for key, value in times.items()}
            same = np.array_equal(outputs["numpy"], outputs["kernel"])
            rows.append(f"| {megapixels} MP | {median['detail numpy']:.3f} s | "
                        f"{median['detail kernel']:.3f} s | "
                        f"{median['detail numpy'] / median['detail kernel']:.2f}x | "
                        f"{median['transform numpy']:.3f} s | {median['transform kernel']:.3f} s | "
                        f"{median['transform numpy'] / median['transform kernel']:.2f}x | {same} |")
    return rows


def fresh_costs(repeats: int) -> list[str]:
    def seconds(code: str) -> float:
        done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                              cwd=ROOT)
        return float(done.stdout.strip().splitlines()[-1])

    timer = "import time; start = time.perf_counter(); {}; print(time.perf_counter() - start)"
    imports = [seconds(timer.format("import numba")) for _ in range(repeats)]
    warms = [seconds("import imgot.fused as fused; " + timer.format("fused.warm()")) for _ in range(repeats)]
    return ["| fresh process | median |", "|---|---:|",
            f"| `import numba` | {statistics.median(imports):.2f} s |",
            f"| `imgot.fused.warm()` after importing imgot (numba import + cached kernel) | "
            f"{statistics.median(warms):.2f} s |"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats [5]")
    args = parser.parse_args(argv)
    load = open("/proc/loadavg").read().split()[:3] if Path("/proc/loadavg").exists() else ["?"] * 3
    print(f"load average at start: {', '.join(load)}\n")
    print("\n".join(in_process(args.repeats)))
    print()
    print("\n".join(fresh_costs(args.repeats)))
    load = open("/proc/loadavg").read().split()[:3] if Path("/proc/loadavg").exists() else ["?"] * 3
    print(f"\nload average at end: {', '.join(load)}")


if __name__ == "__main__":
    main()
