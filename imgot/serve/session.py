"""Per-visitor state: uploaded images in a private folder, fitted models and base maps cached.

Each page load opens a :class:`Session` with a random id; its files live in
their own subfolder of the server's private temporary folder, under names the
server picks (``source.jpg``, ``reference.png``), never a client-given path.
A session keeps the stored files, their 8-bit previews (at most 768 px on a
side), the fitted models keyed by the fit settings, the base maps keyed by fit
and plan settings and the last few previews, so that a slider move reuses all
of them. It keeps no full-size image: a new fit and a download decode the
stored file again, so what a session holds between requests does not grow
with the images' size. Sessions are independent: one visitor's id does not reach
another's images.
"""

from __future__ import annotations

import copy
import os
import secrets
import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..exceptions import ImageReadError
from .params import FINISH, FIT, PLAN, plan_method

__all__ = ["Limits", "Upload", "Inputs", "Memo", "Stale", "Session", "SessionStore", "ROLES",
           "remove_orphans"]

ROLES = ("source", "reference")

# Pillow format -> the extension the server stores (and writes the result in).
_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif", "WEBP": ".webp"}
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")


@dataclass(frozen=True)
class Limits:
    """What one upload may weigh: bytes of the file, pixels of the image."""

    max_bytes: int = 200 * 1024 * 1024
    max_pixels: int = 100_000_000


@dataclass
class Upload:
    """One uploaded image: where it is stored, its name as the user gave it, its preview."""

    path: Path
    name: str
    shape: tuple[int, ...]
    dtype: str
    preview: np.ndarray


