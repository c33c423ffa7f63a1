"""A proxy in front of a real upstream that changes the *structure* of its answers, as providers do.

``llmreel verify`` must name each change a provider makes to its API. This proxy stands
between verify and the real llama.cpp server and alters every answer in one way, chosen
by the first path segment of the request (so ``--upstream http://127.0.0.1:PORT/add-field``
selects it and the rest of the path goes upstream unchanged; several may be given at
once, comma-separated: ``/add-field,drop-usage``):

``same``          forward untouched (proves the proxy itself changes nothing).
``add-field``     every JSON chunk and body gains a top-level ``service_tier`` (string), and
                  chat chunks a ``choices[].delta.reasoning_content`` (string).
``rename-event``  one stream event type is renamed: SSE ``event:`` names and the JSON ``type``
                  (``content_block_delta`` -> ``content_block_chunk``,
                  ``response.output_text.delta`` -> ``response.text.delta``), and the ``object``
                  of OpenAI chunks (``chat.completion.chunk`` -> ``chat.completion.delta``,
                  ``text_completion`` -> ``text_completion.chunk``).
``drop-usage``    ``usage`` is removed everywhere (top level, ``message.usage``,
                  ``response.usage``).
``error-400``     a 400 in the API's own error shape instead of the answer (upstream not called).
``leak-key``      every JSON chunk and body gains a ``debug_token`` holding a key-shaped
                  string (what the secret scanner must refuse to write).
``reseed``        the request goes upstream with a different random ``seed`` each time: at a
                  temperature above 0 the words change, the structure does not.

Streams (SSE, and Ollama's NDJSON) are re-framed event by event as they arrive from the
upstream, so the client sees the upstream's real timing; nothing is buffered. Any
upstream works: tests put it in front of llama.cpp, the fault upstream and the fake Ollama.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

ALTERATIONS = (
    "same",
    "add-field",
    "rename-event",
    "drop-usage",
    "error-400",
    "reseed",
    "leak-key",
)
# Key-shaped (the secret scanner's Anthropic pattern), assembled so no key sits in the source.
LEAKED_KEY = "-".join(("sk", "ant", "api03", "Zq7" * 12))
RENAMES = {
    "content_block_delta": "content_block_chunk",
    "response.output_text.delta": "response.text.delta",
    "chat.completion.chunk": "chat.completion.delta",
    "text_completion": "text_completion.chunk",
}
_HOP = {"host", "content-length", "transfer-encoding", "connection", "accept-encoding"}


def alter_doc(doc: Any, alterations: tuple[str, ...]) -> Any:
    """One JSON body or event, changed the way ``alterations`` say."""
    for alteration in alterations:
        doc = _alter(doc, alteration)
    return doc


def _alter(doc: Any, alteration: str) -> Any:
    if not isinstance(doc, dict):
        return doc
    if alteration == "add-field":
        doc["service_tier"] = "default"
        for choice in doc.get("choices") or []:
            if isinstance(choice, dict) and isinstance(choice.get("delta"), dict):
                choice["delta"]["reasoning_content"] = ""
    elif alteration == "drop-usage":
        doc.pop("usage", None)
        for inner in ("message", "response"):
            if isinstance(doc.get(inner), dict):
                doc[inner].pop("usage", None)
    elif alteration == "leak-key":
        doc["debug_token"] = LEAKED_KEY
    elif alteration == "rename-event":
        for name in ("type", "object"):
            if doc.get(name) in RENAMES:
                doc[name] = RENAMES[doc[name]]
    return doc


def _alter_event(block: str, alterations: tuple[str, ...]) -> str:
    event: str | None = None
    data: list[str] = []
    other: list[str] = []
    for line in block.split("\n"):
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line:
            other.append(line)
    text = "\n".join(data)
    if text.startswith("{"):
        text = json.dumps(alter_doc(json.loads(text), alterations), separators=(",", ":"))
    if event is not None and "rename-event" in alterations:
        event = RENAMES.get(event, event)
    lines = [*other]
    if event is not None:
        lines.append(f"event: {event}")
    if data:
        lines.extend(f"data: {line}" for line in text.split("\n"))
    return "\n".join(lines) + "\n\n"


def _error(path: str) -> JSONResponse:
    message = "drifting proxy: this request is no longer accepted"
    if path.startswith("/v1/messages"):
        body: dict[str, Any] = {
            "type": "error",
            "error": {"type": "invalid_request_error", "message": message},
        }
    else:
        body = {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        }
    return JSONResponse(body, status_code=400)


class DriftingProxy:
    """The proxy app (``.app``) in front of ``upstream`` (a base URL)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.seeds: list[int] = []
        self.app = Starlette(
            routes=[Route("/{alteration}/{path:path}", self.handle, methods=["GET", "POST"])]
        )

    async def handle(self, request: Request) -> Response:
        alterations = tuple(request.path_params["alteration"].split(","))
        path = "/" + request.path_params["path"]
        unknown = set(alterations) - set(ALTERATIONS)
        if unknown:
            return JSONResponse({"error": f"unknown alteration(s) {unknown}"}, status_code=404)
        if "error-400" in alterations:
            return _error(path)
        body = await request.body()
        if "reseed" in alterations and body:
            doc = json.loads(body)
            seed = random.randrange(1, 2**31)
            self.seeds.append(seed)
            doc["seed"] = seed
            body = json.dumps(doc).encode()
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP]
        client = httpx.AsyncClient(timeout=httpx.Timeout(120, connect=10))
        upstream = await client.send(
            client.build_request(
                request.method, self.upstream + path, headers=headers, content=body
            ),
            stream=True,
        )
        out_headers = {
            k: v
            for k, v in upstream.headers.items()
            if k.lower() not in _HOP and k.lower() != "content-encoding"
        }
        media = upstream.headers.get("content-type", "")
        if "text/event-stream" in media or "ndjson" in media:
            framing = self._events if "text/event-stream" in media else self._lines
            return StreamingResponse(
                framing(upstream, client, alterations),
                status_code=upstream.status_code,
                headers=out_headers,
            )
        data = await upstream.aread()
        await upstream.aclose()
        await client.aclose()
        if "json" in media and alterations != ("same",):
            data = json.dumps(alter_doc(json.loads(data), alterations)).encode()
        return Response(data, status_code=upstream.status_code, headers=out_headers)

    async def _lines(
        self, upstream: httpx.Response, client: httpx.AsyncClient, alterations: tuple[str, ...]
    ) -> AsyncIterator[bytes]:
        """NDJSON (Ollama): one JSON document per line, each altered as it arrives."""
        try:
            async for line in upstream.aiter_lines():
                if line.strip():
                    doc = alter_doc(json.loads(line), alterations)
                    yield (json.dumps(doc, separators=(",", ":")) + "\n").encode()
        finally:
            await upstream.aclose()
            await client.aclose()

    async def _events(
        self, upstream: httpx.Response, client: httpx.AsyncClient, alterations: tuple[str, ...]
    ) -> AsyncIterator[bytes]:
        buffer = ""
        try:
            async for text in upstream.aiter_text():
                buffer += text.replace("\r\n", "\n")
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    if alterations == ("same",):
                        yield (block + "\n\n").encode()
                    elif block.strip():
                        yield _alter_event(block, alterations).encode()
            if buffer.strip():
                yield _alter_event(buffer, alterations).encode()
        finally:
            await upstream.aclose()
            await client.aclose()
