"""A fake OpenAI upstream for the multipart endpoints llama.cpp does not serve: files and audio.

Speaks OpenAI's wire format (the shapes of the public API reference and of the
``openai`` SDK's types), and parses uploads with Starlette's own form parser
(python-multipart), independent of llmreel's:

- ``POST /v1/files`` (``file``, ``purpose``): a ``FileObject``
  (``{"id": "file-…", "object": "file", "bytes", "created_at", "filename", "purpose",
  "status": "processed"}``); the id is derived from the file's bytes.
- ``POST /v1/audio/transcriptions`` (``file``, ``model``, optional ``language``,
  ``prompt``, ``response_format``, ``stream``): ``{"text": …}`` (or the plain text with
  ``response_format=text``); with ``stream=true``, Server-Sent Events
  ``transcript.text.delta`` (one word each, ``delay`` seconds apart) then
  ``transcript.text.done``, as the API streams them. The "transcript" is made from the
  audio's digest, so a different file gives a different text.

Every upload received is kept in :attr:`FakeOpenAIFiles.uploads` (field name, file name,
content type, size), and :attr:`requests_seen` counts requests, so a test can show a
replay never reached the upstream.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .streams import SSE_MEDIA_TYPE, ChunkStream

_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")


def _error(status: int, message: str, param: str | None = None) -> Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param}}
    return JSONResponse(body, status)


def transcript_of(audio: bytes) -> str:
    """The deterministic "transcript" of an audio file: words picked by its digest."""
    digest = hashlib.sha256(audio).digest()
    return " ".join(_WORDS[b % len(_WORDS)] for b in digest[:6])


@dataclass
class FakeOpenAIFiles:
    delay: float = 0.01
    base_url: str = ""
    requests_seen: int = 0
    uploads: list[dict[str, Any]] = field(default_factory=list)

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/files", self._files, methods=["POST"]),
                Route("/v1/audio/transcriptions", self._transcriptions, methods=["POST"]),
            ]
        )

    async def _form(self, request: Request) -> tuple[dict[str, str], bytes | None, str | None]:
        """The text fields, the ``file`` part's bytes and its file name (temp files closed)."""
        async with request.form() as form:
            fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                return fields, None, None
            self.uploads.append(
                {
                    "filename": upload.filename,
                    "content_type": upload.content_type,
                    "size": upload.size,
                }
            )
            return fields, await upload.read(), upload.filename

    async def _files(self, request: Request) -> Response:
        self.requests_seen += 1
        form, data, filename = await self._form(request)
        if data is None:
            return _error(400, "Missing required parameter: 'file'.", "file")
        purpose = form.get("purpose")
        if purpose is None:
            return _error(400, "Missing required parameter: 'purpose'.", "purpose")
        return JSONResponse(
            {
                "id": "file-" + hashlib.sha256(data).hexdigest()[:24],
                "object": "file",
                "bytes": len(data),
                "created_at": 1_700_000_000,
                "filename": filename,
                "purpose": purpose,
                "status": "processed",
                "expires_at": None,
                "status_details": None,
            }
        )

    async def _transcriptions(self, request: Request) -> Response:
        self.requests_seen += 1
        form, data, _ = await self._form(request)
        if data is None:
            return _error(400, "Missing required parameter: 'file'.", "file")
        if form.get("model") is None:
            return _error(400, "Missing required parameter: 'model'.", "model")
        text = transcript_of(data)
        if form.get("stream") == "true":
            words = text.split(" ")
            events = [
                {"type": "transcript.text.delta", "delta": (" " if i else "") + w}
                for i, w in enumerate(words)
            ]
            events.append({"type": "transcript.text.done", "text": text})
            wire = [f"data: {json.dumps(e)}\n\n".encode() for e in events]
            return ChunkStream(wire, media_type=SSE_MEDIA_TYPE, delay=self.delay)  # type: ignore[return-value]
        if form.get("response_format") == "text":
            return PlainTextResponse(text + "\n")
        return JSONResponse({"text": text, "usage": {"type": "duration", "seconds": 1}})