def _safe_name(name: str, fallback: str) -> str:
    """The file name part of a client-given name, for display and downloads only."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|:*?')
    return name.strip(" .")[:120] or fallback


def _check_header(path: Path, limits: Limits) -> str:
    """The stored extension for this file, after checking its format and pixel count from the header."""
    from PIL import Image, UnidentifiedImageError

    head = path.open("rb").read(4)
    try:
        with Image.open(path) as image:
            fmt, (width, height) = image.format, image.size
    except Image.DecompressionBombError:
        raise ImageReadError(f"the image has more than {limits.max_pixels:,} pixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        if head in _TIFF_MAGIC:  # a TIFF Pillow cannot open; tifffile may
            return _check_tiff(path, limits)
        raise ImageReadError("not an image file imgot can read (JPEG, PNG, TIFF or WebP)") from None
    if fmt not in _FORMATS:
        raise ImageReadError(f"{fmt} images are not supported; upload a JPEG, PNG, TIFF or WebP")
    if width * height > limits.max_pixels:
        raise ImageReadError(f"the image has {width} x {height} pixels, more than the "
                             f"{limits.max_pixels:,} this server accepts")
    return _FORMATS[fmt]


def _check_tiff(path: Path, limits: Limits) -> str:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tiff:
            shape = tiff.pages[0].shape
    except Exception:
        raise ImageReadError("not an image file imgot can read (JPEG, PNG, TIFF or WebP)") from None
    if int(np.prod(shape[:2])) > limits.max_pixels:
        raise ImageReadError(f"the image has more than {limits.max_pixels:,} pixels")
    return ".tif"


class Stale(Exception):
    """A side-panel computation overtaken by a newer preview: its answer would be thrown away."""


class Memo:
    """Values computed once per key, each key behind its own lock, the `size` most recent kept.

    Two requests wanting the same key share one computation (the second
    waits for it); requests wanting different keys run in parallel, so a
    preview never waits behind a palette fit or a metric.
    """

    def __init__(self, size: int):
        self.size = size
        self._values: OrderedDict[tuple, object] = OrderedDict()
        self._locks: dict[tuple, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: tuple, compute: Callable[[], object]):
        """The value for `key`, computed by ``compute()`` if it is not kept."""
        with self._guard:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._values:
                    return self._values[key]
            try:
                value = compute()
                with self._guard:
                    self._values[key] = value
                    while len(self._values) > self.size:
                        self._values.popitem(last=False)
            finally:
                with self._guard:
                    self._locks.pop(key, None)
            return value


@dataclass(frozen=True)
class Inputs:
    """The images a computation works on, replaced as a whole by an upload (never changed in place).

    `generation` counts the uploads, and is part of every cache key, so a
    value computed from replaced images is never served for the new ones.
    """

    generation: int
    uploads: dict

    @property
    def reference_pixels(self) -> np.ndarray:
        """The reference at full size, decoded from the stored file when a fit needs it (never kept)."""
        from .. import io

        return io.load_image(self.uploads["reference"].path).pixels


class Session:
    """One visitor's images and caches, in folder `folder`.

    Uploads hold :attr:`lock` (one at a time per session); computations take
    a snapshot of :attr:`inputs` and go through per-key caches
    (:class:`Memo`), so that previews, side panels and downloads run side by
    side. :meth:`preview_started` counts previews: a side panel that sees the
    count move (:meth:`check_fresh`) stops, since a newer preview makes its
    answer stale.
    """

    def __init__(self, session_id: str, folder: Path, limits: Limits):
        self.id = session_id
        self.folder = folder
        self.limits = limits
        self.lock = threading.RLock()
        self.inputs = Inputs(0, {})
        self.previews = 0
        self._models = Memo(4)
        self._bases = Memo(8)
        self._plans = Memo(8)
        self._outputs = Memo(4)
        self._constants = Memo(16)

    @property
    def uploads(self) -> dict[str, Upload]:
        return self.inputs.uploads

    def add_image(self, role: str, data: bytes, name: str) -> Upload:
        """Store, check and decode an uploaded image for `role` ('source' or 'reference').

        Raises
        ------
        ImageReadError
            For a file that is not a readable JPEG, PNG, TIFF or WebP, is
            truncated, or is over the byte or pixel limit.
        """
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if len(data) > self.limits.max_bytes:
            raise ImageReadError(f"the file is {len(data):,} bytes, more than the "
                                 f"{self.limits.max_bytes:,} this server accepts")
        with self.lock:  # one upload at a time per session: they share file names
            return self._add_image(role, data, name)

    def _add_image(self, role: str, data: bytes, name: str) -> Upload:
        from .. import io
        from .preview import downscale

        incoming = self.folder / f"{role}.upload"
        incoming.write_bytes(data)
        try:
            path = self.folder / f"{role}{_check_header(incoming, self.limits)}"
            incoming.replace(path)
        finally:
            incoming.unlink(missing_ok=True)
        try:
            image = io.load_image(path)
        except ImageReadError as error:
            path.unlink(missing_ok=True)
            message = str(error).replace(f"{path}: ", "")
            raise ImageReadError(message) from None
        old = self.inputs
        replaced = old.uploads.get(role)
        if replaced is not None and replaced.path != path:
            replaced.path.unlink(missing_ok=True)
        upload = Upload(path, _safe_name(name, path.name), image.pixels.shape, str(image.pixels.dtype),
                        downscale(image.pixels))
        self.inputs = Inputs(old.generation + 1, {**old.uploads, role: upload})
        return upload

    def require(self, *roles: str, inputs: Inputs | None = None) -> list[Upload]:
        uploads = (inputs or self.inputs).uploads
        missing = [role for role in roles if role not in uploads]
        if missing:
            raise ValueError(f"upload a {' and a '.join(missing)} image first")
        return [uploads[role] for role in roles]

    # -- freshness of side panels ----------------------------------------------------------------

    def preview_started(self) -> None:
        """Count one more preview request (side panels started before it become stale)."""
        self.previews += 1

    def check_fresh(self, ticket: int) -> None:
        """Raise :class:`Stale` if a preview started since `ticket` (a value of :attr:`previews`)."""
        if self.previews != ticket:
            raise Stale()

    # -- the cached computations ---------------------------------------------------------------

    def model(self, params: dict, inputs: Inputs | None = None):
        """An :class:`imgot.ColorTransfer` fitted to the reference for these fit settings.

        The fitted model is cached per fit settings; each caller gets its own
        shallow copy with its plan and finishing settings, so that parallel
        requests never change each other's.
        """
        from ..transfer import ColorTransfer

        inputs = inputs or self.inputs
        self.require("reference", inputs=inputs)
        key = (inputs.generation, *(params[name] for name in FIT))
        fitted = self._models.get(key, lambda: ColorTransfer(**params).fit(inputs.reference_pixels))
        model = copy.copy(fitted)
        for name in PLAN + FINISH:  # read at map time, not by fit
            setattr(model, name, params[name])
        return model

    def base(self, params: dict, inputs: Inputs | None = None):
        """The preview's :class:`~imgot.serve.preview.BaseMap` for these fit and plan settings."""
        from .preview import base_map

        inputs = inputs or self.inputs
        (source,) = self.require("source", inputs=inputs)
        key = (inputs.generation, *(params[name] for name in FIT + PLAN))
        return self._bases.get(key, lambda: base_map(self.model(params, inputs), source.preview))

    def output(self, params: dict, inputs: Inputs | None = None) -> np.ndarray:
        """The preview at these settings, uint8 (h, w, 3); the last few are kept for the side panels."""
        from .preview import finish

        inputs = inputs or self.inputs
        (source,) = self.require("source", "reference", inputs=inputs)[:1]
        key = (inputs.generation, *(params[name] for name in FIT + PLAN + FINISH))
        return self._outputs.get(key, lambda: finish(
            self.base(params, inputs), source.preview, strength=params["strength"],
            preserve_luminance=params["preserve_luminance"], preserve_detail=params["preserve_detail"],
            saturation=params["saturation"], protect_skin=params["protect_skin"]))

    def color_map(self, params: dict, inputs: Inputs | None = None):
        """The preview's palette transport (:class:`imgot.ColorMap`), or None for methods without one."""
        name = plan_method(params["method"])
        if name is None:
            return None
        inputs = inputs or self.inputs
        (source,) = self.require("source", inputs=inputs)
        key = (inputs.generation, *(params[name] for name in FIT + PLAN))
        plain = {**params, "method": name, "strength": 1.0, "preserve_luminance": False, "preserve_detail": False,
                 "saturation": 1.0, "protect_skin": 0.0}
        return self._plans.get(key, lambda: self.model(plain, inputs).color_map(source.preview))

    def constant(self, name, compute: Callable[[Inputs], object], inputs: Inputs | None = None):
        """A value computed once per upload and `name` (any hashable: a label, or a label and settings)."""
        inputs = inputs or self.inputs
        return self._constants.get((inputs.generation, name), lambda: compute(inputs))


