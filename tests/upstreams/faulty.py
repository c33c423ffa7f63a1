"""Fault-injecting upstream speaking OpenAI chat-completions and Anthropic messages, SSE included.

Tests point llmreel (or an SDK) at it to check behaviour that a healthy model server never shows:
slow streams, streams cut mid-way, stalls, rate limits and server errors. It also records every
request it receives (:attr:`FaultyUpstream.received`) so tests can assert what was forwarded,
e.g. that auth headers survived the proxy.

Endpoints: ``POST /v1/chat/completions`` (OpenAI; ``stream`` true gives ``data: {json}\\n\\n``
events ending with ``data: [DONE]\\n\\n``), ``POST /v1/messages`` (Anthropic; ``event: X\\ndata:
{json}\\n\\n``), ``GET /v1/models``. Anything else: 404 with an OpenAI-shaped error body.

Choosing a behaviour, per request: header ``X-Fault: <name>``, or a model name ``fault-<name>``
(handy when an SDK makes extra headers awkward). Names:

``normal``  (default) a complete answer; streamed if the request says ``stream: true``.
``slow``    like normal, 10 events 100 ms apart by default.
``cut``     the connection is dropped after ``X-Fault-After`` events (default 3); no ``[DONE]``.
            For a non-streaming request, half the JSON body is sent, then the connection drops.
``stall``   after ``X-Fault-After`` events (default 1) nothing is sent for ``X-Fault-Stall``
            seconds (default 30), then the stream finishes normally.
``429``     rate limited, with ``Retry-After: <X-Fault-Retry-After or 1>``.
``500``, ``503``, ``529``  server errors (bodies shaped like the real API's errors).

Tuning headers: ``X-Fault-Events`` (content events, default 5), ``X-Fault-Delay-Ms`` (between
events), ``X-Fault-After``, ``X-Fault-Stall``, ``X-Fault-Retry-After``, and ``X-Fault-Times: N``
which applies the fault only to the first N requests with the same ``X-Fault-Key`` (default:
the behaviour and path) and answers normally afterwards, to test retries.

Content is deterministic: the words of the last user message, cycled to the event count.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .streams import SSE_MEDIA_TYPE, ChunkStream

CREATED = 1_700_000_000  # fixed so that identical requests give byte-identical answers


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the upstream saw it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-cased names; for repeated names the last value wins
    raw_headers: list[tuple[str, str]]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class Fault:
    """What to do with one request, parsed from its headers / model name."""

    behaviour: str = "normal"
    events: int = 5
    delay: float = 0.0
    after: int | None = None
    stall: float = 30.0
    retry_after: str = "1"

    @property
    def cut_after(self) -> int:
        return 3 if self.after is None else self.after

    @property
    def stall_after(self) -> int:
        return 1 if self.after is None else self.after


def _sse_data(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _sse_event(event: str, obj: Any) -> bytes:
    data = json.dumps(obj, separators=(",", ":"))
    return f"event: {event}\ndata: {data}\n\n".encode()


def _text_of(content: Any) -> str:
    """Text of a message ``content``: a string, or a list of parts with ``text`` fields."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def tokens_for(body: dict[str, Any], count: int) -> list[str]:
    """Deterministic answer tokens: the last user message's words, cycled to ``count``."""
    messages = body.get("messages") or []
    user = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    words = _text_of(user[-1].get("content")).split() if user else []
    words = words or ["hello"]
    return [(" " if i else "") + words[i % len(words)] for i in range(count)]


def _request_id(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:24]


