"""The two checks every request passes: a secret token and an expected Host header.

As in Jupyter, the server prints a URL carrying a random token
(:func:`secrets.token_urlsafe`). The first request with ``?token=...`` gets it
back as a cookie (``HttpOnly``, ``SameSite=Strict``), so the page's own
requests carry it; a request may also send it as the ``X-Imgot-Token`` header.
Anything without the token is refused with 403, static files included. The
Host header must name the server (``127.0.0.1:PORT``, ``localhost:PORT`` or
the ``--host`` given), which stops DNS rebinding: a page of another site whose
name was made to resolve to 127.0.0.1 still sends its own name as Host.
"""

from __future__ import annotations

import json
import secrets
from typing import Iterable

__all__ = ["TokenAndHostMiddleware", "cookie_name", "allowed_hosts"]


def cookie_name(port: int) -> str:
    """The token cookie's name; per port, since browsers share cookies across ports of a host."""
    return f"imgot-token-{port}"


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The Host header values accepted for a server bound to `host`:`port`.

    Examples
    --------
    >>> sorted(allowed_hosts("127.0.0.1", 8765))
    ['127.0.0.1:8765', 'localhost:8765']
    """
    names = {"127.0.0.1", "localhost"} if host in ("127.0.0.1", "localhost", "0.0.0.0", "::") else set()
    names.add(host if ":" not in host else f"[{host}]")
    return frozenset(f"{name}:{port}" for name in names)


async def _refuse(send, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class TokenAndHostMiddleware:
    """ASGI middleware refusing (403) requests without the token or with another Host."""

    def __init__(self, app, *, token: str, hosts: Iterable[str], cookie: str):
        self.app = app
        self.token = token
        self.hosts = frozenset(host.lower() for host in hosts)
        self.cookie = cookie

    def _matches(self, value: str) -> bool:
        return secrets.compare_digest(value.encode(), self.token.encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                return await self.app(scope, receive, send)
            return  # no websockets
        from starlette.requests import HTTPConnection

        connection = HTTPConnection(scope)
        if connection.headers.get("host", "").lower() not in self.hosts:
            return await _refuse(send, "wrong Host header")
        given = connection.query_params.get("token")
        candidates = (given, connection.headers.get("x-imgot-token"), connection.cookies.get(self.cookie))
        if not any(value and self._matches(value) for value in candidates):
            return await _refuse(send, "missing or wrong token; open the URL imgot serve printed")
        if given is None or not self._matches(given):
            return await self.app(scope, receive, send)

        cookie = f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode()

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)
