"""Per-visitor state: uploaded images in a private folder, fitted models and base maps cached.

Each page load opens a :class:`Session` with a random id; its files live in
their own subfolder of the server's private temporary folder, under names the
server picks (``source.jpg``, ``reference.png``), never a client-given path.
A session holds the decoded reference (what :meth:`imgot.ColorTransfer.fit`
reads), the 8-bit previews, the fitted models keyed by the fit settings and
the base maps keyed by fit and plan settings, so that a slider move reuses
all of them. Sessions are independent: one visitor's id does not reach
another's images.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..exceptions import ImageReadError
from .params import FINISH, FIT, PLAN, plan_method

__all__ = ["Limits", "Upload", "Session", "SessionStore", "ROLES"]

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


class Session:
    """One visitor's images and caches, in folder `folder`.

    Calls that compute hold :attr:`lock`, so one visitor's requests run one
    at a time while other visitors' run in parallel.
    """

    def __init__(self, session_id: str, folder: Path, limits: Limits):
        self.id = session_id
        self.folder = folder
        self.limits = limits
        self.lock = threading.RLock()
        self.uploads: dict[str, Upload] = {}
        self.reference_pixels: np.ndarray | None = None
        self._models: dict[tuple, object] = {}
        self._bases: OrderedDict[tuple, object] = OrderedDict()
        self._plans: OrderedDict[tuple, object] = OrderedDict()

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
        old = self.uploads.get(role)
        if old is not None and old.path != path:
            old.path.unlink(missing_ok=True)
        upload = Upload(path, _safe_name(name, path.name), image.pixels.shape, str(image.pixels.dtype),
                        downscale(image.pixels))
        self.uploads[role] = upload
        if role == "reference":
            self.reference_pixels = image.pixels
            self._models.clear()
        self._bases.clear()
        self._plans.clear()
        return upload

    def require(self, *roles: str) -> list[Upload]:
        missing = [role for role in roles if role not in self.uploads]
        if missing:
            raise ValueError(f"upload a {' and a '.join(missing)} image first")
        return [self.uploads[role] for role in roles]

    def model(self, params: dict):
        """The :class:`imgot.ColorTransfer` fitted to the reference for these fit settings."""
        from ..transfer import ColorTransfer

        self.require("reference")
        key = tuple(params[name] for name in FIT)
        if key not in self._models:
            self._models[key] = ColorTransfer(**params).fit(self.reference_pixels)
        model = self._models[key]
        for name in PLAN + FINISH:  # read at map time, not by fit: set on the cached model
            setattr(model, name, params[name])
        return model

    def base(self, params: dict):
        """The preview's :class:`~imgot.serve.preview.BaseMap` for these fit and plan settings."""
        from .preview import base_map

        (source,) = self.require("source")
        key = tuple(params[name] for name in FIT + PLAN)
        if key not in self._bases:
            self._bases[key] = base_map(self.model(params), source.preview)
            while len(self._bases) > 8:
                self._bases.popitem(last=False)
        self._bases.move_to_end(key)
        return self._bases[key]

    def color_map(self, params: dict):
        """The preview's palette transport (:class:`imgot.ColorMap`), or None for methods without one."""
        name = plan_method(params["method"])
        if name is None:
            return None
        (source,) = self.require("source")
        key = tuple(params[name] for name in FIT + PLAN)
        if key not in self._plans:
            model = self.model({**params, "method": name, "strength": 1.0, "preserve_luminance": False,
                                "detail": False})
            self._plans[key] = model.color_map(source.preview)
            while len(self._plans) > 8:
                self._plans.popitem(last=False)
        return self._plans[key]


class SessionStore:
    """The sessions of one server, each in its own subfolder of a private temporary folder.

    The folder is created with mode 0700 (:func:`tempfile.mkdtemp`) and removed
    by :meth:`close`. At most `max_sessions` are kept; opening one more drops
    the least recently used, with its files.
    """

    def __init__(self, limits: Limits = Limits(), max_sessions: int = 16):
        self.limits = limits
        self.max_sessions = max_sessions
        self.root = Path(tempfile.mkdtemp(prefix="imgot-serve-"))
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
