"""Video grading speed and memory: imgot transfer on a clip vs a plain re-encode of it.

One command:

    python benchmarks/video.py                      # 1080p and 4K, 10 s each
    python benchmarks/video.py --seconds 4 --sizes 1080p

For each size it makes an H.264 clip (a pan and zoom over a sample image,
25 fps), then measures, each in a fresh process and with the same encoder
settings (libx264, --crf, --preset):

- ``re-encode``: decode and encode the clip, no grading (the peer);
- ``grade``: ``imgot.video.transfer_video`` (sampling pass, fit, grading pass).

It prints wall time, end-to-end fps, the overhead of grading over the
re-encode, and each process's peak RSS. Medians over --repeat runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160)}

CHILD = r"""
import json, resource, sys, time
import imgot.video as video, imgot.videoio as videoio
mode, source, out, crf, preset, method = sys.argv[1:7]
start = time.perf_counter()
if mode == "reencode":
    videoio.stream_video(source, out, None, crf=int(crf), preset=preset, overwrite=True)
else:
    video.transfer_video(source, sys.argv[7], out, crf=int(crf), preset=preset, overwrite=True, method=method)
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_clip(path: Path, size: tuple[int, int], seconds: float, fps: int = 25) -> int:
    """A pan and zoom over a sample image, H.264 yuv420p; returns the frame count."""
    import av
    import numpy as np
    from PIL import Image

    width, height = size
    image = Image.open(ROOT / "sample_images" / "chelsea.jpg").convert("RGB")
    base = image.resize((int(width * 1.6), int(width * 1.6 * image.height / image.width)), Image.BICUBIC)
    n_frames = int(seconds * fps)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"crf": "18", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(n_frames):
            t = index / max(n_frames - 1, 1)
            zoom = 1.0 - 0.25 * t  # crop shrinks: zoom in while panning
            crop_w, crop_h = int(base.width / 1.6 * zoom), int(base.width / 1.6 * zoom * height / width)
            left = int((base.width - crop_w) * t)
            top = int((base.height - crop_h) * (0.5 - 0.3 * np.sin(np.pi * t)))
            frame = base.resize((width, height), Image.BILINEAR, box=(left, top, left + crop_w, top + crop_h))
            video_frame = av.VideoFrame.from_image(frame)
            video_frame.pts, video_frame.time_base = index, Fraction(1, fps)
            out.mux(stream.encode(video_frame))
        out.mux(stream.encode(None))
    return n_frames


def run_child(mode: str, source: Path, out: Path, args) -> dict:
    command = [sys.executable, "-c", CHILD, mode, str(source), str(out), str(args.crf), args.preset, args.method,
               str(ROOT / "sample_images" / "coffee.jpg")]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1080p,4k", help="comma-separated: " + ", ".join(SIZES))
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measurement (median reported)")
    parser.add_argument("--crf", type=int, default=18)
    parser.add_argument("--preset", default="medium", help="libx264 preset of both runs")
    parser.add_argument("--method", default="emd", help="imgot method of the grading run")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.sizes.split(","):
            source = Path(folder) / f"{name}.mp4"
            n_frames = make_clip(source, SIZES[name], args.seconds)
            runs = {"reencode": [], "grade": []}
            for _ in range(args.repeat):
                for mode in runs:  # alternate, so both see the same machine load
                    runs[mode].append(run_child(mode, source, Path(folder) / f"{name}_{mode}.mp4", args))
            peer, graded = (statistics.median(r["seconds"] for r in runs[m]) for m in ("reencode", "grade"))
            rss = {m: max(r["rss_mb"] for r in runs[m]) for m in runs}
            rows.append((name, n_frames, peer, graded, rss))
            os.unlink(source)
    print(f"\nlibx264 crf {args.crf} preset {args.preset}, method {args.method}, {args.seconds:g} s clips at 25 fps, "
          f"{os.cpu_count()} cores, median of {args.repeat}")
    print(f"{'size':>6} {'frames':>6} {'re-encode s':>11} {'fps':>6} {'grade s':>8} {'fps':>6} {'overhead':>8} "
          f"{'RSS re-enc MB':>13} {'RSS grade MB':>12}")
    for name, n_frames, peer, graded, rss in rows:
        print(f"{name:>6} {n_frames:>6} {peer:>11.1f} {n_frames / peer:>6.1f} {graded:>8.1f} {n_frames / graded:>6.1f} "
              f"{100 * (graded / peer - 1):>7.0f}% {rss['reencode']:>13.0f} {rss['grade']:>12.0f}")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.0f} s")
