"""imgot serve's API through Starlette's test client: safety, uploads, preview, sliders, downloads."""

import io
import shlex
import time
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette")
pytest.importorskip("starlette.testclient")

from starlette.testclient import TestClient  # noqa: E402

import imgot  # noqa: E402
from imgot.cli.serve import transfer_command_line  # noqa: E402
from imgot.serve.app import create_app  # noqa: E402
from imgot.serve.params import METHOD_SETTINGS, defaults, method_settings  # noqa: E402
from imgot.serve.preview import downscale  # noqa: E402
from imgot.serve.session import Limits  # noqa: E402

from .conftest import load_sample  # noqa: E402

TOKEN = "test-token-0123456789"
BASE = "http://127.0.0.1:8765"


def _client(**limits):
    app = create_app(token=TOKEN, host="127.0.0.1", port=8765, command_line=transfer_command_line,
                     limits=Limits(**limits))
    return TestClient(app, base_url=BASE, headers={"X-Imgot-Token": TOKEN})


@pytest.fixture
def client():
    with _client(max_bytes=2_000_000, max_pixels=1_000_000) as client:
        yield client


@pytest.fixture
def images(tmp_path):
    """A small source (JPEG) and reference (PNG) from the bundled samples."""
    source, reference = tmp_path / "rocket small.jpg", tmp_path / "coffee.png"
    Image.fromarray(load_sample("rocket.jpg", (200, 134))).save(source, quality=92)
    Image.fromarray(load_sample("coffee.jpg", (180, 120))).save(reference)
    return source, reference


def _open(client, source=None, reference=None):
    session = client.post("/api/session").json()["session"]
    for role, path in (("source", source), ("reference", reference)):
        if path is not None:
            answer = client.post(f"/api/session/{session}/image/{role}", content=path.read_bytes(),
                                 headers={"X-File-Name": path.name})
            assert answer.status_code == 200, answer.text
    return f"/api/session/{session}"


def _decode(body: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(body)).convert("RGB")).astype(int)


# -- safety ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/api/config"])
def test_missing_or_wrong_token_is_refused(path):
    with _client() as client:
        client.headers.pop("X-Imgot-Token")
        assert client.get(path).status_code == 403
        assert client.get(path, params={"token": "wrong-token"}).status_code == 403
        assert client.get(path, headers={"X-Imgot-Token": TOKEN[:-1]}).status_code == 403
        assert client.post("/api/session").status_code == 403


