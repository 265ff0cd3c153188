"""The routes of ``imgot serve``: the page, uploads, the live preview, pictures, metrics, downloads.

Every route is behind :class:`~imgot.serve.security.TokenAndHostMiddleware`.
Settings travel in the query string (see :mod:`imgot.serve.params`); a
session id (``POST /api/session``) names the visitor's images, so that the
URL never carries a path. The full-resolution download runs the same library
calls as ``imgot transfer`` with the same options, so its bytes are the
command's.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import os
import secrets
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Callable

import numpy as np
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..exceptions import ImgotError
from .params import FIT, PLAN, SERVER_MAX, defaults, method_settings, parse_params
from .security import TokenAndHostMiddleware, allowed_hosts, cookie_name
from .session import ROLES, Inputs, Limits, Session, SessionStore, Stale

__all__ = ["create_app"]

STATIC = Path(__file__).parent / "static"
CommandLine = Callable[[str, str, str, dict], str]


def _distance_defaults() -> dict:
    from ..metrics import color_distance

    return {name: value.default for name, value in inspect.signature(color_distance).parameters.items()
            if value.default is not inspect.Parameter.empty}


_DISTANCE = _distance_defaults()  # color_distance's own sampling settings, so the cached half matches


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _one_line(error: BaseException, folder: Path) -> str:
    """The first line of an error's message, without the server's temporary folder in it."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text.replace(f"{folder.parent}{os.sep}", "").replace(str(folder.parent), "the server's folder")


def _handled(endpoint):
    """Turn the library's errors into a JSON message with status 400 (never a stack trace, never a path).

    No lock is held here: the session's caches (:class:`~imgot.serve.session.Memo`)
    let a preview run beside a side panel or a download. A side panel overtaken
    by a newer preview answers 409 ``stale`` (the page drops it).
    """

    @functools.wraps(endpoint)
    def wrapper(request: Request):
        session = request.app.state.store.get(request.path_params.get("session", ""))
        if session is None:
            return _error("unknown session; reload the page", 404)
        try:
            return endpoint(request, session)
        except Stale:
            return _error("stale: a newer preview was asked for", 409)
        except (ImgotError, ValueError, TypeError, OSError) as error:
            return _error(_one_line(error, session.folder))
        except MemoryError:
            return _error("not enough memory for this image size; try a smaller image", 507)

    return wrapper


def _output_name(session: Session) -> str:
    source = session.uploads["source"]
    return f"{Path(source.name).stem}_imgot{source.path.suffix}"


def _attachment(path: Path, name: str, media_type: str) -> FileResponse:
    """`path` sent as a download named `name`, then removed (each download has its own file)."""
    return FileResponse(path, media_type=media_type, filename=name,
                        background=BackgroundTask(path.unlink, missing_ok=True))


def _scratch(session: Session, suffix: str) -> Path:
    """A fresh file name in the session's folder: parallel downloads never share one."""
    return session.folder / f"download-{secrets.token_hex(6)}{suffix}"


# -- the page and its settings ------------------------------------------------------------


_PAGE_HEADERS = {
    # Only this server's scripts, styles and images (and the previews' blob: URLs); no framing.
    "content-security-policy": "default-src 'self'; img-src 'self' blob:; frame-ancestors 'none'",
}
_TOKEN_SLOT = '<meta name="imgot-token" content="">'


async def index(request: Request) -> Response:
    """The page, with the token in a ``<meta>`` tag: the page sends it as a header on every API call."""
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    page = page.replace(_TOKEN_SLOT, f'<meta name="imgot-token" content="{request.app.state.token}">')
    return HTMLResponse(page, headers=_PAGE_HEADERS)


async def config(request: Request) -> JSONResponse:
    limits = request.app.state.store.limits
    return JSONResponse({"defaults": defaults(), "methods": method_settings(), "max": SERVER_MAX,
                         "max_bytes": limits.max_bytes, "max_pixels": limits.max_pixels})


async def new_session(request: Request) -> JSONResponse:
    return JSONResponse({"session": request.app.state.store.open().id})


