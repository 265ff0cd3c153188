"""Benchmark `imgot.batch.transfer_many` on a folder of 2-megapixel JPEGs.

Run from the repository root:

    python benchmarks/batch.py [N]        # or IMGOT_BENCH_N=60 python benchmarks/batch.py

It writes N (default 200) ~2 MP JPEGs made from the bundled samples (random
crops, resized to 1732 x 1155, hue-shifted) into benchmarks/out/batch_in/, then
times three runs, each in a fresh process so that its peak memory is its own:

- per image (own palette and plan for every image), 1 job;
- per image, 2 jobs;
- ``fit_on="first"`` (one LUT for all, workers only decode, apply, encode), 2 jobs.

and prints a markdown table: images/s, seconds (including worker start-up),
peak RSS of the main process (``getrusage(RUSAGE_SELF).ru_maxrss``), of the
largest worker (its ``VmHWM`` in /proc, read while it is alive: workers are
children of the multiprocessing fork server, so ``RUSAGE_CHILDREN`` of the main
process does not see them) and ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` for
reference.
Targets (issue 4): >= 5 images/s per image at 2 jobs, >= 15 images/s with fit_on.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
INPUTS = OUT / "batch_in"
SIZE = (1732, 1155)  # 2.0 MP
SAMPLES = ("rocket.jpg", "astronaut.jpg", "chelsea.jpg")
REFERENCE = ROOT / "sample_images" / "coffee.jpg"
RUNS = {"per image, 1 job": {"jobs": 1}, "per image, 2 jobs": {"jobs": 2},
        "fit_on='first', 2 jobs": {"jobs": 2, "fit_on": "first"}}


def hue_shift(image: Image.Image, shift: int) -> Image.Image:
    hsv = np.asarray(image.convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(int) + shift) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


def make_inputs(count: int) -> None:
    """N variants of the samples: a random crop, resized to 2 MP, hue-shifted."""
    INPUTS.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    sources = [Image.open(ROOT / "sample_images" / name).convert("RGB") for name in SAMPLES]
    for index in range(count):
        path = INPUTS / f"img{index:05d}.jpg"
        if path.exists():
            continue
        image = sources[index % len(sources)]
        width, height = image.size
        left, top = rng.integers(0, width // 5), rng.integers(0, height // 5)
        crop = image.crop((left, top, left + 4 * width // 5, top + 4 * height // 5))
        variant = hue_shift(crop.resize(SIZE, Image.Resampling.BICUBIC), int(rng.integers(0, 40)))
        variant.save(path, quality=90)


def descendants_peak_kib() -> int:
    """The largest peak RSS (VmHWM, KiB) among this process's living descendants (Linux /proc)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            parents.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    peak, todo = 0, list(parents.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo += parents.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak


def measure(name: str, count: int) -> dict:
    """One run, in this process: time and peak memory of transfer_many over the first `count` inputs."""
    from imgot.batch import transfer_many

    out = OUT / "batch_out"
    shutil.rmtree(out, ignore_errors=True)
    inputs = sorted(INPUTS.glob("img*.jpg"))[:count]
    statuses, worker_peak = [], 0
    start = time.perf_counter()
    for result in transfer_many(inputs, REFERENCE, out, **RUNS[name]):
        statuses.append(result.status)
        if len(statuses) % 10 == 1 or len(statuses) >= count - 2:  # workers still alive
            worker_peak = max(worker_peak, descendants_peak_kib())
    seconds = time.perf_counter() - start
    mib = 1024.0  # ru_maxrss and VmHWM are in KiB on Linux
    return {"name": name, "done": statuses.count("done"), "seconds": seconds,
            "self_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / mib,
            "children_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / mib,
            "worker_mib": worker_peak / mib}


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("IMGOT_BENCH_N", "200"))
    make_inputs(count)
    print(f"{count} JPEGs of {SIZE[0]} x {SIZE[1]} ({SIZE[0] * SIZE[1] / 1e6:.1f} MP), "
          f"reference {REFERENCE.name}, {os.cpu_count()} cores\n")
    print("| run | images/s | seconds | peak RSS main (MiB) | peak RSS any worker (MiB) "
          "| RUSAGE_CHILDREN (MiB) |")
    print("|---|---|---|---|---|---|")
    for name in RUNS:
        code = ("import json, sys; sys.path.insert(0, 'benchmarks'); from batch import measure; "
                f"print(json.dumps(measure({name!r}, {count})))")
        line = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True,
                              text=True).stdout.strip().splitlines()[-1]
        row = json.loads(line)
        assert row["done"] == count, row
        print(f"| {name} | {count / row['seconds']:.2f} | {row['seconds']:.1f} | {row['self_mib']:.0f} "
              f"| {row['worker_mib']:.0f} | {row['children_mib']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