def test_token_in_url_sets_a_cookie_for_the_page_and_its_files():
    with _client() as client:
        client.headers.pop("X-Imgot-Token")
        page = client.get("/", params={"token": TOKEN})
        assert page.status_code == 200 and "<script src=\"/static/app.js\">" in page.text
        cookie = page.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        # The cookie alone loads the page's files; the page carries the token for its API calls.
        assert client.get("/static/app.js").status_code == 200
        assert f'<meta name="imgot-token" content="{TOKEN}">' in client.get("/").text
        assert client.post("/api/session").status_code == 403  # a cookie alone never drives the API
        assert client.post("/api/session", headers={"X-Imgot-Token": TOKEN}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example:8765", "127.0.0.1:9999", "localhost.evil.example"])
def test_wrong_host_header_is_refused(client, host):
    assert client.get("/api/config", headers={"Host": host}).status_code == 403
    assert client.get("/api/config", headers={"Host": "localhost:8765"}).status_code == 200


def test_sessions_do_not_see_each_others_images(client, images):
    first = _open(client, *images)
    second = _open(client)
    answer = client.get(second + "/preview.jpg")
    assert answer.status_code == 400 and "upload a source" in answer.json()["error"]
    assert client.get(first + "/preview.jpg", params={"method": "linear"}).status_code == 200
    assert client.get("/api/session/not-a-session/preview.jpg").status_code == 404


def test_uploads_stay_in_the_private_folder_under_server_names(images):
    with _client() as client:
        store = client.app.state.store
        assert store.root.stat().st_mode & 0o777 == 0o700
        api = _open(client)
        answer = client.post(api + "/image/source", content=images[0].read_bytes(),
                             headers={"X-File-Name": "..%2F..%2Fevil.jpg"})
        assert answer.json()["name"] == "evil.jpg"
        session_folder = store.root / api.rsplit("/", 1)[1]
        names = sorted(p.name for p in store.root.rglob("*"))
        assert names == sorted([session_folder.name, "source.jpg", "pid"])
        assert client.post(api + "/image/../../x", content=b"x").status_code == 404
    assert not store.root.exists()  # removed when the server stops


# -- bad uploads ---------------------------------------------------------------------------------


def _png_header(width, height):
    """A PNG whose header claims width x height gray pixels, with one compressed row of data."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * (width + 1))) \
        + chunk(b"IEND", b"")


def test_bad_uploads_get_one_clear_message(client, images):
    api = _open(client)
    jpeg = images[0].read_bytes()
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, format="GIF")
    cases = {
        b"this is not an image\n": "not an image",
        jpeg[: len(jpeg) // 2]: "truncated",
        _png_header(50_000, 50_000): "pixels",  # a decompression bomb: 2.5 gigapixels claimed
        _png_header(1200, 1000): "more than the 1,000,000",
        gif.getvalue(): "GIF images are not supported",
        b"": "empty",
    }
    for body, message in cases.items():
        answer = client.post(api + "/image/source", content=body, headers={"X-File-Name": "x.jpg"})
        assert answer.status_code == 400, (message, answer.text)
        assert message in answer.json()["error"]
        assert "Traceback" not in answer.text and "/tmp" not in answer.text
    assert list(client.app.state.store.root.rglob("*.*")) == []


def test_upload_over_the_byte_cap_is_refused_while_reading(images):
    with _client(max_bytes=4_000) as client:
        api = _open(client)
        body = images[0].read_bytes()
        assert len(body) > 4_000
        answer = client.post(api + "/image/source", content=body)
        assert answer.status_code == 413 and "4,000" in answer.json()["error"]
        chunked = client.post(api + "/image/source", content=iter([body[:3000], body[3000:]]))
        assert chunked.status_code == 413


def test_sixteen_bit_source_is_kept(client, tmp_path, images):
    deep = tmp_path / "deep.png"
    imgot.write_image(deep, (load_sample("rocket.jpg", (64, 40)).astype(np.uint16) * 257))
    api = _open(client, reference=images[1])
    answer = client.post(api + "/image/source", content=deep.read_bytes())
    assert answer.json()["dtype"] == "uint16"


# -- preview and sliders -------------------------------------------------------------------------


SLIDERS = [
    ("emd", {"strength": 0.4}, {"strength": 0.9}),
    ("emd", {"preserve_luminance": True}, {"preserve_luminance": False}),
    ("emd", {"preserve_detail": True, "strength": 0.7}, {"preserve_detail": False, "strength": 0.7}),
    ("emd", {"n_clusters": 4}, {"n_clusters": 24}),
    ("sinkhorn", {"reg": 0.5}, {"reg": 0.005}),
    ("unbalanced", {"reg_m": 0.3, "reg": 0.1}, {"reg_m": 5.0, "reg": 0.1}),
    ("sliced", {"n_iter": 2, "strength": 0.6}, {"n_iter": 12, "strength": 0.6}),
    ("linear", {"strength": 0.5}, {"strength": 1.0}),
    ("histogram", {"strength": 0.5, "preserve_luminance": True}, {"strength": 1.0}),
]


@pytest.mark.parametrize("method, settings, other", SLIDERS)
def test_each_slider_moves_the_preview_as_the_library_would(client, images, method, settings, other):
    api = _open(client, *images)
    source, reference = (imgot.read_image(path) for path in images)
    preview = downscale(source)

    def truth(values):  # the library on the same preview, through the same JPEG encoder settings
        out = imgot.ColorTransfer(method=method, **values).fit(reference).transform(preview)
        buffer = io.BytesIO()
        Image.fromarray(out).save(buffer, format="JPEG", quality=90)
        return _decode(buffer.getvalue())

    if method in ("emd", "sinkhorn", "unbalanced") and "n_clusters" not in settings:
        settings, other = {"n_clusters": 16, **settings}, {"n_clusters": 16, **other}  # quicker
    shown = {}
    for values in (settings, other):
        answer = client.get(api + "/preview.jpg", params={"method": method, **values})
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
        assert answer.headers["server-timing"].startswith("preview;dur=")
        shown[str(values)] = _decode(answer.content)
    a, b = shown.values()
    error_a = np.abs(a - truth(settings)).mean()
    error_b = np.abs(b - truth(other)).mean()
    moved = np.abs(truth(settings) - truth(other)).mean()
    assert a.shape == preview.shape
    assert max(error_a, error_b) < 1.5  # mean, in 8-bit levels: see imgot.serve.preview
    assert np.abs(a - b).mean() > 0.5 * moved > 0  # the slider shows what the library does


def test_strength_zero_shows_the_source(client, images):
    api = _open(client, *images)
    before = _decode(client.get(api + "/image/source/preview.jpg").content)
    after = _decode(client.get(api + "/preview.jpg", params={"strength": 0, "method": "emd"}).content)
    assert np.abs(after - before).max() <= 1


def test_bad_settings_name_the_setting(client, images):
    api = _open(client, *images)
    for query, message in (({"strength": "abc"}, "strength must be a number"),
                           ({"strength": "2"}, "strength must be in [0, 1]"),
                           ({"method": "magic"}, "unknown method 'magic'"),
                           ({"n_clusters": "0"}, "n_clusters must be an integer >= 1"),
                           ({"preserve_detail": "maybe"}, "preserve_detail must be true or false")):
        answer = client.get(api + "/preview.jpg", params=query)
        assert answer.status_code == 400 and message in answer.json()["error"]


def test_config_lists_every_method_and_the_library_defaults(client):
    config = client.get("/api/config").json()
    assert tuple(config["methods"]) == imgot.METHOD_NAMES
    assert set(METHOD_SETTINGS) == set(imgot.METHOD_NAMES)
    assert config["methods"] == {name: list(value) for name, value in method_settings().items()}
    assert config["defaults"] == defaults()
    assert config["defaults"]["method"] == imgot.ColorTransfer().method


# -- palettes, plan, metrics -------------------------------------------------------------------


def test_palettes_plan_and_metrics_match_the_library(client, images):
    from imgot import metrics
    from imgot.planview import hex_colors

    api = _open(client, *images)
    source, reference = (imgot.read_image(path) for path in images)
    preview = downscale(source)
    color_map = imgot.ColorTransfer(method="emd", n_clusters=12).fit(reference).color_map(preview)
    palettes = client.get(api + "/palettes", params={"method": "emd", "n_clusters": 12}).json()
    assert {row["hex"] for row in palettes["source"]} == set(hex_colors(color_map.source_palette.colors))
    assert sum(row["weight"] for row in palettes["reference"]) == pytest.approx(1.0)
    plan = client.get(api + "/plan.png", params={"method": "emd", "n_clusters": 12})
    assert Image.open(io.BytesIO(plan.content)).size == (640, 420)
    none = client.get(api + "/plan.png", params={"method": "linear"})
    assert none.status_code == 404 and "no transport plan" in none.json()["error"]

    values = client.get(api + "/metrics", params={"method": "linear", "strength": 0.8}).json()
    out = imgot.ColorTransfer(method="linear", strength=0.8).fit(reference).transform(preview)
    reference_preview = downscale(reference)
    assert values["color_distance_before"] == metrics.color_distance(preview, reference_preview)
    assert values["color_distance"] == pytest.approx(metrics.color_distance(out, reference_preview), abs=0.5)
    assert values["color_distance"] < values["color_distance_before"]
    assert values["structure"] == pytest.approx(metrics.structure_similarity(preview, out), abs=0.01)
    assert values["grain"] == pytest.approx(metrics.grain(preview, out), abs=0.05)


# -- downloads: the CLI's bytes ------------------------------------------------------------------


def _cli(command: str, cwd: Path) -> None:
    words = shlex.split(command)
    assert words[:2] == ["imgot", "transfer"]
    import os

    subprocess.run([sys.executable, "-m", "imgot", *words[1:]], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})  # this checkout's imgot, as the server's


@pytest.mark.parametrize("settings", [
    {},  # the library's defaults, whatever they are
    {"method": "sinkhorn", "strength": 0.6, "preserve_luminance": True, "n_clusters": 16, "reg": 0.05},
])
@pytest.mark.slow  # a subprocess
def test_downloaded_result_equals_the_cli_output(client, images, tmp_path, settings):
    api = _open(client, *images)
    command = client.get(api + "/command", params=settings).json()["command"]
    start = f"imgot transfer {shlex.quote(images[0].name)} coffee.png -o 'rocket small_imgot.jpg'"
    assert command.startswith(start)
    result = client.get(api + "/download/result", params=settings)
    assert result.status_code == 200, result.text
    assert "rocket%20small_imgot.jpg" in result.headers["content-disposition"]
    _cli(command, tmp_path)  # the very command the page shows
    assert result.content == (tmp_path / "rocket small_imgot.jpg").read_bytes()


def test_downloaded_lut_is_the_models_lut(client, images, tmp_path):
    from imgot.cube import read_cube, write_cube

    api = _open(client, *images)
    settings = {"method": "linear", "strength": 0.7, "preserve_luminance": True}
    lut = client.get(api + "/download/lut", params=settings)
    assert lut.status_code == 200 and lut.headers["content-disposition"].endswith("rocket%20small_imgot.cube")
    source, reference = (imgot.read_image(path) for path in images)
    expected = imgot.ColorTransfer(**settings).fit(reference).color_lut(source)
    write_cube(tmp_path / "expected.cube", expected, title="imgot transfer to coffee.png")
    assert lut.content == (tmp_path / "expected.cube").read_bytes()
    (tmp_path / "got.cube").write_bytes(lut.content)
    assert np.allclose(read_cube(tmp_path / "got.cube").table, expected.table, atol=1e-6)
    refused = client.get(api + "/download/lut", params={"method": "histogram"})
    assert refused.status_code == 400 and "not a single 3-D LUT" in refused.json()["error"]


@pytest.mark.slow  # a subprocess
def test_sixteen_bit_download_equals_the_cli(client, tmp_path, images):
    deep = tmp_path / "deep.png"
    imgot.write_image(deep, load_sample("rocket.jpg", (96, 64)).astype(np.uint16) * 257 + 100)
    api = _open(client, deep, images[1])
    settings = {"method": "linear", "strength": 0.7}
    result = client.get(api + "/download/result", params=settings)
    _cli(client.get(api + "/command", params=settings).json()["command"], tmp_path)
    assert result.content == (tmp_path / "deep_imgot.png").read_bytes()
    assert imgot.read_image(tmp_path / "deep_imgot.png").dtype == np.uint16


def test_downloaded_transfer_loads_back(client, images, tmp_path):
    api = _open(client, *images)
    settings = {"method": "emd", "n_clusters": 10, "strength": 0.8}
    saved = tmp_path / "transfer.npz"
    saved.write_bytes(client.get(api + "/download/transfer", params=settings).content)
    source, reference = (imgot.read_image(path) for path in images)
    expected = imgot.ColorTransfer(**settings).fit(reference).transform(source)
    assert np.array_equal(imgot.load(saved).transform(source), expected)
    refused = client.get(api + "/download/transfer", params={"method": "histogram"})
    assert refused.status_code == 400 and "saving is implemented for" in refused.json()["error"]


# -- the command line and the command ----------------------------------------------------------


@pytest.mark.parametrize("settings", [
    {},
    {"method": "unbalanced", "reg": 0.2, "reg_m": 3.0, "n_clusters": 9, "strength": 0.25,
     "preserve_luminance": True, "preserve_detail": True, "random_state": 7, "color_space": "rgb"},
    {"method": "sliced", "n_iter": 5, "preserve_detail": False, "preserve_luminance": False},
])
def test_command_line_parses_back_to_the_same_settings(settings):
    from imgot.cli.transfer import transfer
    from imgot.serve.params import PARAMETERS

    expected = {**defaults(), **settings}
    words = shlex.split(transfer_command_line("my photo.jpg", "ref.png", "out.jpg", expected))
    assert words[:6] == ["imgot", "transfer", "my photo.jpg", "ref.png", "-o", "out.jpg"]
    context = transfer.make_context("transfer", words[2:])
    assert {name: context.params[name] for name in PARAMETERS} == expected


def test_serve_refuses_a_port_in_use_with_one_error_line():
    import socket

    from click.testing import CliRunner

    from imgot.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = CliRunner().invoke(main, ["serve", "--port", str(busy.getsockname()[1])])
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot listen on 127.0.0.1:") and result.output.count("\n") == 1


@pytest.mark.slow  # a subprocess
def test_help_does_not_import_the_server():
    code = ("import sys, imgot.cli; "
            "print(sorted(m for m in ('starlette', 'uvicorn', 'imgot.serve') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_static_files_ship_in_the_wheel():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    root = Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "imgot.serve" in config["packages"]
    patterns = config["package-data"]["imgot.serve"]
    shipped = {p for pattern in patterns for p in (root / "imgot/serve").glob(pattern)}
    assert shipped == set((root / "imgot/serve/static").iterdir())
    page = (root / "imgot/serve/static/index.html").read_text()
    assert "http" not in page.replace("http-equiv", "")  # no CDN: the page works offline


# -- a real server on loopback: origins, token header, headers, bounds, downloads -------------------


class Server:
    """A real ``imgot serve --port 0`` process, spoken to with :mod:`http.client`."""

    def __init__(self, cwd: Path):
        import os

        self.process = subprocess.Popen([sys.executable, "-m", "imgot", "serve", "--port", "0"], cwd=cwd,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)})
        line = self.process.stdout.readline()
        assert "http://127.0.0.1:" in line, line + self.process.stderr.read()
        self.url = line.split("open ", 1)[1].strip()
        self.port = int(self.url.split(":")[2].split("/")[0])
        self.token = self.url.split("token=", 1)[1]

    def request(self, method: str, path: str, body: bytes | None = None, token: bool = True, **headers):
        """``(status, headers, body)`` of one request; `token` adds the X-Imgot-Token header."""
        import http.client

        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        sent = {"Host": f"127.0.0.1:{self.port}", **{k.replace("_", "-"): v for k, v in headers.items()}}
        if token:
            sent["X-Imgot-Token"] = self.token
        try:
            connection.request(method, path, body=body, headers=sent)
            answer = connection.getresponse()
            return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
        finally:
            connection.close()

    def open(self, *images: Path) -> str:
        import json

        status, _, body = self.request("POST", "/api/session")
        assert status == 200, body
        api = f"/api/session/{json.loads(body)['session']}"
        for role, path in zip(("source", "reference"), images):
            status, _, body = self.request("POST", f"{api}/image/{role}", path.read_bytes(),
                                           X_File_Name=path.name)
            assert status == 200, body
        return api

    def stop(self, signal_number: int | None = None) -> str:
        import signal

        self.process.send_signal(signal_number or signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        finally:
            self.process.kill()
        return self.process.stderr.read()


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("uvicorn")
    running = Server(tmp_path_factory.mktemp("serve"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def served(server, tmp_path_factory):
    """The server with a session holding a source (JPEG) and a reference (PNG), and a folder with both."""
    folder = tmp_path_factory.mktemp("images")
    source, reference = folder / "rocket small.jpg", folder / "coffee.png"
    Image.fromarray(load_sample("rocket.jpg", (200, 134))).save(source, quality=92)
    Image.fromarray(load_sample("coffee.jpg", (180, 120))).save(reference)
    return server, server.open(source, reference), folder


def _json(body: bytes) -> dict:
    import json

    return json.loads(body)


def test_url_is_printed_once_the_server_listens(server):
    status, _, _ = server.request("GET", "/api/config")  # the fixture connects right after the line
    assert status == 200


def test_post_from_another_local_page_is_refused_and_the_session_survives(served):
    server, api, _ = served
    other = f"http://127.0.0.1:{server.port + 1}"
    cookie = f"imgot-token-{server.port}={server.token}"
    attacks = [  # what a page on another port can send: the cookie goes along (SameSite ignores ports)
        dict(token=False, Origin=other, Cookie=cookie, Sec_Fetch_Site="same-site"),
        dict(token=False, Origin=other, Cookie=cookie),
        dict(token=False, Cookie=cookie, Sec_Fetch_Site="same-site"),
        dict(token=True, Origin=other),  # even with the token, another origin is refused
        dict(token=True, Origin="null"),
        dict(token=True, Sec_Fetch_Site="cross-site"),
    ]
    for headers in attacks * 3:  # more than the 16 sessions kept, as in the report
        for path in ("/api/session", api + "/image/reference"):
            status, answer, body = server.request("POST", path, b"x", **headers)
            assert status == 403, (headers, path, body)
            assert answer["x-content-type-options"] == "nosniff"
    status, _, _ = server.request("GET", api + "/preview.jpg?method=linear")
    assert status == 200  # the user's session and images are still there
    own = f"http://127.0.0.1:{server.port}"
    status, _, _ = server.request("POST", "/api/session", Origin=own, Sec_Fetch_Site="same-origin")
    assert status == 200


def test_cookie_alone_never_drives_the_api(served):
    server, api, _ = served
    status, headers, _ = server.request("GET", f"/?token={server.token}", token=False)
    assert status == 200 and "HttpOnly" in headers["set-cookie"]
    cookie = headers["set-cookie"].split(";", 1)[0]
    assert server.request("GET", "/static/app.js", token=False, Cookie=cookie)[0] == 200
    for method, path in (("GET", "/api/config"), ("POST", "/api/session"),
                         ("GET", api + "/preview.jpg"), ("GET", api + "/download/result")):
        assert server.request(method, path, token=False, Cookie=cookie)[0] == 403, path
        assert server.request(method, f"{path}?token={server.token}", token=False)[0] == 403, path


ENDPOINTS = ("/preview.jpg", "/metrics", "/palettes", "/plan.png", "/command", "/download/result",
             "/download/lut", "/download/transfer")


def test_every_answer_carries_nosniff_and_the_json_and_downloads_no_store(served):
    server, api, _ = served
    paths = ["/", "/static/app.js", "/api/config", api + "/image/source/preview.jpg",
             "/api/session/nope/metrics",
             *(api + path + "?method=emd&n_clusters=8" for path in ENDPOINTS)]
    for path in paths:
        status, headers, _ = server.request("GET", path)
        assert status in (200, 404), (path, status)
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "no-referrer", path
        assert headers["cache-control"] == "no-store", path
    assert server.request("GET", "/api/config", token=False)[1]["cache-control"] == "no-store"  # refusals too


@pytest.mark.parametrize("query, message", [
    ("strength=2", "strength must be in [0, 1]"), ("strength=nan", "strength must be in [0, 1]"),
    ("strength=-3", "strength must be in [0, 1]"), ("strength=inf", "strength must be in [0, 1]"),
    ("reg=nan&method=sinkhorn", "reg must be a finite positive number"),
    ("n_iter=600&method=sliced", "n_iter must be at most 60"),
    ("n_clusters=1000&method=emd", "n_clusters must be at most 128"),
    ("random_state=-1", "random_state must be None or an integer seed"),
])
def test_out_of_range_settings_are_refused_on_every_endpoint_after_a_fit(served, query, message):
    server, api, _ = served
    assert server.request("GET", api + "/preview.jpg?method=emd&n_clusters=8")[0] == 200  # a cached model
    for path in ENDPOINTS:
        status, headers, body = server.request("GET", f"{api}{path}?method=emd&n_clusters=8&{query}")
        assert status == 400, (path, query, body[:80])
        error = _json(body)["error"]
        assert message in error and "\n" not in error, (path, error)


@pytest.mark.slow  # a subprocess
def test_download_after_slider_moves_has_the_last_settings_byte_equal_to_the_cli(served, tmp_path):
    server, api, folder = served
    for strength in (1.0, 0.8, 0.55, 0.3):  # the slider moves; each move asks for a preview
        assert server.request("GET", f"{api}/preview.jpg?method=linear&strength={strength}")[0] == 200
    query = "method=linear&strength=0.3&preserve_detail=true"
    status, _, result = server.request("GET", f"{api}/download/result?{query}")
    command = _json(server.request("GET", f"{api}/command?{query}")[2])["command"]
    assert status == 200 and "--strength 0.3" in command
    for path in folder.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    _cli(command, tmp_path)
    assert result == (tmp_path / "rocket small_imgot.jpg").read_bytes()


def test_a_preview_does_not_wait_behind_a_side_panel(served):
    import threading

    server, api, _ = served
    assert server.request("GET", f"{api}/preview.jpg?method=linear")[0] == 200  # linear fitted and cached
    overtaken = []
    # Each attempt starts a new palette fit (k-means of over 100 clusters) and an unbalanced plan behind the
    # plan picture (about 1 s on a quiet machine; an emd plan, about 0.2 s, raced a 0.1 s preview), then asks
    # for a preview. A server that queued the preview behind the plan would lose every attempt; on a busy
    # machine a free-running preview can lose one by chance (the plan's k-means takes the cores), not three.
    for n_clusters in (127, 126, 125):
        done = {}

        def slow(n_clusters=n_clusters):
            done["plan"] = server.request("GET", f"{api}/plan.png?method=unbalanced&n_clusters={n_clusters}")[0]

        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.1)
        status, _, _ = server.request("GET", f"{api}/preview.jpg?method=linear&strength={n_clusters / 200}")
        assert status == 200
        overtaken.append("plan" not in done)  # the preview came back while the plan was still being computed
        thread.join()
        assert done["plan"] in (200, 409)  # 409: the plan, overtaken by that preview, was dropped as stale
        assert server.request("GET", f"{api}/plan.png?method=unbalanced&n_clusters={n_clusters}")[0] == 200  # kept
        if overtaken[-1]:
            break
    assert overtaken[-1], overtaken


def test_ctrl_c_stops_the_server_with_one_line_and_no_batch_message(tmp_path):
    import signal

    pytest.importorskip("uvicorn")
    running = Server(tmp_path)
    assert running.request("GET", "/api/config")[0] == 200
    root = next(p for p in Path(__import__("tempfile").gettempdir()).glob("imgot-serve-*")
                if (p / "pid").exists() and (p / "pid").read_text() == str(running.process.pid))
    errors = running.stop(signal.SIGINT)
    assert "rerun" not in errors and "Traceback" not in errors
    assert errors.strip().splitlines()[-1] == "imgot serve: stopped; the uploads are removed"
    assert running.process.returncode == 0
    assert not root.exists()


# -- names, hosts, leftovers --------------------------------------------------------------------------


@pytest.mark.slow  # a subprocess
def test_a_source_named_like_an_option_gives_a_command_that_runs(client, images, tmp_path):
    api = _open(client)
    for role, path, name in (("source", images[0], "-o.jpg"), ("reference", images[1], "--help.png")):
        client.post(f"{api}/image/{role}", content=path.read_bytes(), headers={"X-File-Name": name})
        (tmp_path / name).write_bytes(path.read_bytes())
    settings = {"method": "linear", "strength": 0.6}
    command = client.get(api + "/command", params=settings).json()["command"]
    assert command.startswith("imgot transfer ./-o.jpg ./--help.png -o ./-o_imgot.jpg")
    _cli(command, tmp_path)
    result = client.get(api + "/download/result", params=settings).content
    assert result == (tmp_path / "-o_imgot.jpg").read_bytes()


def test_an_error_never_shows_the_server_folder(client, images):
    api = _open(client, *images)
    store = client.app.state.store
    for path in store.root.rglob("source.*"):
        path.unlink()  # the stored file is gone (a cleaner ran): the download fails
    answer = client.get(api + "/download/result", params={"method": "linear"})
    assert answer.status_code == 400
    assert str(store.root) not in answer.text
    assert "/tmp" not in answer.text and "imgot-serve" not in answer.text


def test_a_non_loopback_host_needs_expose():
    from click.testing import CliRunner

    from imgot.cli import main

    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 2 and "--expose" in result.output
    app = create_app(token=TOKEN, host="0.0.0.0", port=8765, extra_hosts=("192.168.1.20", "mybox"))
    with TestClient(app, base_url="http://192.168.1.20:8765", headers={"X-Imgot-Token": TOKEN}) as lan:
        assert lan.get("/api/config").status_code == 200
        assert lan.get("/api/config", headers={"Host": "mybox:8765"}).status_code == 200
        assert lan.get("/api/config", headers={"Host": "evil.example:8765"}).status_code == 403


@pytest.mark.slow  # a subprocess
def test_folders_of_a_killed_server_are_removed_at_the_next_start(tmp_path):
    from imgot.serve.session import remove_orphans

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    orphan, alive, foreign = (tmp_path / f"imgot-serve-{name}" for name in ("orphan", "alive", "old"))
    for folder, pid in ((orphan, dead), (alive, str(__import__("os").getpid())), (foreign, None)):
        (folder / "session").mkdir(parents=True)
        (folder / "session" / "source.jpg").write_bytes(b"x")
        if pid:
            (folder / "pid").write_text(pid)
    assert remove_orphans(tmp_path) == [orphan]
    assert not orphan.exists() and alive.exists() and foreign.exists()


def test_metrics_use_the_shown_preview_and_the_distance_of_color_distance(client, images):
    from imgot import metrics

    api = _open(client, *images)
    settings = {"method": "emd", "n_clusters": 8, "strength": 0.6}
    client.get(api + "/preview.jpg", params=settings)
    values = client.get(api + "/metrics", params=settings).json()
    session = client.app.state.store.get(api.rsplit("/", 1)[1])
    from imgot.serve.params import parse_params

    shown = session.output(parse_params({k: str(v) for k, v in settings.items()}))
    reference = session.uploads["reference"].preview
    assert values["color_distance"] == metrics.color_distance(shown, reference)
    assert values["structure"] == metrics.structure_similarity(session.uploads["source"].preview, shown)


def test_memo_computes_a_key_once_and_different_keys_side_by_side():
    import threading

    from imgot.serve.session import Memo

    memo, calls = Memo(4), []

    def compute(key):
        def run():
            calls.append(key)
            time.sleep(0.3)
            return key * 2
        return run

    results = {}
    threads = [threading.Thread(target=lambda k=k, i=i: results.__setitem__(i, memo.get((k,), compute(k))))
               for i, k in enumerate([1, 1, 1, 2])]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(calls) == [1, 2]  # three askers of key 1 shared one computation
    assert results == {0: 2, 1: 2, 2: 2, 3: 4}
    assert time.perf_counter() - started < 0.55  # keys 1 and 2 were computed at the same time
    for key in range(3, 8):
        memo.get((key,), lambda: None)
    assert memo.get((1,), lambda: "recomputed") == "recomputed"  # only the 4 most recent are kept


def test_a_side_panel_overtaken_by_a_preview_is_stale(client, images):
    from imgot.serve.session import Stale

    api = _open(client, *images)
    session = client.app.state.store.get(api.rsplit("/", 1)[1])
    ticket = session.previews
    session.check_fresh(ticket)
    client.get(api + "/preview.jpg", params={"method": "linear"})
    with pytest.raises(Stale):
        session.check_fresh(ticket)


def test_metrics_of_a_one_pixel_source_send_null_for_the_scores_it_cannot_have(client, images, tmp_path):
    Image.fromarray(np.array([[[200, 40, 30]]], np.uint8)).save(tmp_path / "dot.png")
    api = _open(client, tmp_path / "dot.png", images[1])
    answer = client.get(api + "/metrics", params={"method": "linear"})
    assert answer.status_code == 200, answer.text
    values = answer.json()
    assert values["structure"] is None and values["grain"] is None and values["color_distance"] > 0
