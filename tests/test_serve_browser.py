"""imgot serve in a real browser: headless Chromium, driven by Selenium, against a real server process.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them).
Set IMGOT_SCREENSHOT=examples/serve_screenshot.png to refresh the README's screenshot.
"""

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("selenium")
pytest.importorskip("uvicorn")
CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
if not (CHROMIUM.exists() and DRIVER.exists()):
    pytest.skip("needs Debian's chromium and chromium-driver", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from .conftest import SAMPLES  # noqa: E402

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,900")


@pytest.fixture
def server(tmp_path):
    """A real ``imgot serve`` on a free loopback port; yields its URL."""
    process = subprocess.Popen([sys.executable, "-m", "imgot", "serve", "--port", "0"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = process.stdout.readline()
        assert "http://127.0.0.1:" in line, line + process.stderr.read()
        yield line.split("open ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(str(DRIVER)))
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def _version(driver) -> int:
    return int(driver.find_element(By.ID, "after").get_attribute("data-version"))


def test_upload_tune_and_download_in_a_browser(server, browser, tmp_path):
    wait = WebDriverWait(browser, 60)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name in ("rocket.jpg", "coffee.jpg"):
        shutil.copy(SAMPLES / name, inputs / name)

    browser.get(server)
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    Select(browser.find_element(By.ID, "method")).select_by_value("emd")
    browser.find_element(By.ID, "file-source").send_keys(str(inputs / "rocket.jpg"))
    browser.find_element(By.ID, "file-reference").send_keys(str(inputs / "coffee.jpg"))
    wait.until(lambda d: _version(d) >= 1)
    first = browser.find_element(By.ID, "after").get_attribute("src")

    slider = browser.find_element(By.ID, "strength")
    slider.click()  # the middle of the track: strength 0.5
    for _ in range(10):
        slider.send_keys(Keys.ARROW_LEFT)  # each step is one input event, one preview request
    wait.until(lambda d: "strength=0.4" in (d.find_element(By.ID, "after").get_attribute("data-query") or ""))
    assert _version(browser) >= 2
    assert browser.find_element(By.ID, "after").get_attribute("src") != first
    wait.until(lambda d: "--strength 0.4" in d.find_element(By.ID, "command").text)
    wait.until(lambda d: d.find_element(By.ID, "m-structure").text != "–")
    assert browser.find_element(By.ID, "message").text == ""

    browser.find_element(By.ID, "dl-result").click()
    target = browser.downloads / "rocket_imgot.jpg"
    deadline = time.monotonic() + 60
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    browser.save_screenshot(str(tmp_path / "serve.png"))
    if os.environ.get("IMGOT_SCREENSHOT"):
        from PIL import Image

        with Image.open(tmp_path / "serve.png") as shot:
            shot.convert("RGB").quantize(128).save(os.environ["IMGOT_SCREENSHOT"], optimize=True)
    assert target.exists(), sorted(p.name for p in browser.downloads.iterdir())

    command = shlex.split(browser.find_element(By.ID, "command").text)
    assert command[:5] == ["imgot", "transfer", "rocket.jpg", "coffee.jpg", "-o"]
    subprocess.run([sys.executable, "-m", "imgot", *command[1:]], cwd=inputs, check=True, capture_output=True)
    assert target.read_bytes() == (inputs / "rocket_imgot.jpg").read_bytes()

    # A file that is not an image: one line on the page, the previous images kept.
    (inputs / "notes.jpg").write_text("not an image")
    browser.find_element(By.ID, "file-reference").send_keys(str(inputs / "notes.jpg"))
    wait.until(lambda d: "not an image" in d.find_element(By.ID, "message").text)
