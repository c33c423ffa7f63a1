"""One way to build a Request from an HTTP request's wire parts, for every adapter.

All adapters (the httpx/httpx2 transports, the aiohttp and requests adapters and
the server) must build the engine's :class:`~llmreel.model.interaction.Request`
the same way, or a recording made through one HTTP stack would not match
through another; :func:`request_from_parts` is that one way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from llmreel.model.interaction import Request

__all__ = ["normalize_path", "request_from_parts"]


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
        wire=content,
    )
