"""Video grading speed and memory: ``imgot transfer`` on a clip vs plain re-encodes of it.

One command:

    python benchmarks/video.py                      # 1080p and 4K, 10 s each
    python benchmarks/video.py --seconds 4 --sizes 1080p --repeat 3

For each size it makes an H.264 clip with an AAC track (a pan and zoom over
a sample image, 25 fps), then runs, each in a fresh process and with the same
encoder settings (libx264 --crf --preset, audio copied):

- ``ffmpeg``: ``ffmpeg -i clip -c:v libx264 -crf 18 -preset medium -c:a copy``,
  the plain re-encode a user would compare with (skipped if there is no
  ``ffmpeg`` on the PATH);
- ``pyav``: the same re-encode through imgot's own decode/encode loop
  (:func:`imgot.video.stream_video` with no grading);
- ``grade``: ``imgot transfer clip ref -o out`` with the default options
  (the detail step on);
- ``no-detail``: the same with ``--no-detail``;
- ``ffmpeg-lut3d``: ffmpeg grading the clip itself with its ``lut3d`` filter
  on the clip's own ``.cube`` (written once, untimed, by ``imgot transfer
  --no-detail --save-lut``): what any grade costs in ffmpeg's own C code,
  the encoder's extra work on graded frames included.

The runs are interleaved (one of each per round, ``--repeat`` rounds), so
all see the same machine load. For each it prints the median wall time, the
median CPU time (user + system of the process and its threads, from
``wait4``), the peak RSS, and the overheads of grading over the ffmpeg
re-encode in CPU and wall time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160)}
MODES = ("ffmpeg", "pyav", "grade", "no-detail", "ffmpeg-lut3d")

CHILD = r"""
import sys
mode, source, out, crf, preset, reference, method = sys.argv[1:8]
if mode == "pyav":
    from imgot.video import EncoderChoice, stream_video
    stream_video(source, out, None, encoder=EncoderChoice(crf=int(crf), preset=preset), overwrite=True)
else:
    from imgot.cli import main
    args = ["transfer", source, reference, "-o", out, "--crf", crf, "--preset", preset, "--overwrite"]
    args += ["--no-detail"] if mode == "no-detail" else []
    args += ["--method", method] if method else []
    main.main(args + sys.argv[8:], standalone_mode=False)
"""


def make_clip(path: Path, size: tuple[int, int], seconds: float, fps: int = 25) -> int:
    """A pan and zoom over a sample image, H.264 yuv420p, with a 48 kHz AAC tone; returns the frame count."""
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
        sound = out.add_stream("aac", rate=48000, layout="stereo")
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
        samples = int(seconds * 48000)
        for start in range(0, samples, 1024):
            tone = (0.2 * np.sin(2 * np.pi * 440 * (start + np.arange(1024)) / 48000)).astype(np.float32)
            block = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
            block.sample_rate, block.pts = 48000, start
            out.mux(sound.encode(block))
        out.mux(sound.encode(None))
    return n_frames


def command(mode: str, source: Path, out: Path, args) -> list[str]:
    if mode in ("ffmpeg", "ffmpeg-lut3d"):
        graded = ["-vf", f"lut3d=file={source.with_suffix('.cube')}"] if mode == "ffmpeg-lut3d" else []
        return [args.ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-i", str(source), *graded,
                "-c:v", "libx264", "-crf", str(args.crf), "-preset", args.preset, "-c:a", "copy", str(out)]
    return [sys.executable, "-c", CHILD, mode, str(source), str(out), str(args.crf), args.preset,
            str(ROOT / "sample_images" / "coffee.jpg"), args.method or ""]


def measure(argv: list[str]) -> dict:
    """Run `argv` to the end: wall seconds, CPU seconds (user + system) and peak RSS in MB, from wait4."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({process.returncode}): {stderr.decode(errors='replace')[-500:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024}


def load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1080p,4k", help="comma-separated: " + ", ".join(SIZES))
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of interleaved runs (medians reported)")
    parser.add_argument("--crf", type=int, default=18)
    parser.add_argument("--preset", default="medium", help="libx264 preset of every run")
    parser.add_argument("--method", default=None, help="imgot method of the grading runs [default: imgot's]")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: " + ", ".join(MODES))
    args = parser.parse_args()
    args.ffmpeg = shutil.which("ffmpeg")
    modes = [m for m in args.modes.split(",") if not m.startswith("ffmpeg") or args.ffmpeg]
    results = []
    loads = [load()]
    with tempfile.TemporaryDirectory() as folder:
        for name in args.sizes.split(","):
            source = Path(folder) / f"{name}.mp4"
            n_frames = make_clip(source, SIZES[name], args.seconds)
            if "ffmpeg-lut3d" in modes:  # the clip's own map as a .cube, for ffmpeg's lut3d (untimed)
                measure(command("no-detail", source, Path(folder) / f"{name}_cube.mp4", args)
                        + ["--save-lut", str(source.with_suffix(".cube"))])
            runs: dict[str, list[dict]] = {mode: [] for mode in modes}
            for _ in range(args.repeat):
                for mode in modes:  # interleaved: every mode sees the same load
                    runs[mode].append(measure(command(mode, source, Path(folder) / f"{name}_{mode}.mp4", args)))
                    loads.append(load())
            results.append((name, n_frames, runs))
            os.unlink(source)
    peer_name = "ffmpeg" if "ffmpeg" in modes else modes[0]
    print(f"\nlibx264 crf {args.crf} preset {args.preset}, audio copied, method {args.method or 'default'}; "
          f"{args.seconds:g} s clips at 25 fps; {os.cpu_count()} cores, load {min(loads):.1f}-{max(loads):.1f}; "
          f"median of {args.repeat} interleaved runs; overheads against {peer_name}")
    print(f"| size | frames | run | wall s | fps | CPU s | CPU ms/frame | peak RSS MB | wall + | CPU + |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, n_frames, runs in results:
        median = {mode: {key: statistics.median(r[key] for r in runs[mode]) for key in ("wall", "cpu")}
                  for mode in runs}
        peer = median[peer_name]
        for mode in runs:
            wall, cpu = median[mode]["wall"], median[mode]["cpu"]
            rss = max(r["rss"] for r in runs[mode])
            print(f"| {name} | {n_frames} | {mode} | {wall:.1f} | {n_frames / wall:.1f} | {cpu:.1f} | "
                  f"{1000 * cpu / n_frames:.0f} | {rss:.0f} | {100 * (wall / peer['wall'] - 1):+.0f}% | "
                  f"{100 * (cpu / peer['cpu'] - 1):+.0f}% |")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.0f} s")
