"""Azure OpenAI's URL scheme in front of the real llama.cpp server.

Azure serves ``POST /openai/deployments/{deployment}/chat/completions?api-version=...`` (also
``/completions``, ``/embeddings``) and authenticates with an ``api-key`` header. llama.cpp
speaks the same bodies on ``/v1/...``, so this app checks what Azure checks (``api-version``
present, ``api-key`` present), rewrites the path, names the model after the deployment, and
streams llama.cpp's answer back chunk by chunk.

It forwards with an ``httpx.AsyncHTTPTransport`` used directly, not an ``httpx.AsyncClient``:
llmreel intercepts clients process-wide while a cassette is active, and this upstream's own
call must not be recorded as a second interaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

_HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "keep-alive", "date", "server"}


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": {"code": code, "message": message}}, status)


class AzureFront:
    """Starlette app: Azure OpenAI paths -> llama.cpp's OpenAI-compatible routes."""

    def __init__(self, upstream: str, model: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.model = model
        self.base_url = ""
        self.api_keys_seen: list[str] = []
        self.api_versions_seen: list[str] = []
        self._transport = httpx.AsyncHTTPTransport()

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        yield
        # Pooled connections to llama.cpp belong to the server's event loop: close them there.
        await self._transport.aclose()

    @property
    def app(self) -> Starlette:
        return Starlette(
            lifespan=self._lifespan,
            routes=[
                Route(
                    "/openai/deployments/{deployment}/{operation:path}",
                    self._deployment,
                    methods=["POST"],
                )
            ],
        )

    async def _deployment(self, request: Request) -> Response:
        version = request.query_params.get("api-version")
        if not version:
            return _error(404, "404", "Resource not found")
        key = request.headers.get("api-key")
        if not key:
            return _error(
                401,
                "401",
                "Access denied due to missing subscription key. Make sure to include "
                "subscription key when making requests to an API.",
            )
        self.api_keys_seen.append(key)
        self.api_versions_seen.append(version)
        operation = request.path_params["operation"]
        if operation not in ("chat/completions", "completions", "embeddings"):
            return _error(404, "404", "Resource not found")
        body = await request.body()
        upstream_request = httpx.Request(
            "POST",
            f"{self.upstream}/v1/{operation}",
            headers={"content-type": "application/json"},
            content=body,
        )
        response = await self._transport.handle_async_request(upstream_request)
        headers = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_HEADERS}
        headers["apim-request-id"] = "00000000-0000-0000-0000-000000000000"
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)

        async def relay() -> AsyncIterator[bytes]:
            try:
                async for chunk in stream:
                    yield chunk
            finally:
                await stream.aclose()

        return StreamingResponse(relay(), status_code=response.status_code, headers=headers)
