"""Values for one recorded exchange: the request, the response and its stream events.

These are plain data: adapters build a :class:`Request` from whatever their HTTP
stack hands them, the engine matches it, and adapters render a :class:`Response`
back into their stack's response type. Rendering to wire bytes lives here so the
in-process transports and the proxy server emit byte-identical streams.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

__all__ = [
    "Event",
    "Interaction",
    "Request",
    "Response",
    "StreamKind",
    "dumps_json",
]

StreamKind = Literal["sse", "ndjson"]


def dumps_json(value: Any) -> bytes:
    """Compact JSON, the way most model servers put it on the wire."""
    return orjson.dumps(value)


@dataclass(slots=True)
class Request:
    """One HTTP request as the matcher sees it.

    ``headers`` and ``query`` are already redacted when the request came from
    disk; adapters pass the live values and redaction happens at write time.
    """

    method: str
    url: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # parsed JSON, or None when there was no body
    raw: bytes | None = None  # the body's bytes when it was not JSON
    # The body's bytes exactly as sent, set by the adapters (``model.wire``) for code that must
    # see them (the vcrpy compatibility layer); never keyed, never written.
    wire: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def model(self) -> str:
        """The model a request asks for, when the body or path names one."""
        body = self.body
        if isinstance(body, dict):
            model = body.get("model")
            if isinstance(model, str):
                return model
        # Gemini and Azure put the model (or deployment) in the path.
        parts = self.path.split("/")
        for marker in ("models", "deployments"):
            if marker in parts:
                i = parts.index(marker)
                if i + 1 < len(parts):
                    return parts[i + 1].split(":")[0]
        return ""

    @property
    def streamed(self) -> bool:
        body = self.body
        return isinstance(body, dict) and body.get("stream") is True


@dataclass(slots=True)
class Event:
    """One stream event and when it arrived, in seconds after the request was sent.

    For SSE the fields are the event's own (``event``, ``id``, ``data``, ``retry``,
    ``comment``); for NDJSON ``data`` holds one line without its newline.
    """

    t: float
    data: str | None = None
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    comment: str | None = None
    _wire: bytes | None = field(default=None, repr=False, compare=False)

    def wire(self, kind: StreamKind) -> bytes:
        """The event's bytes on the wire, built once and cached."""
        cached = self._wire
        if cached is not None:
            return cached
        if kind == "ndjson":
            out = (self.data or "").encode() + b"\n"
        else:
            parts: list[str] = []
            if self.comment is not None:
                parts.extend(f": {line}\n" for line in self.comment.split("\n"))
            if self.event is not None:
                parts.append(f"event: {self.event}\n")
            if self.id is not None:
                parts.append(f"id: {self.id}\n")
            if self.retry is not None:
                parts.append(f"retry: {self.retry}\n")
            if self.data is not None:
                parts.extend(f"data: {line}\n" for line in self.data.split("\n"))
            parts.append("\n")
            out = "".join(parts).encode()
        self._wire = out
        return out


@dataclass(slots=True)
class Response:
    """A response: status, headers, and a JSON body, a text/binary body, or a stream."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # parsed JSON when the body was JSON
    text: str | None = None  # a non-JSON text body
    content: bytes | None = None  # a binary body
    stream: StreamKind | None = None
    events: list[Event] = field(default_factory=list)
    complete: bool = True  # False: the stream was cut (client left, upstream failed)
    error: str | None = None  # why the response is incomplete
    _body_bytes: bytes | None = field(default=None, repr=False, compare=False)
    _stream_bytes: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def transport_failure(self) -> str | None:
        """``"connect"`` or ``"timeout"`` when no HTTP response ever came (status 0)."""
        if self.status != 0:
            return None
        return "timeout" if "timeout" in (self.error or "").lower() else "connect"

    @property
    def is_json(self) -> bool:
        return self.stream is None and self.text is None and self.content is None

    def body_bytes(self) -> bytes:
        """The non-streamed body as wire bytes (cached)."""
        cached = self._body_bytes
        if cached is not None:
            return cached
        if self.content is not None:
            out = self.content
        elif self.text is not None:
            out = self.text.encode()
        elif self.body is None:
            out = b""
        else:
            out = dumps_json(self.body)
        self._body_bytes = out
        return out

    def wire_chunks(self) -> list[bytes]:
        """Every chunk the client receives, in order (streams: one per event)."""
        if self.stream is None:
            body = self.body_bytes()
            return [body] if body else []
        kind = self.stream
        return [e.wire(kind) for e in self.events]

    def stream_bytes(self) -> bytes:
        """The whole stream as one buffer (cached): what a fast in-process replay hands over."""
        cached = self._stream_bytes
        if cached is None:
            cached = self._stream_bytes = b"".join(self.wire_chunks())
        return cached

    def content_type(self) -> str:
        for name, value in self.headers.items():
            if name.lower() == "content-type":
                return value
        if self.stream == "sse":
            return "text/event-stream"
        if self.stream == "ndjson":
            return "application/x-ndjson"
        if self.is_json and self.body is not None:
            return "application/json"
        return "application/octet-stream" if self.content is not None else "text/plain"

    def replay_headers(self) -> list[tuple[str, str]]:
        """Headers to send on replay: recorded ones minus framing, plus a fresh length."""
        skip = {
            "content-length",
            "transfer-encoding",
            "content-encoding",
            "connection",
            "keep-alive",
            "date",
            "server",
        }
        out = [(k, v) for k, v in self.headers.items() if k.lower() not in skip]
        if not any(k.lower() == "content-type" for k, _ in out):
            out.append(("content-type", self.content_type()))
        if self.stream is None:
            out.append(("content-length", str(len(self.body_bytes()))))
        return out

    def text_of_body(self) -> str:
        if self.content is not None:
            return base64.b64encode(self.content).decode()
        return self.body_bytes().decode("utf-8", "replace")


@dataclass(slots=True)
class Interaction:
    """One request and its response, as stored in a cassette."""

    request: Request
    response: Response
    key: str = ""
    position: int = 0
    recorded_at: str = ""
    normalizers: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()  # the canonical rules (name@version) it was keyed with
    test_id: str | None = None
    source: str = "llmreel"  # or "llama-stack" for files read from that format
    any_body: bool = False  # llama-stack recorded no arguments: any body on this path matches
    path: str | None = None  # the file it came from
    meta: dict[str, Any] = field(default_factory=dict)