async def upload(request: Request) -> JSONResponse:
    """The image is the raw request body (the page sends the file as is), read up to the byte cap."""
    store: SessionStore = request.app.state.store
    session = store.get(request.path_params["session"])
    role = request.path_params["role"]
    if session is None:
        return _error("unknown session; reload the page", 404)
    if role not in ROLES:
        return _error(f"role must be one of {', '.join(ROLES)}", 404)
    cap = store.limits.max_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        return _error(f"the file is {int(declared):,} bytes, more than the {cap:,} this server accepts", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            return _error(f"the file is more than the {cap:,} bytes this server accepts", 413)
        chunks.append(chunk)
    if not size:
        return _error("the upload is empty")
    from urllib.parse import unquote

    name = unquote(request.headers.get("x-file-name", role))
    try:
        image = await run_in_threadpool(session.add_image, role, b"".join(chunks), name)
    except (ImgotError, ValueError, TypeError, OSError) as error:
        return _error(_one_line(error, session.folder))
    except MemoryError:
        return _error("not enough memory to decode this image; try a smaller one", 507)
    height, width = image.shape[:2]
    return JSONResponse({"role": role, "name": image.name, "width": width, "height": height,
                         "channels": 1 if len(image.shape) == 2 else image.shape[2], "dtype": image.dtype})


# -- the preview and what sits beside it ----------------------------------------------------


@_handled
def upload_preview(request: Request, session: Session) -> Response:
    from .preview import encode_jpeg

    role = request.path_params["role"]
    if role not in ROLES:
        return _error(f"role must be one of {', '.join(ROLES)}", 404)
    (image,) = session.require(role)
    return Response(encode_jpeg(image.preview), media_type="image/jpeg")


@_handled
def preview(request: Request, session: Session) -> Response:
    """The source preview through the current settings; ``Server-Timing`` gives the server time."""
    from .preview import encode_jpeg

    started = time.perf_counter()
    params = parse_params(request.query_params)
    session.preview_started()
    inputs = session.inputs
    session.require("source", "reference", inputs=inputs)
    body = encode_jpeg(session.output(params, inputs))
    elapsed = (time.perf_counter() - started) * 1000.0
    return Response(body, media_type="image/jpeg", headers={"server-timing": f"preview;dur={elapsed:.1f}"})


def _lab_sample(image: np.ndarray) -> np.ndarray:
    """CIELAB colors of the seeded pixel sample that :func:`imgot.metrics.color_distance` draws of `image`."""
    from ..colorspace import srgb_to_lab
    from ..palette import sample_rgb
    from ..pixels import as_pixels

    return srgb_to_lab(sample_rgb(as_pixels(image), _DISTANCE["n_samples"], _DISTANCE["random_state"],
                                  replace=False))


def _reference_sample(inputs: Inputs) -> np.ndarray:
    return _lab_sample(inputs.uploads["reference"].preview)


def _distance_to_reference(session: Session, image: np.ndarray, inputs: Inputs) -> float:
    """``color_distance(image, reference preview)``, with the reference's half computed once per upload.

    The previews are opaque 8-bit RGB (alpha is dropped by the downscale), as
    color_distance sees them; a test checks the two agree to the last bit.
    """
    from ..transport import random_directions, sliced_wasserstein

    reference = session.constant("reference-lab", _reference_sample, inputs)
    directions = random_directions(3, _DISTANCE["n_projections"], _DISTANCE["random_state"])
    return sliced_wasserstein(_lab_sample(image), reference, directions)


@_handled
def metrics(request: Request, session: Session) -> JSONResponse:
    """The metrics of the preview shown: the output is the preview's own (cached), the constants cached."""
    from ..metrics import grain, structure_similarity

    ticket = session.previews
    params = parse_params(request.query_params)
    inputs = session.inputs
    source, reference = session.require("source", "reference", inputs=inputs)
    out = session.output(params, inputs)
    session.check_fresh(ticket)
    before = session.constant("distance-before",
                              lambda i: _distance_to_reference(session, source.preview, i), inputs)
    distance = _distance_to_reference(session, out, inputs)
    session.check_fresh(ticket)
    structure = structure_similarity(source.preview, out)
    session.check_fresh(ticket)
    return JSONResponse({"color_distance": distance, "color_distance_before": before,
                         "structure": structure, "grain": grain(source.preview, out)})


def _palette_rows(palette, color_space: str) -> list[dict]:
    from ..planview import hex_colors

    weights = palette.weights / palette.weights.sum()
    rows = sorted(zip(hex_colors(palette.colors, color_space), weights), key=lambda row: -row[1])
    return [{"hex": color, "weight": float(weight)} for color, weight in rows]


def _space(params: dict) -> str:
    from ..methods import default_color_space

    return params["color_space"] or default_color_space(params["method"])


@_handled
def palettes(request: Request, session: Session) -> JSONResponse:
    ticket = session.previews
    params = parse_params(request.query_params)
    session.require("source", "reference")
    color_map = session.color_map(params)
    if color_map is None:
        return JSONResponse({"source": None, "reference": None,
                             "note": f"{params['method']} has no palettes"})
    session.check_fresh(ticket)
    space = _space(params)
    return JSONResponse({"source": _palette_rows(color_map.source_palette, space),
                         "reference": _palette_rows(color_map.reference_palette, space)})


@_handled
def plan(request: Request, session: Session) -> Response:
    from ..planview import draw_plan
    from .preview import encode_png

    ticket = session.previews
    params = parse_params(request.query_params)
    session.require("source", "reference")
    color_map = session.color_map(params)
    if color_map is None:
        return _error(f"{params['method']} has no transport plan between palettes", 404)
    session.check_fresh(ticket)
    key = ("plan.png", *(params[name] for name in FIT + PLAN))  # the plan does not depend on strength
    body = session.constant(
        key, lambda _: encode_png(draw_plan(color_map, 640, 420, color_space=_space(params))))
    return Response(body, media_type="image/png")


def _argument(name: str) -> str:
    """A file name as a command-line argument: ``./-o.jpg`` for a name an option parser would take."""
    return f"./{name}" if name.startswith("-") else name


@_handled
def command(request: Request, session: Session) -> JSONResponse:
    params = parse_params(request.query_params)
    source, reference = session.require("source", "reference")
    build: CommandLine | None = request.app.state.command_line
    names = (_argument(source.name), _argument(reference.name), _argument(_output_name(session)))
    return JSONResponse({"command": build(*names, params) if build else None})


# -- full-resolution downloads ---------------------------------------------------------------


def _full_model(inputs: Inputs, params: dict):
    """A fresh estimator fitted on the full reference, as ``imgot transfer`` builds it."""
    from ..transfer import ColorTransfer

    return ColorTransfer(**params).fit(inputs.reference_pixels)  # io.load_image of the stored file


@_handled
def download_result(request: Request, session: Session) -> Response:
    """The full-resolution result: ``imgot transfer``'s calls and options, its bytes."""
    from .. import io

    params = parse_params(request.query_params)
    inputs = session.inputs
    source = session.require("source", "reference", inputs=inputs)[0]
    model = _full_model(inputs, params)
    image = io.load_image(source.path)
    result = model.transform(image.pixels)
    target = _scratch(session, source.path.suffix)
    io.write_image(target, result, icc_profile=image.icc_profile, exif=image.exif, quality=95, overwrite=True)
    media = {".jpg": "image/jpeg", ".png": "image/png", ".tif": "image/tiff", ".webp": "image/webp"}
    return _attachment(target, _output_name(session), media[source.path.suffix])


@_handled
def download_lut(request: Request, session: Session) -> Response:
    """The full-resolution color map as a ``.cube``, as ``imgot transfer --save-lut`` writes it."""
    from .. import io
    from ..cube import cube_title, write_cube

    params = parse_params(request.query_params)
    inputs = session.inputs
    source, reference = session.require("source", "reference", inputs=inputs)
    lut = _full_model(inputs, params).color_lut(io.load_image(source.path).pixels)
    target = _scratch(session, ".cube")
    write_cube(target, lut, title=cube_title("transfer", reference.name), overwrite=True)
    return _attachment(target, f"{Path(source.name).stem}_imgot.cube", "text/plain")


@_handled
def download_transfer(request: Request, session: Session) -> Response:
    """The fitted transfer (:meth:`imgot.ColorTransfer.save`, ``.npz``), for ``imgot.load``."""
    params = parse_params(request.query_params)
    inputs = session.inputs
    source, reference = session.require("source", "reference", inputs=inputs)
    target = _scratch(session, ".npz")
    _full_model(inputs, params).save(target, overwrite=True)
    return _attachment(target, f"{Path(reference.name).stem}_transfer.npz", "application/octet-stream")


def create_app(*, token: str, host: str = "127.0.0.1", port: int = 8765, limits: Limits = Limits(),
               command_line: CommandLine | None = None, extra_hosts: tuple[str, ...] = ()) -> Starlette:
    """The ``imgot serve`` ASGI application.

    Parameters
    ----------
    token : str
        The secret every request must carry (``?token=``, cookie or
        ``X-Imgot-Token`` header; the header for every ``/api`` call).
    host, port : str, int
        Where the server listens: the Host header must name it.
    extra_hosts : tuple of str
        More names the Host header may give (``imgot serve --expose``).
    limits : Limits
        Byte and pixel caps of an upload.
    command_line : callable, optional
        ``(source name, reference name, output name, settings) -> str``, the
        equivalent ``imgot transfer`` command shown on the page.

    Returns
    -------
    starlette.applications.Starlette

    Examples
    --------
    >>> app = create_app(token="a-secret-token")
    >>> sorted(app.state.hosts)
    ['127.0.0.1:8765', 'localhost:8765']
    """
    if not isinstance(token, str) or len(token) < 8:
        raise ValueError("token must be a string of at least 8 characters")
    store = SessionStore(limits)
    atexit.register(store.close)

    @asynccontextmanager
    async def lifespan(app):
        yield
        store.close()

    api = "/api/session/{session}"
    routes = [
        Route("/", index),
        Route("/api/config", config),
        Route("/api/session", new_session, methods=["POST"]),
        Route(api + "/image/{role}", upload, methods=["POST"]),
        Route(api + "/image/{role}/preview.jpg", upload_preview),
        Route(api + "/preview.jpg", preview),
        Route(api + "/metrics", metrics),
        Route(api + "/palettes", palettes),
        Route(api + "/plan.png", plan),
        Route(api + "/command", command),
        Route(api + "/download/result", download_result),
        Route(api + "/download/lut", download_lut),
        Route(api + "/download/transfer", download_transfer),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    hosts = allowed_hosts(host, port, extra_hosts)
    app.add_middleware(TokenAndHostMiddleware, token=token, hosts=hosts, cookie=cookie_name(port))
    app.state.store = store
    app.state.token = token
    app.state.hosts = hosts
    app.state.command_line = command_line
    return app
