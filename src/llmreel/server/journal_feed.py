"""The server's journal over HTTP: a JSON page of entries, and an SSE stream of new ones.

- ``GET /_llmreel/journal?since=SEQ&cassette=NAME&limit=N`` answers
  ``{"entries": [...], "next": SEQ}``: the entries with ``seq > since`` in order
  (at most ``limit``, default 1000), and the ``since`` to ask with next time.
- ``GET /_llmreel/journal/stream?since=SEQ&cassette=NAME`` is a Server-Sent Events
  stream: first the kept entries after ``since``, then each new one as its request
  completes, as ``event: entry`` / ``data: <json>`` (the ``id:`` is the entry's
  ``seq``, so a reconnecting EventSource resumes with ``Last-Event-ID``). A comment
  line is sent every 15 s so dead clients are noticed; the stream ends when the
  server stops.

Both read the one :class:`~llmreel.engine.JournalLog` every cassette's engine adds
to; ``cassette=`` keeps one cassette's entries (``.`` is the ``--dir`` itself).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from llmreel.engine import JournalEntry, JournalLog
from llmreel.exceptions import InvalidCassetteNameError
from llmreel.server.lifecycle import Lifecycle
from llmreel.server.state import Registry

__all__ = ["JournalFeed"]

_KEEPALIVE = 15.0
_DEFAULT_LIMIT = 1000
_MAX_LIMIT = 10_000
_QUEUE = 10_000  # entries a slow stream reader may fall behind before it is cut off


def _sse(entry: JournalEntry) -> bytes:
    return b"event: entry\nid: %d\ndata: %s\n\n" % (entry.seq, orjson.dumps(entry.as_dict()))


class _BadQuery(Exception):
    pass


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _BadQuery(f"?{name}={raw!r} is not a whole number") from None
    if value < 0:
        raise _BadQuery(f"?{name}={raw!r} must not be negative")
    return value


def _cassette(request: Request) -> str | None:
    wanted = request.query_params.get("cassette")
    if wanted is None:
        return None
    try:
        return Registry.resolve_name(wanted)
    except InvalidCassetteNameError as exc:
        raise _BadQuery(str(exc)) from None


class JournalFeed:
    """The two journal endpoints of the control surface."""

    def __init__(self, log: JournalLog, lifecycle: Lifecycle) -> None:
        self.log = log
        self.lifecycle = lifecycle

    async def page(self, request: Request) -> JSONResponse:
        try:
            since = _int(request, "since", 0)
            limit = min(_int(request, "limit", _DEFAULT_LIMIT) or _DEFAULT_LIMIT, _MAX_LIMIT)
            cassette = _cassette(request)
        except _BadQuery as exc:
            return JSONResponse({"error": f"llmreel journal: {exc}."}, status_code=400)
        entries = self.log.entries(since, cassette)[:limit]
        # Nothing new: a `since` beyond the end (the server restarted) starts over.
        after = entries[-1].seq if entries else min(since, self.log.last_seq)
        return JSONResponse({"entries": [e.as_dict() for e in entries], "next": after})

    async def stream(self, request: Request) -> Response:
        try:
            since = _int(request, "since", 0)
            if "since" not in request.query_params:
                since = _int_header(request.headers.get("last-event-id"), since)
            cassette = _cassette(request)
        except _BadQuery as exc:
            return JSONResponse({"error": f"llmreel journal: {exc}."}, status_code=400)
        return StreamingResponse(
            self._events(since, cassette),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )

    async def _events(self, since: int, cassette: str | None) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[JournalEntry] = asyncio.Queue(_QUEUE)
        behind: list[bool] = []

        def put(entry: JournalEntry) -> None:
            try:
                queue.put_nowait(entry)
            except asyncio.QueueFull:
                behind.append(True)

        def listener(entry: JournalEntry) -> None:
            # Called on whichever thread finished the request.
            if cassette is None or entry.cassette == cassette:
                loop.call_soon_threadsafe(put, entry)

        # Subscribe before reading the backlog: an entry added in between is in both, and
        # the seq check below drops the second copy.
        self.log.subscribe(listener)
        stopping = asyncio.ensure_future(self.lifecycle.wait())
        getter: asyncio.Future[JournalEntry] | None = None
        try:
            yield b": llmreel journal\n\n"
            last = since
            for entry in self.log.entries(since, cassette):
                yield _sse(entry)
                last = entry.seq
            while not behind:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait(
                    {getter, stopping}, timeout=_KEEPALIVE, return_when=asyncio.FIRST_COMPLETED
                )
                if getter not in done:
                    getter.cancel()
                    if stopping in done:
                        return
                    yield b": keep-alive\n\n"
                    continue
                entry = getter.result()
                if entry.seq <= last:
                    continue
                yield _sse(entry)
                last = entry.seq
            # The reader fell too far behind: say where to resume (GET .../journal?since=).
            yield b"event: behind\ndata: %s\n\n" % orjson.dumps({"next": last})
        finally:
            self.log.unsubscribe(listener)
            stopping.cancel()
            if getter is not None:
                getter.cancel()


def _int_header(value: str | None, default: int) -> int:
    if value is None or not value.strip().isdigit():
        return default
    return int(value.strip())
