"""Benchmark imgot serve's preview: server time of one slider move at 1, 12 and 24 MP sources.

Run from the repository root (needs the serve and test extras):

    python benchmarks/serve_latency.py [--sizes 1,12,24] [--moves 20] [--method NAME]

For each size it makes a source by upscaling the bundled rocket photo (JPEG,
cached in benchmarks/out/serve_in/, git-ignored), and, through Starlette's test
client against the real application (token, Host check, routes, JPEG encode):
uploads source and reference, asks for the first preview (fit and base map),
then moves the strength slider `--moves` times (random values) and toggles
"keep luminance" and "detail" once per move. The server time of each answer
is its ``Server-Timing`` header. In the same run, two peers on the same
images: the uncached preview (``ColorTransfer.color_lut(preview)`` rebuilt at
each move, as a page without the base-map cache would) and the full-resolution
``transform`` (what a page without a preview would do; 2 repeats). Prints a
markdown table: medians and p95 in milliseconds, and ratios to the peers.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out" / "serve_in"
TOKEN = "benchmark-token-0123456789"


def source_of(megapixels: float) -> Path:
    path = OUT / f"rocket_{megapixels:g}mp.jpg"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        with Image.open(ROOT / "sample_images" / "rocket.jpg") as image:
            scale = (megapixels * 1e6 / (image.width * image.height)) ** 0.5
            size = (round(image.width * scale), round(image.height * scale))
            image.convert("RGB").resize(size, Image.Resampling.BICUBIC).save(path, quality=92)
    return path


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def measure(client, megapixels: float, moves: int, method: str) -> dict:
    import imgot
    from imgot.serve.preview import downscale
    from imgot.transfer import apply_lut_to_image

    source, reference = source_of(megapixels), ROOT / "sample_images" / "coffee.jpg"
    api = "/api/session/" + client.post("/api/session").json()["session"]
    started = time.perf_counter()
    for role, path in (("source", source), ("reference", reference)):
        client.post(f"{api}/image/{role}", content=path.read_bytes()).raise_for_status()
    upload = time.perf_counter() - started

    def server_ms(**params) -> float:
        answer = client.get(api + "/preview.jpg", params={"method": method, **params})
        answer.raise_for_status()
        return float(answer.headers["server-timing"].split("dur=")[1])

    first = server_ms(strength=1.0)
    rng = np.random.default_rng(0)
    strengths = [round(float(s), 2) for s in rng.uniform(0.05, 0.95, moves)]
    slider = [server_ms(strength=s) for s in strengths]
    luminance = [server_ms(strength=s, preserve_luminance=True) for s in strengths[: max(3, moves // 4)]]
    detail = [server_ms(strength=s, detail=True) for s in strengths[: max(3, moves // 4)]]

    # Peers, on the same images: the same preview without the cache, and the full-resolution transform.
    full = imgot.read_image(source)
    ref = imgot.read_image(reference)
    preview = downscale(full)
    model = imgot.ColorTransfer(method=method).fit(ref)
    uncached = []
    for s in strengths[: max(3, moves // 4)]:
        model.strength = s
        t = time.perf_counter()
        try:
            apply_lut_to_image(model.color_lut(preview), preview)
        except ValueError:  # not a single LUT
            model.transform(preview)
        uncached.append((time.perf_counter() - t) * 1000)
    full_res = []
    for s in strengths[:2]:
        model.strength = s
        t = time.perf_counter()
        model.transform(full)
        full_res.append((time.perf_counter() - t) * 1000)
    return {"MP": megapixels, "size": f"{full.shape[1]}x{full.shape[0]}", "upload_s": upload,
            "first_ms": first, "slider": slider, "luminance": luminance, "detail": detail,
            "uncached": uncached, "full": full_res}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,12,24", help="source sizes in megapixels")
    parser.add_argument("--moves", type=int, default=20, help="slider moves per size")
    parser.add_argument("--method", default=None, help="method [default: the library's default]")
    args = parser.parse_args()

    from starlette.testclient import TestClient

    import imgot
    from imgot.serve.app import create_app

    method = args.method or imgot.ColorTransfer().method
    app = create_app(token=TOKEN)
    rows = []
    with TestClient(app, base_url="http://127.0.0.1:8765", headers={"X-Imgot-Token": TOKEN}) as client:
        for size in (float(s) for s in args.sizes.split(",")):
            rows.append(measure(client, size, args.moves, method))

    print(f"\nimgot serve preview latency, method {method}, preview longest side 768 px, "
          f"{args.moves} strength moves per size (server time, ms)\n")
    print("| source | upload + decode (s) | first preview (fit) | strength move median | p95 "
          "| + keep luminance median | + detail median | peer: uncached preview median "
          "| peer: full-res transform median | uncached / move | full-res / move |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        move = statistics.median(row["slider"])
        uncached, full = statistics.median(row["uncached"]), statistics.median(row["full"])
        print(f"| {row['MP']:g} MP ({row['size']}) | {row['upload_s']:.2f} | {row['first_ms']:.0f} "
              f"| {move:.1f} | {p95(row['slider']):.1f} | {statistics.median(row['luminance']):.1f} "
              f"| {statistics.median(row['detail']):.1f} | {uncached:.1f} | {full:.0f} "
              f"| {uncached / move:.1f}x | {full / move:.0f}x |")


if __name__ == "__main__":
    main()
