"""The proxy: every request outside ``/_llmreel/`` goes through the engine of its cassette.

- hit: the recorded response is re-emitted, a stream event by event (fast, or
  paced at the recorded timing);
- miss in replay: an error in the API's own shape that explains the miss (a
  made-up model list for ``GET /v1/models`` and ``GET /api/tags``);
- record / record-if-missing / live: forwarded upstream; every chunk is written
  to the client the moment it arrives and teed to the engine's recorder, which
  writes the recording (off the event loop) when the response ends, or, if the
  client leaves, the upstream fails or the server stops, writes what arrived
  marked incomplete.

The handler speaks raw ASGI rather than going through Starlette's responses so
that it controls exactly when bytes are sent and can notice a client that
leaves while the upstream is still thinking.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import anyio
import anyio.to_thread
import httpx
import orjson
from starlette.types import Message, Receive, Scope, Send

from llmreel.engine import Decision, Recorder
from llmreel.engine.modes import Mode
from llmreel.exceptions import (
    InvalidCassetteNameError,
    LlmreelError,
    ReplayMissError,
    SecretLeakError,
)
from llmreel.model.interaction import Request, Response
from llmreel.model.wire import request_from_parts
from llmreel.providers.error_shapes import error_response_parts
from llmreel.server.config import CASSETTE_HEADER, ServerConfig
from llmreel.server.lists import LIST_PATHS, synthesized_list
from llmreel.server.logs import log_request
from llmreel.server.state import CassetteState, Registry
from llmreel.server.upstream import Upstream, client_headers

__all__ = ["OUTCOME_HEADER", "Lifecycle", "Proxy"]

log = logging.getLogger("llmreel.server")

# Every answer says what llmreel did with the request (hit, miss, recorded, live, ...).
OUTCOME_HEADER = "x-llmreel-outcome"


class _ClientLeft(Exception):
    """The client disconnected before its request body arrived."""


class _TooLarge(Exception):
    """The request body is larger than --max-body."""


class Lifecycle:
    """Whether the server is stopping; streams still running get a grace period, then end."""

    def __init__(self) -> None:
        self.stopping = False
        self._event: anyio.Event | None = None

    def _get_event(self) -> anyio.Event:
        if self._event is None:
            self._event = anyio.Event()  # needs the running loop, so made on first use
            if self.stopping:
                self._event.set()
        return self._event

    def bind(self) -> None:
        self._get_event()

    def begin_shutdown(self) -> None:
        self.stopping = True
        if self._event is not None:
            self._event.set()

    async def wait(self) -> None:
        await self._get_event().wait()


@dataclass
class _Exchange:
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


def build_request(
    scope: Scope, headers: list[tuple[str, str]], content: bytes, url: str
) -> Request:
    """The engine's view of an ASGI request whose body has been read.

    Built by the same function as every in-process adapter's, so the key never depends
    on whether a request came through the server or a transport.
    """
    merged: dict[str, str] = {}
    for k, v in headers:
        if k.startswith("x-llmreel-"):
            continue  # llmreel's own routing, never part of a recording
        merged[k] = f"{merged[k]}, {v}" if k in merged else v
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return request_from_parts(
        str(scope["method"]), url, scope.get("path") or "/", query, merged.items(), content
    )


def _encode(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1", "replace")) for k, v in headers]


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientLeft
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _unrecorded_list(state: CassetteState, request: Request) -> bytes | None:
    """A made-up model list, unless the cassette holds a recording of this call."""
    cassette = state.engine.cassette
    cassette.refresh()
    matcher = cassette.matcher
    if cassette.sequence(matcher.key(request)) or cassette.any_body_sequence(
        matcher.path_key(request)
    ):
        return None
    return orjson.dumps(synthesized_list(request.path, cassette))


class Proxy:
    """The ASGI callable for everything that is not the control surface."""

    def __init__(self, config: ServerConfig, registry: Registry, lifecycle: Lifecycle) -> None:
        self.config = config
        self.registry = registry
        self.lifecycle = lifecycle
        self.upstream = Upstream(config) if config.upstream else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ex = _Exchange(str(scope["method"]), str(scope.get("path", "/")), time.perf_counter())
        try:
            await self._handle(scope, receive, send, ex)
        except _ClientLeft:
            ex.outcome, ex.status, ex.note = "client-left", 499, "left before the request ended"
        finally:
            log_request(ex.fields(), self.config.log_format)

    # ------------------------------------------------------------------ plumbing

    async def _send_whole(
        self,
        send: Send,
        ex: _Exchange,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        ex.status = status
        out = [*headers, (OUTCOME_HEADER, ex.outcome)]
        await send({"type": "http.response.start", "status": status, "headers": _encode(out)})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _error(
        self,
        send: Send,
        ex: _Exchange,
        status: int,
        message: str,
        code: str,
        *,
        outcome: str = "error",
    ) -> None:
        ex.outcome = outcome
        ex.note = message.splitlines()[0][:300]
        status, headers, body = error_response_parts(ex.path, status, message, code)
        await self._send_whole(send, ex, status, headers, body)

    # ------------------------------------------------------------------ dispatch

    async def _handle(self, scope: Scope, receive: Receive, send: Send, ex: _Exchange) -> None:
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]
        wanted = next((v for k, v in headers if k == CASSETTE_HEADER), None)
        try:
            name = self.registry.resolve_name(wanted)
            # Resolving the directory also catches names that escape through a symlink.
            state = await self.registry.get(name)
        except InvalidCassetteNameError as exc:
            await self._error(send, ex, 400, f"llmreel: {exc}", "llmreel_invalid_cassette")
            return
        ex.cassette = name
        state.bump("requests")
        state.bump("in_flight")
        try:
            await self._handle_in(scope, receive, send, ex, headers, state)
        finally:
            state.bump("in_flight", -1)

    async def _handle_in(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        ex: _Exchange,
        headers: list[tuple[str, str]],
        state: CassetteState,
    ) -> None:
        limit = self.config.max_body
        length = next((v for k, v in headers if k == "content-length"), None)
        try:
            if length is not None and length.isdigit() and int(length) > limit:
                raise _TooLarge
            content = await _read_body(receive, limit)
        except _TooLarge:
            state.bump("server_errors")
            await self._error(
                send,
                ex,
                413,
                f"llmreel: the request body of {ex.method} {ex.path} is larger than the "
                f"server's limit of {limit} bytes. Start `llmreel serve` with a larger "
                f"--max-body if this request is meant to be that big.",
                "llmreel_body_too_large",
            )
            return
        raw_path = scope.get("raw_path") or ex.path.encode()
        qs = scope.get("query_string", b"")
        if self.upstream is not None:
            url = self.upstream.url(raw_path, qs)
        else:
            host = next((v for k, v in headers if k == "host"), "llmreel")
            url = f"http://{host}{raw_path.decode('latin-1')}" + (
                f"?{qs.decode('latin-1')}" if qs else ""
            )
        request = build_request(scope, headers, content, url)
        ex.path = request.path
        if (
            request.method == "GET"
            and request.path in LIST_PATHS
            and state.engine.mode is Mode.REPLAY
        ):
            listing = await anyio.to_thread.run_sync(_unrecorded_list, state, request)
            if listing is not None:
                ex.outcome = "synthesized"
                state.bump("synthesized")
                await self._send_whole(
                    send,
                    ex,
                    200,
                    [("content-type", "application/json"), ("content-length", str(len(listing)))],
                    listing,
                )
                return
        engine = state.engine
        try:
            if engine.mode in (Mode.RECORD, Mode.LIVE):
                # No file is read in these modes: deciding inline saves a thread hop on the
                # path to the first byte.
                decision: Decision = engine.decide(request)
            else:
                # A hit may parse a file and a miss re-lists the directory: off the loop.
                decision = await anyio.to_thread.run_sync(engine.decide, request)
        except ReplayMissError as miss:
            await self._error(
                send, ex, 404, f"llmreel {miss}", "llmreel_replay_miss", outcome="miss"
            )
            return
        except SecretLeakError as exc:
            # The request itself carries a credential: the client must change it, so 4xx.
            state.bump("server_errors")
            await self._error(send, ex, 400, f"llmreel: {exc}", "llmreel_secret_refused")
            return
        except LlmreelError as exc:
            state.bump("server_errors")
            await self._error(send, ex, 500, f"llmreel: {exc}", "llmreel_error")
            return
        if decision.action == "replay":
            await self._replay(send, receive, ex, decision)
            return
        await self._forward(scope, receive, send, ex, headers, content, state, decision.recorder)

    # ------------------------------------------------------------------ replay

    async def _replay(
        self, send: Send, receive: Receive, ex: _Exchange, decision: Decision
    ) -> None:
        inter = decision.interaction
        assert inter is not None
        resp: Response = inter.response
        ex.outcome = "hit"
        ex.file = inter.path.rsplit("/", 1)[-1] if inter.path else None
        if resp.transport_failure is not None:
            timeout = resp.transport_failure == "timeout"
            await self._error(
                send,
                ex,
                504 if timeout else 502,
                f"llmreel replays a recorded upstream failure: {resp.error}",
                "llmreel_recorded_upstream_failure",
                outcome="hit",
            )
            return
        if resp.stream is None:
            await self._send_whole(send, ex, resp.status, resp.replay_headers(), resp.body_bytes())
            return
        ex.status = resp.status
        out = [*resp.replay_headers(), (OUTCOME_HEADER, ex.outcome)]
        await send({"type": "http.response.start", "status": resp.status, "headers": _encode(out)})
        kind = resp.stream
        pace = decision.pace
        sent = 0

        async def emit() -> None:
            nonlocal sent
            start = time.perf_counter()
            for event in resp.events:
                if pace:
                    delay = start + event.t * pace - time.perf_counter()
                    if delay > 0:
                        await anyio.sleep(delay)
                await send(
                    {"type": "http.response.body", "body": event.wire(kind), "more_body": True}
                )
                sent += 1
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        if pace:
            # A paced stream can take a while: stop as soon as the client leaves.
            reason = await self._guarded(receive, emit)
            if reason is not None:
                ex.note = reason
        else:
            await emit()
        ex.events = sent

    # ------------------------------------------------------------------ forwarding

    async def _guarded(self, receive: Receive, body: Callable[[], Awaitable[None]]) -> str | None:
        """Run ``body`` until it ends, the client leaves, or a shutdown's grace runs out.

        Returns why it was cut short, or None if it ran to its end.
        """
        reasons: list[str] = []
        finished = False
        grace = self.config.shutdown_grace

        async with anyio.create_task_group() as tg:

            async def client_gone() -> None:
                while True:
                    message: Message = await receive()
                    if message["type"] == "http.disconnect":
                        if not finished:
                            reasons.append("the client disconnected before the response ended")
                        tg.cancel_scope.cancel()
                        return

            async def stopping() -> None:
                await self.lifecycle.wait()
                await anyio.sleep(grace)
                reasons.append(f"the server shut down ({grace:g}s after the stop was asked)")
                tg.cancel_scope.cancel()

            tg.start_soon(client_gone)
            tg.start_soon(stopping)
            try:
                await body()
                finished = True
            finally:
                tg.cancel_scope.cancel()
        if finished:
            return None
        return reasons[0] if reasons else "cancelled"

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        ex: _Exchange,
        headers: list[tuple[str, str]],
        content: bytes,
        state: CassetteState,
        recorder: Recorder | None,
    ) -> None:
        ex.outcome = "recorded" if recorder is not None else "live"
        upstream = self.upstream
        if upstream is None:  # ServerConfig refuses this; kept for apps built by hand
            state.bump("server_errors")
            await self._error(
                send,
                ex,
                502,
                f"llmreel: {ex.method} {ex.path} must be forwarded, but the server has no "
                f"--upstream. Restart it with --upstream URL.",
                "llmreel_no_upstream",
            )
            return
        raw_path = scope.get("raw_path") or ex.path.encode()
        url = upstream.url(raw_path, scope.get("query_string", b""))
        try:
            response = await upstream.open(ex.method, url, headers, content)
        except httpx.HTTPError as exc:
            if recorder is not None:
                recorder.abandon(f"upstream {upstream.base} failed")
            state.bump("server_errors")
            timeout = isinstance(exc, httpx.TimeoutException)
            detail = str(exc) or "no details"
            await self._error(
                send,
                ex,
                504 if timeout else 502,
                f"llmreel: the upstream {upstream.base} "
                f"{'timed out' if timeout else 'failed'} on {ex.method} {ex.path} "
                f"({type(exc).__name__}: {detail}). Nothing was recorded. Is the model server "
                f"running and reachable there? Check --upstream.",
                "llmreel_upstream_timeout" if timeout else "llmreel_upstream_error",
            )
            return
        complete = False
        # Kept if we are cancelled from outside (uvicorn's last-resort shutdown).
        error: str | None = "the server stopped before the response ended"
        if recorder is not None:
            self.registry.active.add(recorder)
        try:
            if recorder is not None:
                recorder.start(response.status_code, response.headers.multi_items())
            chunks, decoded = upstream.chunks(response)
            ex.status = response.status_code
            out = [
                *client_headers(response.headers.multi_items(), decoded=decoded),
                (OUTCOME_HEADER, ex.outcome),
            ]
            await send(
                {"type": "http.response.start", "status": ex.status, "headers": _encode(out)}
            )
            complete, error = await self._pump(chunks, send, receive, recorder, upstream.base)
            if error is not None:
                state.bump("server_errors")
                ex.note = error
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()
                if recorder is not None:
                    await self._finish(recorder, complete, error, ex)

    async def _pump(
        self,
        chunks: AsyncIterator[bytes],
        send: Send,
        receive: Receive,
        recorder: Recorder | None,
        base: str,
    ) -> tuple[bool, str | None]:
        failure: list[str] = []

        async def copy() -> None:
            try:
                async for chunk in chunks:
                    if recorder is not None:
                        recorder.feed(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except httpx.HTTPError as exc:
                failure.append(
                    f"the upstream {base} failed mid-response ({type(exc).__name__}: "
                    f"{exc or 'connection closed'})"
                )
                return
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        cut = await self._guarded(receive, copy)
        if failure:
            # Returning without ending the response makes uvicorn drop the connection, so
            # the client sees the failure as a real proxy would show it.
            return False, failure[0]
        if cut is not None:
            return False, cut
        return True, None

    async def _finish(
        self, recorder: Recorder, complete: bool, error: str | None, ex: _Exchange
    ) -> None:
        try:
            entry = await anyio.to_thread.run_sync(
                functools.partial(recorder.finish, complete=complete, error=error)
            )
        except LlmreelError as exc:
            ex.outcome = "record-failed"
            ex.note = str(exc).splitlines()[0]
            log.error("llmreel: %s", exc)
        except Exception:
            ex.outcome = "record-failed"
            log.exception("llmreel: writing the recording of %s %s failed", ex.method, ex.path)
        else:
            if entry is not None:
                ex.file = entry.name
        finally:
            self.registry.active.discard(recorder)
