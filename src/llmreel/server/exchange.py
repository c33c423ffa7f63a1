"""One request's exchange as the proxy sees it: its log line, reading its body, whole answers.

The proxy speaks raw ASGI rather than going through Starlette's responses so
that it controls exactly when bytes are sent; these are the plain parts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from starlette.types import Receive, Send

from llmreel.engine import Journal, PendingEntry
from llmreel.providers.error_shapes import error_response_parts

__all__ = [
    "OUTCOME_HEADER",
    "ClientLeft",
    "Exchange",
    "TooLarge",
    "encode_headers",
    "read_body",
    "send_error",
    "send_whole",
]

# Every answer says what llmreel did with the request (hit, miss, recorded, live, ...).
OUTCOME_HEADER = "x-llmreel-outcome"


class ClientLeft(Exception):
    """The client disconnected before its request body arrived."""


class TooLarge(Exception):
    """The request body is larger than --max-body."""


@dataclass
class Exchange:
    """What one request's log line says."""

    method: str
    path: str
    started: float
    cassette: str = "-"
    outcome: str = "error"
    status: int = 0
    events: int | None = None
    file: str | None = None
    note: str | None = None
    # The journal entry the engine opened (None until it decided), and the cassette's journal.
    entry: PendingEntry | None = None
    journal: Journal | None = None

    def fields(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "cassette": self.cassette,
            "outcome": self.outcome,
            "status": self.status,
            "duration_ms": round((time.perf_counter() - self.started) * 1000, 1),
            "events": self.events,
            "file": self.file,
            "note": self.note,
        }

    def finish_entry(self, fallback: Journal, duration_ms: float) -> None:
        """Finish this request's journal entry (a no-op if the engine or recorder did)."""
        entry = self.entry
        if entry is None:
            entry = (self.journal or fallback).begin_raw(self.method, self.path)
        entry.finish(
            self.outcome,
            self.status,
            file=self.file,
            note=self.note,
            events=self.events,
            duration_ms=duration_ms,
        )


def encode_headers(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1", "replace")) for k, v in headers]


async def read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientLeft
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def send_whole(
    send: Send,
    ex: Exchange,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    ex.status = status
    out = [*headers, (OUTCOME_HEADER, ex.outcome)]
    await send({"type": "http.response.start", "status": status, "headers": encode_headers(out)})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_error(
    send: Send,
    ex: Exchange,
    status: int,
    message: str,
    code: str,
    *,
    outcome: str = "error",
) -> None:
    ex.outcome = outcome
    ex.note = message.splitlines()[0][:300]
    status, headers, body = error_response_parts(ex.path, status, message, code)
    await send_whole(send, ex, status, headers, body)
