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
pytestmark = pytest.mark.slow  # a real browser
pytest.importorskip("uvicorn")
CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
if not (CHROMIUM.exists() and DRIVER.exists()):
    pytest.skip("needs Debian's chromium and chromium-driver", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from .conftest import SAMPLES  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,900")


@pytest.fixture
def server(tmp_path):
    """A real ``imgot serve`` on a free loopback port; yields its URL."""
    process = subprocess.Popen([sys.executable, "-m", "imgot", "serve", "--port", "0"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)})
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


def _shot(driver, path: Path, width: int) -> None:
    driver.set_window_size(width, 900)
    time.sleep(0.3)
    driver.save_screenshot(str(path))


def test_before_any_upload_nothing_looks_live(server, browser, tmp_path):
    browser.get(server)
    body = browser.find_element(By.TAG_NAME, "body")
    WebDriverWait(browser, 30).until(lambda d: body.get_attribute("data-ready") == "1")
    assert not browser.find_element(By.ID, "plan").is_displayed()  # no broken image
    for link in ("dl-result", "dl-lut", "dl-transfer"):
        element = browser.find_element(By.ID, link)
        assert element.get_attribute("href") is None and "disabled" in element.get_attribute("class")
    assert "not in it" in browser.find_element(By.CLASS_NAME, "note").text  # the .cube leaves out detail
    _shot(browser, tmp_path / "empty_800.png", 800)
    if os.environ.get("IMGOT_SCREENSHOTS"):
        shutil.copy(tmp_path / "empty_800.png", Path(os.environ["IMGOT_SCREENSHOTS"]) / "empty_800.png")


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

    # Drag the strength slider: many input events, the last value is what is shown and downloaded.
    slider = browser.find_element(By.ID, "strength")
    drag = ActionChains(browser).click_and_hold(slider)
    for _ in range(12):
        drag.move_by_offset(-4, 0).pause(0.03)
    drag.release().perform()
    value = browser.find_element(By.CSS_SELECTOR, "#strength + output").text
    assert 0 < float(value) < 1
    after = browser.find_element(By.ID, "after")
    wait.until(lambda d: f"strength={value}&" in (after.get_attribute("data-query") or ""))
    assert _version(browser) >= 2
    assert browser.find_element(By.ID, "after").get_attribute("src") != first
    expected = "" if float(value) == 1 else f"--strength {value}"
    wait.until(lambda d: expected in d.find_element(By.ID, "command").text
               and "stale" not in d.find_element(By.ID, "command").get_attribute("class"))
    wait.until(lambda d: d.find_element(By.ID, "m-structure").text != "–")
    wait.until(lambda d: d.find_element(By.ID, "plan").is_displayed())
    assert browser.find_element(By.ID, "message").text == ""
    assert f"strength={value}&" in browser.find_element(By.ID, "dl-result").get_attribute("href")

    browser.find_element(By.ID, "dl-result").click()
    target = browser.downloads / "rocket_imgot.jpg"
    deadline = time.monotonic() + 60
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert f"strength={value}&" in browser.find_element(By.TAG_NAME, "body").get_attribute("data-downloaded")
    _shot(browser, tmp_path / "serve_1400.png", 1400)
    _shot(browser, tmp_path / "serve_800.png", 800)
    if os.environ.get("IMGOT_SCREENSHOT"):
        from PIL import Image

        browser.set_window_size(1400, 900)
        browser.save_screenshot(str(tmp_path / "serve.png"))
        with Image.open(tmp_path / "serve.png") as shot:
            shot.convert("RGB").quantize(128).save(os.environ["IMGOT_SCREENSHOT"], optimize=True)
    if os.environ.get("IMGOT_SCREENSHOTS"):  # a folder: keep the 1400 and 800 px shots to look at
        for name in ("serve_1400.png", "serve_800.png"):
            shutil.copy(tmp_path / name, Path(os.environ["IMGOT_SCREENSHOTS"]) / name)
    assert target.exists(), sorted(p.name for p in browser.downloads.iterdir())

    command = shlex.split(browser.find_element(By.ID, "command").text)
    assert command[:5] == ["imgot", "transfer", "rocket.jpg", "coffee.jpg", "-o"]
    subprocess.run([sys.executable, "-m", "imgot", *command[1:]], cwd=inputs, check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert target.read_bytes() == (inputs / "rocket_imgot.jpg").read_bytes()

    # A file that is not an image: one line on the page, the previous images kept.
    (inputs / "notes.jpg").write_text("not an image")
    browser.find_element(By.ID, "file-reference").send_keys(str(inputs / "notes.jpg"))
    wait.until(lambda d: "not an image" in d.find_element(By.ID, "message").text)
