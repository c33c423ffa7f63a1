"""What every inspector response goes through: read-only methods, known hosts, strict headers.

- Only ``GET`` and ``HEAD``: the inspector never changes anything.
- The ``Host`` header must name this machine's loopback (or a host the operator
  allowed): a web page elsewhere that rebinds its own name to 127.0.0.1 (DNS
  rebinding) gets a 403, not the recordings.
- A strict Content-Security-Policy (scripts, styles and connections only from the
  inspector itself, no inline script, no framing), ``nosniff``, no referrer, and no
  CORS headers at all, so other origins cannot read anything.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSP", "LOOPBACK_HOSTS", "Guard", "host_name"]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


def host_name(value: str) -> str:
    """The host part of a ``Host`` header (``[::1]:8377`` -> ``::1``), lower-cased."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class Guard:
    """ASGI middleware applying the rules above to every HTTP request of ``app``."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = LOOPBACK_HOSTS | {h.lower().strip("[]") for h in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host = host_name(headers.get(b"host", b"").decode("latin-1"))
        if scope["method"] not in ("GET", "HEAD"):
            await _refuse(send, 405, "the llmreel inspector is read-only: only GET and HEAD.")
            return
        if host not in self.allowed:
            await _refuse(
                send,
                403,
                f"host {host or '(none)'!r} is not allowed: open the inspector as "
                "http://127.0.0.1:PORT/ (or start it with --host NAME to allow that name).",
            )
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _HEADERS if k not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _refuse(send: Send, status: int, text: str) -> None:
    body = orjson.dumps({"error": text})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *_HEADERS,
    ]
    if status == 405:
        headers.append((b"allow", b"GET, HEAD"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
