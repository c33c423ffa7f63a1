"""A fake Google Gemini REST upstream speaking Gemini's wire format, with real delays.

llama.cpp does not serve Gemini's paths, so this stands in for
``generativelanguage.googleapis.com``. Shapes follow the public REST reference
(``GenerateContentResponse``: ``candidates[].content.parts[].text``,
``finishReason``, ``usageMetadata``, ``modelVersion``, ``responseId``):

- ``POST /v1beta/models/{model}:generateContent``: one JSON response.
- ``POST /v1beta/models/{model}:streamGenerateContent?alt=sse``: Server-Sent Events, one
  ``GenerateContentResponse`` per ``data:`` line, events separated by ``\\r\\n\\r\\n`` as
  Google's frontends do, ``delay`` seconds apart; the last carries ``finishReason`` and
  ``usageMetadata``. Without ``alt=sse`` the same chunks come as one streamed JSON array.
- ``POST /v1beta/models/{model}:countTokens``.

The API key is required, in the ``key`` query parameter or the ``x-goog-api-key`` header
(otherwise Gemini's 403 ``PERMISSION_DENIED`` error); every key received is kept in
:attr:`FakeGemini.keys_seen` so tests can show it was forwarded and yet never written.
If the request has ``tools`` with function declarations and the last user text contains
"weather", the model answers with a ``functionCall`` part instead of text.

Answers are deterministic: ``"You said: "`` plus the words of the last user text, one word
per streamed chunk, capped by ``generationConfig.maxOutputTokens``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .streams import ChunkStream

SSE_MEDIA_TYPE = "text/event-stream"


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error": {"code": status, "message": message, "status": code}}, status)


def _last_user_text(body: dict[str, Any]) -> str:
    for content in reversed(body.get("contents") or []):
        if content.get("role", "user") == "user":
            texts = [p.get("text", "") for p in content.get("parts") or [] if "text" in p]
            if texts:
                return " ".join(texts)
    return ""


@dataclass
class FakeGemini:
    delay: float = 0.02
    base_url: str = ""
    keys_seen: list[str] = field(default_factory=list)
    requests_seen: int = 0

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/v1beta/models/{target:path}", self._models, methods=["POST"])]
        )

    async def _models(self, request: Request) -> Response:
        self.requests_seen += 1
        target = request.path_params["target"]
        model, _, action = target.partition(":")
        key = request.query_params.get("key") or request.headers.get("x-goog-api-key")
        if not key:
            return _error(
                403,
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API.",
            )
        self.keys_seen.append(key)
        try:
            body = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError:
            return _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        if action == "countTokens":
            return JSONResponse({"totalTokens": len(_last_user_text(body).split())})
        if action not in ("generateContent", "streamGenerateContent"):
            return _error(404, "NOT_FOUND", f"models/{model}:{action} is not found.")
        chunks = self._chunks(model, body)
        if action == "generateContent":
            return JSONResponse(self._merge(chunks))
        if request.query_params.get("alt") == "sse":
            wire = [f"data: {json.dumps(c)}\r\n\r\n".encode() for c in chunks]
            return ChunkStream(wire, media_type=SSE_MEDIA_TYPE, delay=self.delay)  # type: ignore[return-value]
        # Without alt=sse Gemini streams one JSON array, element by element.
        parts = [("[" if i == 0 else ",\r\n") + json.dumps(c) for i, c in enumerate(chunks)]
        wire = [p.encode() for p in parts] + [b"]"]
        return ChunkStream(wire, media_type="application/json", delay=self.delay)  # type: ignore[return-value]

    def _chunks(self, model: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        text = _last_user_text(body)
        limit = int((body.get("generationConfig") or {}).get("maxOutputTokens") or 64)
        prompt_tokens = len(text.split())
        declarations = [
            d for t in body.get("tools") or [] for d in t.get("functionDeclarations") or []
        ]
        meta = {
            "modelVersion": model,
            "responseId": "resp-" + hashlib.sha256(text.encode()).hexdigest()[:12],
        }
        if declarations and "weather" in text.lower():
            call = {"functionCall": {"name": declarations[0]["name"], "args": {"city": "Paris"}}}
            return [
                {
                    "candidates": [
                        {
                            "content": {"parts": [call], "role": "model"},
                            "finishReason": "STOP",
                            "index": 0,
                        }
                    ],
                    "usageMetadata": {
                        "promptTokenCount": prompt_tokens,
                        "candidatesTokenCount": 3,
                        "totalTokenCount": prompt_tokens + 3,
                    },
                    **meta,
                }
            ]
        words = ["You", "said:", *text.split()][:limit]
        out: list[dict[str, Any]] = []
        for i, word in enumerate(words):
            chunk: dict[str, Any] = {
                "candidates": [
                    {
                        "content": {"parts": [{"text": word + " "}], "role": "model"},
                        "index": 0,
                    }
                ],
                **meta,
            }
            if i == len(words) - 1:
                chunk["candidates"][0]["finishReason"] = (
                    "MAX_TOKENS" if len(words) == limit else "STOP"
                )
                chunk["usageMetadata"] = {
                    "promptTokenCount": prompt_tokens,
                    "candidatesTokenCount": len(words),
                    "totalTokenCount": prompt_tokens + len(words),
                }
            out.append(chunk)
        return out

    @staticmethod
    def _merge(chunks: list[dict[str, Any]]) -> dict[str, Any]:
        first = chunks[0]["candidates"][0]
        parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
        if all("text" in p for p in parts):
            parts = [{"text": "".join(p["text"] for p in parts)}]
        last = chunks[-1]
        return {
            "candidates": [
                {
                    "content": {"parts": parts, "role": "model"},
                    "finishReason": last["candidates"][0].get("finishReason", "STOP"),
                    "index": first.get("index", 0),
                }
            ],
            "usageMetadata": last.get("usageMetadata", {}),
            "modelVersion": last["modelVersion"],
            "responseId": last["responseId"],
        }
