"""What every adapter shares: one way to build a Request, and the forwarding flag.

All adapters must build the engine's :class:`~llmreel.interaction.Request` the
same way, or a recording made through one HTTP stack would not match through
another; :func:`request_from_parts` is that one way (the httpx transports use
it too).

:data:`FORWARDING` is set while an adapter forwards a request upstream in
record or live mode. Some stacks are layered (LiteLLM's async httpx client
sends through an aiohttp session); without the flag the inner stack would
intercept the same call a second time and record it twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any

import orjson

from llmreel.interaction import Request

__all__ = ["FORWARDING", "forwarding", "normalize_path", "request_from_parts"]

FORWARDING: ContextVar[bool] = ContextVar("llmreel_forwarding", default=False)


@contextlib.contextmanager
def forwarding() -> Iterator[None]:
    """Mark the calls made inside the block as already handled by an outer adapter."""
    token = FORWARDING.set(True)
    try:
        yield
    finally:
        FORWARDING.reset(token)


def normalize_path(path: str) -> str:
    """The path as the matcher keys it: decoded, '/' when empty, no trailing slash."""
    path = path or "/"
    if len(path) > 1:
        path = path.rstrip("/")
    return path


def request_from_parts(
    method: str,
    url: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Iterable[tuple[str, str]],
    content: bytes,
) -> Request:
    """The engine's view of a request from its decoded path, query pairs, headers and body."""
    hdrs = {k.lower(): v for k, v in headers}
    body: Any = None
    raw: bytes | None = None
    if content:
        ct = hdrs.get("content-type", "")
        if "json" in ct or content[:1] in (b"{", b"["):
            try:
                body = orjson.loads(content)
            except orjson.JSONDecodeError:
                raw = content
        else:
            raw = content
    return Request(
        method=method.upper(),
        url=url,
        path=normalize_path(path),
        query=list(query),
        headers=hdrs,
        body=body,
        raw=raw,
    )
