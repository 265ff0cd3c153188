"""Recoloring an animated GIF: imgot against a plain Pillow decode and re-save, in the same process.

    python benchmarks/frames.py [--frames 48] [--size 480x270] [--rounds 3]

Makes an animated GIF (a gradient background, a moving disc and a
transparent corner, 256-color frames with partial updates, as encoders
write them), then times, interleaved round by round so that all see the
same load: Pillow decoding every frame and saving them again (the least any
tool must do), ``imgot.frames.recolor_frames`` with ``--no-detail`` (one LUT
per frame) and with the default detail step. Prints medians (wall seconds,
ms per frame, output size against the input's) and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence


def make_gif(path: Path, frames: int, width: int, height: int) -> None:
    y, x = np.mgrid[0:height, 0:width]
    background = np.stack([x * 200 // width + 30, y * 150 // height + 50, np.full_like(x, 90)], -1).astype(np.uint8)
    images = []
    for index in range(frames):
        frame = np.dstack([background, np.full((height, width), 255, np.uint8)])
        cx, cy = width * (0.2 + 0.6 * index / frames), height * 0.5
        frame[(x - cx) ** 2 + (y - cy) ** 2 < (height / 6) ** 2, :3] = [230, 60, 40]
        frame[: height // 8, : width // 8, 3] = 0
        images.append(Image.fromarray(frame).quantize(255, method=Image.Quantize.FASTOCTREE))
    images[0].save(path, save_all=True, append_images=images[1:], duration=40, loop=0, disposal=1)


def pillow_round_trip(source: Path, target: Path) -> None:
    with Image.open(source) as image:
        frames = [frame.convert("RGBA") for frame in ImageSequence.Iterator(image)]
    frames[0].save(target, save_all=True, append_images=frames[1:], duration=40, loop=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", default="480x270")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    from imgot.frames import recolor_frames
    from imgot.io import read_image
    from imgot.transfer import ColorTransfer

    folder = Path(tempfile.mkdtemp(prefix="imgot_frames_bench_"))
    source = folder / "source.gif"
    make_gif(source, args.frames, width, height)
    reference = read_image(Path(__file__).resolve().parent.parent / "sample_images" / "coffee.jpg")
    runs = {
        "Pillow decode + save": lambda target: pillow_round_trip(source, target),
        "imgot --no-detail": lambda target: recolor_frames(ColorTransfer(preserve_detail=False).fit(reference), source,
                                                           target, overwrite=True),
        "imgot (default, detail step)": lambda target: recolor_frames(ColorTransfer().fit(reference), source,
                                                                      target, overwrite=True),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    sizes: dict[str, int] = {}
    loads = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        for number, (name, work) in enumerate(runs.items()):
            target = folder / f"out{number}.gif"
            start = time.perf_counter()
            work(target)
            times[name].append(time.perf_counter() - start)
            sizes[name] = target.stat().st_size
        loads.append(os.getloadavg()[0])
    print(f"{args.frames} frames of {width} x {height}, {source.stat().st_size / 1e3:.0f} kB; "
          f"medians of {args.rounds} interleaved rounds; load average {min(loads):.1f}-{max(loads):.1f}")
    print("| run | wall s | ms per frame | output size / input |")
    print("|---|---|---|---|")
    for name in runs:
        wall = statistics.median(times[name])
        print(f"| {name} | {wall:.2f} | {1000 * wall / args.frames:.0f} | "
              f"{sizes[name] / source.stat().st_size:.2f} |")


if __name__ == "__main__":
    main()
