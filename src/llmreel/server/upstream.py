"""Forwarding to the real model server with one shared ``httpx.AsyncClient``.

Headers pass through except the hop-by-hop ones and llmreel's own; credentials
are forwarded (and later redacted from what is written, never from what is
sent). We ask the upstream for ``identity`` encoding so every chunk can go to
the client unchanged the moment it arrives and be parsed by the recorder; an
upstream that compresses anyway is decoded on the fly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import httpx

from llmreel.server.config import ServerConfig

__all__ = ["HOP_BY_HOP", "Upstream", "client_headers"]

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# Request headers we set ourselves (host, length, encoding) or that are llmreel's own.
_REQUEST_DROP = HOP_BY_HOP | {"host", "content-length", "accept-encoding", "expect"}


def client_headers(headers: Iterable[tuple[str, str]], *, decoded: bool) -> list[tuple[str, str]]:
    """Upstream response headers as they go to the client.

    ``date`` is dropped because uvicorn adds a current one; when we decoded a compressed
    body, its encoding and length no longer describe what we send.
    """
    drop = HOP_BY_HOP | {"date"}
    if decoded:
        drop = drop | {"content-encoding", "content-length"}
    return [(k, v) for k, v in headers if k.lower() not in drop]


class Upstream:
    """The model server requests are forwarded to."""

    def __init__(self, config: ServerConfig) -> None:
        assert config.upstream is not None
        self.base = config.upstream
        self._timeout = httpx.Timeout(config.upstream_timeout, connect=10.0)
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        # Made on first use inside the event loop (the lifespan usually does it at start-up).
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._timeout,
                # Many concurrent streams (test suites in parallel) must not queue on a pool.
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=100),
                follow_redirects=False,
            )
        return self._client

    def url(self, raw_path: bytes, query_string: bytes) -> str:
        url = self.base + raw_path.decode("latin-1")
        if query_string:
            url += "?" + query_string.decode("latin-1")
        return url

    async def open(
        self,
        method: str,
        url: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
    ) -> httpx.Response:
        """Send the request; return as soon as the response headers are in."""
        out = [
            (k, v)
            for k, v in headers
            if k.lower() not in _REQUEST_DROP and not k.lower().startswith("x-llmreel-")
        ]
        out.append(("accept-encoding", "identity"))
        client = self.client
        request = client.build_request(method, url, headers=out, content=body or None)
        # Straight to the transport the client picks for this URL (its pool, the proxies of
        # the environment), skipping ``client.send``: a proxy needs none of its auth,
        # redirect, event-hook or cookie handling, and that layer cost up to ~1 ms before
        # the upstream saw the request (measured in bench/NOTES.md, benchmark 4). Skipping
        # it also keeps cookies one client's response set out of every later request.
        transport = client._transport_for_url(request.url)
        try:
            response = await transport.handle_async_request(request)
        except httpx.RemoteProtocolError:
            # A pooled keep-alive connection the upstream had closed meanwhile: nothing was
            # received, and the body is in memory, so sending it once more is safe.
            response = await transport.handle_async_request(request)
        response.request = request
        return response

    @staticmethod
    def chunks(response: httpx.Response) -> tuple[AsyncIterator[bytes], bool]:
        """The body's chunks as they arrive, and whether they had to be decoded."""
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("", "identity"):
            return response.aiter_raw(), False
        return response.aiter_bytes(), True

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
