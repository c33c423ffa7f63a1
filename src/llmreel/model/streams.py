"""Incremental parsers that split a response byte stream into events as it arrives.

The recorder feeds every chunk it tees to the client into one of these; each
completed event is stamped with its arrival time. Parsing follows the SSE
specification (any of CRLF, LF, CR ends a line; a blank line ends an event)
and NDJSON (one JSON document per LF-terminated line).
"""

from __future__ import annotations

import time

from llmreel.model.interaction import Event, StreamKind

__all__ = ["NdjsonParser", "SseParser", "StreamParser", "make_parser", "stream_kind_for"]


def stream_kind_for(content_type: str) -> StreamKind | None:
    ct = content_type.split(";", 1)[0].strip().lower()
    if ct == "text/event-stream":
        return "sse"
    if ct in (
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonlines",
        "application/jsonlines",
    ):
        return "ndjson"
    return None


class StreamParser:
    """Shared clock and buffer handling; subclasses split the text into events."""

    kind: StreamKind

    def __init__(self, started: float) -> None:
        self.started = started
        self.events: list[Event] = []
        self._buf = ""
        self._pending = b""  # an incomplete UTF-8 sequence split across chunks

    def _now(self) -> float:
        return round(time.perf_counter() - self.started, 4)

    def _decode(self, chunk: bytes) -> str:
        data = self._pending + chunk
        try:
            text = data.decode("utf-8")
            self._pending = b""
        except UnicodeDecodeError as exc:
            if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
                text = data[: exc.start].decode("utf-8")
                self._pending = data[exc.start :]
            else:
                text = data.decode("utf-8", "replace")
                self._pending = b""
        return text

    def feed(self, chunk: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """End of stream: keep whatever complete data is left."""
        raise NotImplementedError


class SseParser(StreamParser):
    kind: StreamKind = "sse"

    def __init__(self, started: float) -> None:
        super().__init__(started)
        self._fields: dict[str, list[str]] = {}
        self._comments: list[str] = []
        self._cr = False  # last chunk ended in CR: a following LF belongs to it

    def feed(self, chunk: bytes) -> None:
        text = self._decode(chunk)
        if self._cr and text.startswith("\n"):
            text = text[1:]
        self._cr = text.endswith("\r")
        self._buf += text
        # Split on any line ending, keeping the last (possibly partial) line.
        lines = self._buf.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._buf = lines.pop()
        stamp: float | None = None
        for line in lines:
            if stamp is None:
                stamp = self._now()
            self._line(line, stamp)

    def _line(self, line: str, stamp: float) -> None:
        if line == "":
            self._dispatch(stamp)
            return
        if line.startswith(":"):
            self._comments.append(line[1:].removeprefix(" "))
            return
        name, sep, value = line.partition(":")
        if sep:
            value = value.removeprefix(" ")
        self._fields.setdefault(name, []).append(value)

    def _dispatch(self, stamp: float) -> None:
        if not self._fields and not self._comments:
            return
        f = self._fields
        retry = f.get("retry", [None])[-1]
        event = Event(
            t=stamp,
            data="\n".join(f["data"]) if "data" in f else None,
            event=f.get("event", [None])[-1],
            id=f.get("id", [None])[-1],
            retry=int(retry) if retry is not None and retry.isdigit() else None,
            comment="\n".join(self._comments) if self._comments else None,
        )
        self.events.append(event)
        self._fields = {}
        self._comments = []

    def close(self) -> None:
        if self._buf:
            self._line(self._buf, self._now())
            self._buf = ""
        # A final event without its blank line is still an event the client saw.
        self._dispatch(self._now())


class NdjsonParser(StreamParser):
    kind: StreamKind = "ndjson"

    def feed(self, chunk: bytes) -> None:
        self._buf += self._decode(chunk)
        if "\n" not in self._buf:
            return
        lines = self._buf.split("\n")
        self._buf = lines.pop()
        stamp = self._now()
        for line in lines:
            line = line.rstrip("\r")
            if line.strip():
                self.events.append(Event(t=stamp, data=line))

    def close(self) -> None:
        rest = self._buf.strip()
        if rest:
            self.events.append(Event(t=self._now(), data=rest))
        self._buf = ""


def make_parser(kind: StreamKind, started: float) -> StreamParser:
    return SseParser(started) if kind == "sse" else NdjsonParser(started)
