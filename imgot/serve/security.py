"""The checks every request passes: a secret token, the expected Host, and the page's own Origin.

As in Jupyter, the server prints a URL carrying a random token
(:func:`secrets.token_urlsafe`). The first request with ``?token=...`` gets it
back as a cookie (``HttpOnly``, ``SameSite=Strict``), so that the page and its
files load; the page itself carries the token in a ``<meta>`` tag and sends it
as the ``X-Imgot-Token`` header. Rules:

- Anything without the token (query, cookie or header) is refused with 403,
  static files included.
- Every ``/api`` call must carry the token in the ``X-Imgot-Token`` header:
  a cookie alone never suffices there. ``SameSite`` ignores ports, so another
  page on another port of 127.0.0.1 sends the cookie along; it cannot set a
  custom header without a CORS preflight, which this server never grants.
- A state-changing request (anything but GET, HEAD, OPTIONS) whose ``Origin``
  is present and not the page's own, or whose ``Sec-Fetch-Site`` is present
  and not ``same-origin`` or ``none``, is refused.
- The Host header must name the server (``127.0.0.1:PORT``, ``localhost:PORT``
  or the names of ``--expose``), which stops DNS rebinding: a page of another
  site whose name was made to resolve to 127.0.0.1 still sends its own name.

Every answer, refusals included, carries ``X-Content-Type-Options: nosniff``,
``Referrer-Policy: no-referrer`` and ``Cache-Control: no-store``.
"""

from __future__ import annotations

import json
import secrets
from typing import Iterable

__all__ = ["TokenAndHostMiddleware", "cookie_name", "allowed_hosts", "COMMON_HEADERS", "TOKEN_HEADER"]

TOKEN_HEADER = "x-imgot-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SAME_SITE = frozenset({"same-origin", "none"})
# On every answer: no MIME sniffing, no token-bearing URL sent as a referrer, nothing kept in a cache.
COMMON_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                  (b"cache-control", b"no-store"))


def cookie_name(port: int) -> str:
    """The token cookie's name; per port, since browsers share cookies across ports of a host."""
    return f"imgot-token-{port}"


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def allowed_hosts(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The Host header values accepted for a server bound to `host`:`port`.

    Parameters
    ----------
    host : str
        The address the server listens on.
    port : int
    extra : iterable of str
        More names or addresses the server is reached by (``--expose``).

    Examples
    --------
    >>> sorted(allowed_hosts("127.0.0.1", 8765))
    ['127.0.0.1:8765', 'localhost:8765']
    >>> sorted(allowed_hosts("0.0.0.0", 80, ["192.168.1.5"]))
    ['127.0.0.1:80', '192.168.1.5:80', 'localhost:80']
    """
    names = {"127.0.0.1", "localhost"}
    if host not in ("0.0.0.0", "::"):
        names.add(host)
    names.update(extra)
    return frozenset(f"{name if ':' not in name else f'[{name}]'}:{port}".lower() for name in names)


async def _refuse(send, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *COMMON_HEADERS]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class TokenAndHostMiddleware:
    """ASGI middleware refusing (403) requests without the token, with another Host or from another origin."""

    def __init__(self, app, *, token: str, hosts: Iterable[str], cookie: str):
        self.app = app
        self.token = token
        self.hosts = frozenset(host.lower() for host in hosts)
        self.cookie = cookie

    def _matches(self, value: str | None) -> bool:
        return value is not None and bool(value) and secrets.compare_digest(value.encode(), self.token.encode())

    def _problem(self, connection, method: str) -> str | None:
        """Why this request is refused, or None."""
        headers = connection.headers
        host = headers.get("host", "").lower()
        if host not in self.hosts:
            return "wrong Host header"
        if method not in SAFE_METHODS:
            origin = headers.get("origin")
            if origin is not None and origin.lower() != f"{connection.url.scheme}://{host}":
                return "refused: the request comes from another page (Origin)"
            site = headers.get("sec-fetch-site")
            if site is not None and site.lower() not in SAME_SITE:
                return "refused: the request comes from another page (Sec-Fetch-Site)"
        header = headers.get(TOKEN_HEADER)
        if connection.url.path.startswith("/api/"):
            if not self._matches(header):
                return "missing or wrong X-Imgot-Token header; reload the page imgot serve printed"
            return None
        candidates = (connection.query_params.get("token"), header, connection.cookies.get(self.cookie))
        if not any(self._matches(value) for value in candidates):
            return "missing or wrong token; open the URL imgot serve printed"
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                return await self.app(scope, receive, send)
            return  # no websockets
        from starlette.requests import HTTPConnection

        connection = HTTPConnection(scope)
        problem = self._problem(connection, scope["method"].upper())
        if problem:
            return await _refuse(send, problem)
        extra = list(COMMON_HEADERS)
        if self._matches(connection.query_params.get("token")):
            cookie = f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Strict"
            extra.append((b"set-cookie", cookie.encode()))

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in extra}
                kept = [(name, value) for name, value in message.get("headers", [])
                        if name.lower() not in names]
                message = {**message, "headers": [*kept, *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
