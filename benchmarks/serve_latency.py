"""Benchmark imgot serve as the hand feels it: input event to preview load, in headless Chromium.

Run from the repository root (needs the serve and test extras, and Debian's
``chromium`` and ``chromium-driver``):

    python benchmarks/serve_latency.py [--sizes 1,12] [--gaps 0.3,1.2,2.6] [--moves 20] [--method NAME]

For each source size it makes a source by upscaling the bundled rocket photo
(JPEG, cached in benchmarks/out/serve_in/, git-ignored), starts a real
``imgot serve`` process on loopback, opens the page in headless Chromium,
uploads the source and coffee.jpg as the reference (with the library's
defaults: detail on), and waits for the first preview and the side panels
(metrics, palettes, plan). Then, for each gap, it moves the strength slider
`--moves` times to random values, `gap` seconds apart, each move one real
``input`` event on the slider (what a drag fires). The page records, for
every input event, the time until a preview answering it (or a later one)
has loaded (``window.imgotFelt``); the side panels run as they do for a user,
after each pause. Prints a markdown table: median and p95 felt latency in
milliseconds per size and gap, and the server time of the previews.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out" / "serve_in"
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,900")


def source_of(megapixels: float) -> Path:
    """The rocket photo upscaled to `megapixels`, as a JPEG (made once, then cached)."""
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


def start_server(folder: Path) -> tuple[subprocess.Popen, str]:
    """A real ``imgot serve`` on a free loopback port, and its URL."""
    process = subprocess.Popen([sys.executable, "-m", "imgot", "serve", "--port", "0"], cwd=folder,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)})
    line = process.stdout.readline()
    if "http://" not in line:
        raise SystemExit(f"imgot serve did not start: {line}")
    return process, line.split("open ", 1)[1].strip()


def browser(folder: Path):
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={folder / 'profile'}")
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(DRIVER))


def wait(driver, condition, timeout: float = 300.0) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)


def open_page(driver, url: str, source: Path, method: str | None) -> float:
    """Load the page, upload both images, wait for the first preview and the side panels; seconds taken."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select

    driver.get(url)
    wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    if method:
        Select(driver.find_element(By.ID, "method")).select_by_value(method)
    started = time.perf_counter()
    driver.find_element(By.ID, "file-reference").send_keys(str(ROOT / "sample_images" / "coffee.jpg"))
    driver.find_element(By.ID, "file-source").send_keys(str(source))
    wait(driver, lambda d: int(d.find_element(By.ID, "after").get_attribute("data-version")) >= 1)
    first = time.perf_counter() - started
    wait(driver, lambda d: d.find_element(By.ID, "m-structure").text != "–")
    wait(driver, lambda d: d.find_element(By.ID, "plan").is_displayed()
         or d.find_element(By.ID, "plan-note").text)
    return first


MOVE = """
const slider = document.getElementById('strength');
slider.value = arguments[0];
slider.dispatchEvent(new Event('input', {bubbles: true}));
"""


def felt_latency(driver, moves: int, gap: float, rng) -> tuple[list[float], list[float]]:
    """Milliseconds from each of `moves` slider input events, `gap` s apart, to the preview answering it.

    Also returns the server time (``Server-Timing``) of each preview the page asked for.
    """
    driver.execute_script("window.imgotFelt.length = 0; window.imgotServer.length = 0;")
    time.sleep(1.0)  # let the side panels of the last pause settle, as between two gestures
    for value in rng.uniform(0.05, 0.95, moves):
        driver.execute_script(MOVE, f"{value:.2f}")
        time.sleep(gap)
    wait(driver, lambda d: d.execute_script("return window.imgotFelt.length") >= moves, timeout=60)
    felt = [float(x) for x in driver.execute_script("return window.imgotFelt.slice()")][:moves]
    return felt, [float(x) for x in driver.execute_script("return window.imgotServer.slice()")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,12", help="source sizes in megapixels")
    parser.add_argument("--gaps", default="0.3,1.2,2.6", help="seconds between two slider moves")
    parser.add_argument("--moves", type=int, default=20, help="slider moves per size and gap")
    parser.add_argument("--method", default=None, help="method [default: the library's default]")
    args = parser.parse_args()
    import imgot

    method = args.method or imgot.ColorTransfer().method
    gaps = [float(g) for g in args.gaps.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="imgot-bench-") as folder:
        folder = Path(folder)
        for size in (float(s) for s in args.sizes.split(",")):
            source = source_of(size)
            process, url = start_server(folder)
            driver = browser(folder)
            try:
                first = open_page(driver, url, source, args.method)
                rng = np.random.default_rng(0)
                felt = {gap: felt_latency(driver, args.moves, gap, rng) for gap in gaps}
            finally:
                driver.quit()
                process.terminate()
                process.wait(timeout=30)
            with Image.open(source) as image:
                rows.append((size, f"{image.width}x{image.height}", first, felt))

    print(f"\nimgot serve felt latency (input event to preview loaded, headless Chromium), method {method}, "
          f"detail on, {args.moves} strength moves per gap; ms; load average at the end "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print("| source | upload to first preview (s) | "
          + " | ".join(f"{g:g} s apart: median / p95" for g in gaps)
          + " | server time per preview: median / p95 |")
    print("|---|---|" + "---|" * (len(gaps) + 1))
    for size, shape, first, felt in rows:
        cells = " | ".join(f"{statistics.median(felt[g][0]):.0f} / {p95(felt[g][0]):.0f}" for g in gaps)
        server = [ms for g in gaps for ms in felt[g][1]]
        server_cell = f"{statistics.median(server):.0f} / {p95(server):.0f}"
        print(f"| {size:g} MP ({shape}) | {first:.1f} | {cells} | {server_cell} |")


if __name__ == "__main__":
    main()