@dataclass
class FaultyUpstream:
    """The app plus what it received. Serve ``.app`` with ``serving.run_app``."""

    default_events: int = 5
    base_url: str = ""  # set by whoever serves ``.app`` (the ``faulty`` fixture does)
    received: list[ReceivedRequest] = field(default_factory=list)
    _fault_counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat_completions, methods=["POST"]),
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/{path:path}", self._not_found, methods=["GET", "POST", "PUT", "DELETE"]),
            ]
        )

    @property
    def last(self) -> ReceivedRequest:
        return self.received[-1]

    def clear(self) -> None:
        self.received.clear()
        self._fault_counts.clear()

    # -- plumbing ---------------------------------------------------------------------------

    async def _record(self, request: Request) -> tuple[bytes, dict[str, Any]]:
        body = await request.body()
        raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        self.received.append(
            ReceivedRequest(
                method=request.method,
                path=request.url.path,
                query=request.url.query,
                headers={k.lower(): v for k, v in raw},
                raw_headers=raw,
                body=body,
            )
        )
        try:
            parsed = json.loads(body) if body else {}
        except ValueError:
            parsed = {}
        return body, parsed if isinstance(parsed, dict) else {}

    def _fault(self, request: Request, body: dict[str, Any]) -> Fault:
        h = request.headers
        model = str(body.get("model", ""))
        behaviour = h.get("x-fault") or (model[6:] if model.startswith("fault-") else "normal")
        if "x-fault-times" in h:
            key = h.get("x-fault-key", f"{behaviour} {request.url.path}")
            self._fault_counts[key] += 1
            if self._fault_counts[key] > int(h["x-fault-times"]):
                behaviour = "normal"
        slow = behaviour == "slow"
        return Fault(
            behaviour=behaviour,
            events=int(h.get("x-fault-events", 10 if slow else self.default_events)),
            delay=float(h.get("x-fault-delay-ms", 100 if slow else 0)) / 1000,
            after=int(h["x-fault-after"]) if "x-fault-after" in h else None,
            stall=float(h.get("x-fault-stall", 30)),
            retry_after=h.get("x-fault-retry-after", "1"),
        )

    def _respond(
        self, fault: Fault, rid: str, stream: bool, events: list[bytes], whole: dict[str, Any]
    ) -> ChunkStream:
        headers = {"x-request-id": rid}
        if stream:
            headers["cache-control"] = "no-cache"
            return ChunkStream(
                events,
                headers=headers,
                media_type=SSE_MEDIA_TYPE,
                delay=fault.delay,
                cut_after=fault.cut_after if fault.behaviour == "cut" else None,
                stall_after=fault.stall_after if fault.behaviour == "stall" else None,
                stall=fault.stall,
            )
        body = json.dumps(whole).encode()
        chunks = [body[: len(body) // 2], body[len(body) // 2 :]]
        headers["content-length"] = str(len(body))
        # A slow non-streaming upstream takes as long as its stream would have; a stalled one
        # sends its headers and then nothing for the stall time.
        wait = fault.stall if fault.behaviour == "stall" else fault.delay * fault.events
        return ChunkStream(
            chunks,
            headers=headers,
            media_type="application/json",
            cut_after=1 if fault.behaviour == "cut" else None,
            stall_after=0 if wait > 0 else None,
            stall=wait,
        )

    # -- OpenAI -----------------------------------------------------------------------------

    async def _chat_completions(self, request: Request) -> Response | ChunkStream:
        raw, body = await self._record(request)
        fault = self._fault(request, body)
        rid = _request_id(raw)
        if error := _openai_error(fault):
            return error
        model = str(body.get("model", "faulty"))
        tokens = tokens_for(body, fault.events)
        cid = f"chatcmpl-{rid}"
        usage = {
            "prompt_tokens": len(raw) // 4,
            "completion_tokens": len(tokens),
            "total_tokens": len(raw) // 4 + len(tokens),
        }

        def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
            return {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": CREATED,
                "model": model,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }

        events = [_sse_data(chunk({"role": "assistant", "content": ""}, None))]
        events += [_sse_data(chunk({"content": t}, None)) for t in tokens]
        events.append(_sse_data(chunk({}, "stop")))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append(_sse_data({**chunk({}, None), "choices": [], "usage": usage}))
        events.append(b"data: [DONE]\n\n")
        whole = {
            "id": cid,
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(tokens), "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
        }
        return self._respond(fault, rid, bool(body.get("stream")), events, whole)

    async def _models(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse(
            {
                "object": "list",
                "data": [{"id": "faulty", "object": "model", "created": CREATED, "owned_by": "t"}],
            }
        )

    async def _not_found(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse(
            {
                "error": {
                    "message": f"Unknown path {request.url.path}",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "not_found",
                }
            },
            status_code=404,
        )

    # -- Anthropic --------------------------------------------------------------------------

    async def _messages(self, request: Request) -> Response | ChunkStream:
        raw, body = await self._record(request)
        fault = self._fault(request, body)
        rid = _request_id(raw)
        if error := _anthropic_error(fault):
            return error
        model = str(body.get("model", "faulty"))
        tokens = tokens_for(body, fault.events)
        mid = f"msg_{rid}"
        input_tokens = len(raw) // 4
        events = [
            _sse_event(
                "message_start",
                {
                    "type": "message_start",
                    "message": {
                        "id": mid,
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": input_tokens, "output_tokens": 1},
                    },
                },
            ),
            _sse_event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            _sse_event("ping", {"type": "ping"}),
        ]
        events += [
            _sse_event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": t},
                },
            )
            for t in tokens
        ]
        events += [
            _sse_event("content_block_stop", {"type": "content_block_stop", "index": 0}),
            _sse_event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": len(tokens)},
                },
            ),
            _sse_event("message_stop", {"type": "message_stop"}),
        ]
        whole = {
            "id": mid,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": "".join(tokens)}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": len(tokens)},
        }
        return self._respond(fault, rid, bool(body.get("stream")), events, whole)


_OPENAI_ERRORS: dict[str, tuple[int, str, str, str | None]] = {
    "429": (429, "Rate limit reached for requests", "requests", "rate_limit_exceeded"),
    "500": (500, "The server had an error while processing your request.", "server_error", None),
    "503": (503, "The engine is currently overloaded.", "server_error", None),
    "529": (529, "The engine is currently overloaded.", "server_error", None),
}

_ANTHROPIC_ERRORS: dict[str, tuple[int, str, str]] = {
    "429": (429, "rate_limit_error", "Number of requests has exceeded your rate limit."),
    "500": (500, "api_error", "Internal server error"),
    "503": (503, "api_error", "Service unavailable"),
    "529": (529, "overloaded_error", "Overloaded"),
}


def _retry_headers(fault: Fault) -> dict[str, str]:
    return {"retry-after": fault.retry_after} if fault.behaviour == "429" else {}


def _openai_error(fault: Fault) -> Response | None:
    if fault.behaviour not in _OPENAI_ERRORS:
        return None
    status, message, kind, code = _OPENAI_ERRORS[fault.behaviour]
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": code}},
        status_code=status,
        headers=_retry_headers(fault),
    )


def _anthropic_error(fault: Fault) -> Response | None:
    if fault.behaviour not in _ANTHROPIC_ERRORS:
        return None
    status, kind, message = _ANTHROPIC_ERRORS[fault.behaviour]
    return JSONResponse(
        {"type": "error", "error": {"type": kind, "message": message}},
        status_code=status,
        headers=_retry_headers(fault),
    )
