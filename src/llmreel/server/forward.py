"""Forwarding a request upstream (record, record-if-missing on a miss, live) and teeing it.

Every chunk is written to the client the moment it arrives and fed to the
engine's recorder, which writes the recording (off the event loop) when the
response ends, or, if the client leaves, the upstream fails or the server
stops, writes what arrived marked incomplete.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator

import anyio
import anyio.to_thread
import httpx
from starlette.types import Receive, Scope, Send

from llmreel.engine import Recorder
from llmreel.exceptions import LlmreelError
from llmreel.server.config import ServerConfig
from llmreel.server.exchange import OUTCOME_HEADER, Exchange, encode_headers, send_error
from llmreel.server.lifecycle import Lifecycle, guarded
from llmreel.server.state import CassetteState, Registry
from llmreel.server.upstream import Upstream, client_headers

__all__ = ["Forwarder"]

log = logging.getLogger("llmreel.server")


class Forwarder:
    """Sends requests to ``--upstream`` and streams the answers back through a recorder."""

    def __init__(
        self,
        config: ServerConfig,
        registry: Registry,
        lifecycle: Lifecycle,
        upstream: Upstream | None,
    ) -> None:
        self.config = config
        self.registry = registry
        self.lifecycle = lifecycle
        self.upstream = upstream

    async def forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        ex: Exchange,
        headers: list[tuple[str, str]],
        content: bytes,
        state: CassetteState,
        recorder: Recorder | None,
    ) -> None:
        ex.outcome = "recorded" if recorder is not None else "live"
        upstream = self.upstream
        if upstream is None:  # ServerConfig refuses this; kept for apps built by hand
            state.bump("server_errors")
            await send_error(
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
            await send_error(
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
                {"type": "http.response.start", "status": ex.status, "headers": encode_headers(out)}
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

        cut = await guarded(receive, copy, self.lifecycle, self.config.shutdown_grace)
        if failure:
            # Returning without ending the response makes uvicorn drop the connection, so
            # the client sees the failure as a real proxy would show it.
            return False, failure[0]
        if cut is not None:
            return False, cut
        return True, None

    async def _finish(
        self, recorder: Recorder, complete: bool, error: str | None, ex: Exchange
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