PREFIX = "imgot-serve-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_orphans(folder: Path | None = None) -> list[Path]:
    """Remove the temporary folders of ``imgot serve`` processes that are gone (killed, not stopped).

    Only folders of this user whose ``pid`` file names a process that no
    longer exists are removed; a running server's folder is left alone.

    Returns
    -------
    list of Path
        The folders removed.
    """
    removed = []
    for root in Path(folder or tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            if root.stat().st_uid != os.getuid() or _alive(int((root / "pid").read_text())):
                continue
        except (OSError, ValueError):  # no pid file (an older server, or not ours): leave it
            continue
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    return removed


class SessionStore:
    """The sessions of one server, each in its own subfolder of a private temporary folder.

    The folder is created with mode 0700 (:func:`tempfile.mkdtemp`) and removed
    by :meth:`close`; it holds a ``pid`` file naming the server's process, so
    that the folders of a killed server are removed when the next one starts
    (:func:`remove_orphans`). At most `max_sessions` are kept; opening one more
    drops the least recently used, with its files.
    """

    def __init__(self, limits: Limits = Limits(), max_sessions: int = 16):
        self.limits = limits
        self.max_sessions = max_sessions
        remove_orphans()
        self.root = Path(tempfile.mkdtemp(prefix=PREFIX))
        (self.root / "pid").write_text(str(os.getpid()))
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def open(self) -> Session:
        session_id = secrets.token_urlsafe(16)
        folder = self.root / session_id
        folder.mkdir(mode=0o700)
        session = Session(session_id, folder, self.limits)
        with self._lock:
            self._sessions[session_id] = session
            while len(self._sessions) > self.max_sessions:
                _, old = self._sessions.popitem(last=False)
                shutil.rmtree(old.folder, ignore_errors=True)
        return session

    def get(self, session_id: str) -> Session | None:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None:
                self._sessions.move_to_end(session_id)
            return session

    def close(self) -> None:
        """Forget every session and remove the temporary folder."""
        with self._lock:
            self._sessions.clear()
        shutil.rmtree(self.root, ignore_errors=True)
