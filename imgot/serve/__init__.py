"""``imgot serve``: a local web page to try a transfer, tune it live and download the result.

Install with ``pip install "imgot[serve]"`` (Starlette and uvicorn; the page
uploads files as raw request bodies, so no multipart parser is needed).
:func:`create_app` builds the ASGI application; the ``imgot serve`` command
runs it with uvicorn on 127.0.0.1.

Modules: :mod:`.params` (the page's settings), :mod:`.preview` (the fast
preview path), :mod:`.session` (per-visitor state in a private temporary
folder), :mod:`.security` (token and Host checks), :mod:`.app` (the routes).
"""

from __future__ import annotations

__all__ = ["create_app"]


def __getattr__(name: str):
    if name == "create_app":  # Starlette is imported only when the app is built
        from .app import create_app

        return create_app
    raise AttributeError(name)
