"""The recorder: tees one upstream response chunk by chunk and writes it when it ends."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any, Protocol

import orjson

from llmreel.engine.journal import PendingEntry
from llmreel.model.interaction import Interaction, Request, Response
from llmreel.model.streams import StreamParser, make_parser, stream_kind_for
from llmreel.store import Entry

__all__ = ["Recorder", "RecordingSink"]

log = logging.getLogger("llmreel")


class RecordingSink(Protocol):
    """Where a recorder's finished response goes: the engine that asked for it."""

    def build_interaction(self, request: Request, key: str, response: Response) -> Interaction: ...

    def commit(self, inter: Interaction, position: int, *, overwrite: bool) -> Entry: ...

    def count_error(self) -> None: ...


class Recorder:
    """Tees one upstream response: fed chunk by chunk, written when it ends.

    The adapter calls :meth:`start` with the status and headers, :meth:`feed`
    with every chunk as it passes to the client, and :meth:`finish` exactly once
    (``complete=False`` with a reason when the client left or the upstream
    failed; the recording then keeps what arrived and says it is incomplete).
    """

    def __init__(
        self, engine: RecordingSink, request: Request, key: str, position: int, *, overwrite: bool
    ) -> None:
        self.engine = engine
        self.request = request
        self.key = key
        self.position = position
        self.overwrite = overwrite
        self.started = time.perf_counter()
        self.status = 0
        self.headers: dict[str, str] = {}
        self._parser: StreamParser | None = None
        self._chunks: list[bytes] = []
        self._done = False
        self.entry: Entry | None = None
        self.error: BaseException | None = None
        # The request's journal entry, finished when the recording is written (or fails).
        self.journal_entry: PendingEntry | None = None

    def start(self, status: int, headers: Iterable[tuple[str, str]]) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        kind = stream_kind_for(self.headers.get("content-type", ""))
        if kind is not None:
            self._parser = make_parser(kind, self.started)

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        if self._parser is not None:
            self._parser.feed(chunk)
        else:
            self._chunks.append(chunk)

    def response(self, *, complete: bool, error: str | None) -> Response:
        headers = dict(self.headers)
        if self._parser is not None:
            self._parser.close()
            return Response(
                status=self.status,
                headers=headers,
                stream=self._parser.kind,
                events=self._parser.events,
                complete=complete,
                error=error,
            )
        data = b"".join(self._chunks)
        ct = headers.get("content-type", "")
        body: Any = None
        text: str | None = None
        content: bytes | None = None
        if data and ("json" in ct or data[:1] in (b"{", b"[")):
            try:
                body = orjson.loads(data)
            except orjson.JSONDecodeError:
                body = None
        if body is None and data:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                content = data
        return Response(
            status=self.status,
            headers=headers,
            body=body,
            text=text,
            content=content,
            complete=complete,
            error=error,
        )

    def finish(self, *, complete: bool = True, error: str | None = None) -> Entry | None:
        """Write the recording (once). Errors are kept on ``self.error`` and re-raised."""
        if self._done:
            return self.entry
        self._done = True
        response = self.response(complete=complete, error=error)
        events = len(response.events) if response.stream is not None else None
        try:
            inter = self.engine.build_interaction(self.request, self.key, response)
            self.entry = self.engine.commit(inter, self.position, overwrite=self.overwrite)
        except Exception as exc:
            self.error = exc
            self.engine.count_error()
            if self.journal_entry is not None:
                self.journal_entry.finish(
                    "record-failed", self.status, note=f"{type(exc).__name__}: {exc}", events=events
                )
            raise
        if self.journal_entry is not None:
            self.journal_entry.finish(
                "recorded", self.status, file=self.entry.name, note=error, events=events
            )
        return self.entry

    def abandon(self, reason: str) -> None:
        """The upstream could not be reached at all: nothing to write."""
        self._done = True
        if self.journal_entry is not None:
            self.journal_entry.finish("error", 0, note=f"not recorded: {reason}")
        log.info(
            "llmreel: not recorded (%s): %s %s", reason, self.request.method, self.request.path
        )
