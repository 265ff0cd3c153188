"""Cost of the colorist controls (issue 26) against the plain default transfer, at about 12 MP.

Run from the repository root:

    python benchmarks/colorist.py                 # 12 MP source, 3 repeats
    python benchmarks/colorist.py --size 2 --repeat 5

The source is ``astronaut.jpg`` upscaled (Pillow bicubic) to about --size
megapixels, the reference ``rocket.jpg`` at its own size. Every row calls
``imgot.transfer`` on the decoded arrays with the default parameters except
the ones named; the HaldCLUT rows time :func:`imgot.hald.write_hald` and
:func:`imgot.hald.read_hald` of the fitted map. Times are medians of
--repeat rounds in this one process, rows interleaved (one run of each per
round, after a warm-up round), so a load change hits every row alike; each
ratio is the row's median over the default's median of the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=float, default=12.0, help="source megapixels")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from PIL import Image

    import imgot
    from imgot.hald import read_hald, write_hald

    with Image.open(ROOT / "sample_images" / "astronaut.jpg") as image:
        scale = (args.size * 1e6 / (image.width * image.height)) ** 0.5
        source = np.asarray(image.convert("RGB").resize((round(image.width * scale), round(image.height * scale)),
                                                        Image.Resampling.BICUBIC))
    reference = np.asarray(Image.open(ROOT / "sample_images" / "rocket.jpg").convert("RGB"))
    model = imgot.ColorTransfer().fit(reference)
    lut = model.color_lut(source)
    folder = Path(tempfile.mkdtemp())
    for level in (8, 12, 16):
        write_hald(folder / f"l{level}.png", lut, level=level)
    rows = {
        "default transfer": lambda: imgot.transfer(source, reference),
        "protect_skin=0.8": lambda: imgot.transfer(source, reference, protect_skin=0.8),
        "saturation=1.3": lambda: imgot.transfer(source, reference, saturation=1.3),
        "saturation=0.7": lambda: imgot.transfer(source, reference, saturation=0.7),
        "neutralize='gray-world'": lambda: imgot.transfer(source, reference, neutralize="gray-world"),
        "all three": lambda: imgot.transfer(source, reference, protect_skin=0.8, saturation=1.3,
                                            neutralize="gray-world"),
    }
    for level in (8, 12, 16):
        rows[f"write HaldCLUT level {level}"] = lambda level=level: write_hald(
            folder / f"w{level}.png", lut, level=level, overwrite=True)
        rows[f"read HaldCLUT level {level}"] = lambda level=level: read_hald(folder / f"l{level}.png")
    times: dict[str, list[float]] = {name: [] for name in rows}
    for round_ in range(args.repeat + 1):
        for name, run in rows.items():
            start = time.perf_counter()
            run()
            if round_:  # round 0 is the warm-up
                times[name].append(time.perf_counter() - start)
    base = statistics.median(times["default transfer"])
    print(f"source {source.shape[1]}x{source.shape[0]} ({source.shape[0] * source.shape[1] / 1e6:.1f} MP), "
          f"{args.repeat} rounds, load average {os.getloadavg()[0]:.1f} at the end")
    print(f"| {'row':<26} | median s | vs default |")
    print(f"|{'-' * 28}|----------|------------|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name:<26} | {median:8.2f} | {median / base:9.2f}x |")


if __name__ == "__main__":
    main()
