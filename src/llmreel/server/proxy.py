"""The proxy: every request outside ``/_llmreel/`` goes through the engine of its cassette.

- hit: the recorded response is re-emitted, a stream event by event (fast, or
  paced at the recorded timing);
- miss in replay: an error in the API's own shape that explains the miss (a
  made-up model list for ``GET /v1/models`` and ``GET /api/tags``);
- record / record-if-missing / live: forwarded upstream and teed to the
  recorder (:mod:`.forward`).

This module reads the request and decides; :mod:`.replay` and :mod:`.forward`
answer, with the raw-ASGI plumbing of :mod:`.exchange`.
"""

from __future__ import annotations

import functools
import time
from urllib.parse import parse_qsl

import anyio
import anyio.to_thread
import orjson
from starlette.types import Receive, Scope, Send

from llmreel.engine import Decision, Mode
from llmreel.engine.faults import FAULT_HEADER
from llmreel.engine.faults.buffered import wants_whole
from llmreel.exceptions import (
    InvalidCassetteNameError,
    LlmreelError,
    ReplayMissError,
    SecretLeakError,
)
from llmreel.model.interaction import Request
from llmreel.model.wire import request_from_parts
from llmreel.server.config import CASSETTE_HEADER, ServerConfig
from llmreel.server.exchange import (
    ClientLeft,
    Exchange,
    TooLarge,
    read_body,
    send_error,
    send_whole,
)
from llmreel.server.faults import answer_fault, forward_whole
from llmreel.server.forward import Forwarder
from llmreel.server.lifecycle import Lifecycle
from llmreel.server.lists import LIST_PATHS, synthesized_list
from llmreel.server.logs import log_request
from llmreel.server.replay import replay
from llmreel.server.state import CassetteState, Registry
from llmreel.server.upstream import Upstream

__all__ = ["Proxy", "build_request"]


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
        self.forwarder = Forwarder(config, registry, lifecycle, self.upstream)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ex = Exchange(str(scope["method"]), str(scope.get("path", "/")), time.perf_counter())
        try:
            await self._handle(scope, receive, send, ex)
        except ClientLeft:
            ex.outcome, ex.status, ex.note = "client-left", 499, "left before the request ended"
        finally:
            fields = ex.fields()
            log_request(fields, self.config.log_format)
            ex.finish_entry(self.registry.unrouted, fields["duration_ms"])

        # ------------------------------------------------------------------ dispatch

    async def _handle(self, scope: Scope, receive: Receive, send: Send, ex: Exchange) -> None:
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]
        wanted = next((v for k, v in headers if k == CASSETTE_HEADER), None)
        try:
            name = self.registry.resolve_name(wanted)
            # Resolving the directory also catches names that escape through a symlink.
            state = await self.registry.get(name)
        except InvalidCassetteNameError as exc:
            await send_error(send, ex, 400, f"llmreel: {exc}", "llmreel_invalid_cassette")
            return
        ex.cassette = name
        ex.journal = state.engine.journal
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
        ex: Exchange,
        headers: list[tuple[str, str]],
        state: CassetteState,
    ) -> None:
        limit = self.config.max_body
        length = next((v for k, v in headers if k == "content-length"), None)
        try:
            if length is not None and length.isdigit() and int(length) > limit:
                raise TooLarge
            content = await read_body(receive, limit)
        except TooLarge:
            state.bump("server_errors")
            await send_error(
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
                await send_whole(
                    send,
                    ex,
                    200,
                    [("content-type", "application/json"), ("content-length", str(len(listing)))],
                    listing,
                )
                return
        engine = state.engine
        ex.entry = engine.journal.begin(request)
        # The fault header is llmreel's own: build_request left it out of the request.
        decide = functools.partial(
            engine.decide,
            request,
            ex.entry,
            fault=next((v for k, v in headers if k == FAULT_HEADER), None),
        )
        try:
            if engine.mode in (Mode.RECORD, Mode.LIVE):
                # No file is read in these modes: deciding inline saves a thread hop on the
                # path to the first byte.
                decision: Decision = decide()
            else:
                # A hit may parse a file and a miss re-lists the directory: off the loop.
                decision = await anyio.to_thread.run_sync(decide)
        except ReplayMissError as miss:
            await send_error(
                send, ex, 404, f"llmreel {miss}", "llmreel_replay_miss", outcome="miss"
            )
            return
        except SecretLeakError as exc:
            # The request itself carries a credential: the client must change it, so 4xx.
            state.bump("server_errors")
            await send_error(send, ex, 400, f"llmreel: {exc}", "llmreel_secret_refused")
            return
        except LlmreelError as exc:
            state.bump("server_errors")
            await send_error(send, ex, 500, f"llmreel: {exc}", "llmreel_error")
            return
        if decision.action == "replay":
            await replay(send, receive, ex, decision, self.lifecycle, self.config.shutdown_grace)
            return
        if decision.action == "fault":
            await answer_fault(send, receive, ex, decision, self.lifecycle)
            return
        if wants_whole(decision):
            await forward_whole(
                self.forwarder, scope, receive, send, ex, headers, content, state, decision, request
            )
            return
        await self.forwarder.forward(
            scope, receive, send, ex, headers, content, state, decision.recorder
        )
