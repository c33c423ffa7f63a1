"""Request bodies as the real SDKs send them, captured before they reach any network.

Each helper calls the real ``openai`` / ``anthropic`` / ``ollama`` SDK with a client whose
transport is an ``httpx2`` (``httpx`` for ollama) ``MockTransport`` that keeps the request
and answers with a minimal valid response, then hands back llmreel's
:class:`~llmreel.Request` built from exactly the bytes the SDK put on the wire. Tests of
the canonical rules compare these instead of hand-written JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import httpx2
import ollama
import openai

from llmreel import Request
from llmreel.model.wire import request_from_parts

_CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
    ],
}
_RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1,
    "model": "m",
    "status": "completed",
    "output": [],
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
}
_MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "m",
    "content": [{"type": "text", "text": "ok"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 1, "output_tokens": 1},
}
_EMBEDDINGS = {
    "object": "list",
    "model": "m",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.0]}],
    "usage": {"prompt_tokens": 1, "total_tokens": 1},
}
_FILE = {
    "id": "file-1",
    "object": "file",
    "bytes": 1,
    "created_at": 1,
    "filename": "f",
    "purpose": "assistants",
    "status": "processed",
}


def _answer(path: str) -> Any:
    if path.endswith("/chat/completions"):
        return _CHAT
    if path.endswith("/responses"):
        return _RESPONSE
    if path.endswith("/messages"):
        return _MESSAGE
    if path.endswith("/embeddings"):
        return _EMBEDDINGS
    if path.endswith("/files"):
        return _FILE
    if path.endswith("/transcriptions"):
        return {"text": "ok"}
    if path.endswith("/api/chat"):
        return {"model": "m", "message": {"role": "assistant", "content": "ok"}, "done": True}
    if path.endswith("/api/generate"):
        return {"model": "m", "response": "ok", "done": True}
    if path.endswith("/api/embed"):
        return {"model": "m", "embeddings": [[0.0]]}
    return {}


def _to_request(req: Any) -> Request:
    return request_from_parts(
        req.method,
        str(req.url),
        req.url.path,
        req.url.params.multi_items(),
        req.headers.multi_items(),
        req.read(),
    )


def _capture(mod: Any, call: Callable[[Any], Any], make: Callable[[Any], Any]) -> Request:
    seen: list[Request] = []

    def handler(req: Any) -> Any:
        seen.append(_to_request(req))
        return mod.Response(200, json=_answer(req.url.path))

    with mod.Client(transport=mod.MockTransport(handler)) as http:
        call(make(http))
    assert len(seen) == 1, seen
    return seen[0]


def openai_request(call: Callable[[openai.OpenAI], Any]) -> Request:
    """The request ``call(client)`` sends through the real openai SDK."""
    return _capture(
        httpx2,
        call,
        lambda http: openai.OpenAI(
            api_key="sk-test", base_url="http://upstream.test/v1", http_client=http, max_retries=0
        ),
    )


def anthropic_request(call: Callable[[anthropic.Anthropic], Any]) -> Request:
    """The request ``call(client)`` sends through the real anthropic SDK."""
    return _capture(
        httpx2,
        call,
        lambda http: anthropic.Anthropic(
            api_key="sk-ant-test", base_url="http://upstream.test", http_client=http, max_retries=0
        ),
    )


def ollama_request(call: Callable[[ollama.Client], Any]) -> Request:
    """The request ``call(client)`` sends through the real ollama SDK."""
    seen: list[Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(_to_request(req))
        return httpx.Response(200, json=_answer(req.url.path))

    client = ollama.Client(host="http://upstream.test", transport=httpx.MockTransport(handler))
    call(client)
    assert len(seen) == 1, seen
    return seen[0]
