"""Faults on the server: answering instead of the cassette, and shaping forwarded answers.

- ``http=STATUS``: the provider's own error answer (after ``ttft`` if given);
- ``reset``: the connection is closed with a TCP reset before any response. ASGI
  has no message for that, so the socket is reached through uvicorn's
  request-response cycle (the ``send`` callable's owner); on another ASGI server
  the client gets a 502 saying so;
- ``timeout``: nothing is sent until the client gives up (disconnects), the
  server stops, or the spec's bound passes; then the connection is closed
  without a response;
- a shaping fault on a forwarded request: the upstream's answer is read whole
  (and recorded as it came), then played shaped like a replay
  (:mod:`llmreel.engine.faults.buffered`).
"""

from __future__ import annotations

import socket
import struct
from typing import Any

import anyio
import httpx
from starlette.types import Message, Receive, Scope, Send

from llmreel.engine import Decision
from llmreel.engine.faults import answer_for
from llmreel.engine.faults.buffered import aread_whole
from llmreel.exceptions import LlmreelError
from llmreel.model.interaction import Request
from llmreel.server.exchange import Exchange, send_error, send_whole
from llmreel.server.forward import Forwarder
from llmreel.server.lifecycle import Lifecycle
from llmreel.server.replay import replay
from llmreel.server.state import CassetteState

__all__ = ["abort_connection", "answer_fault", "forward_whole"]


async def _until_disconnect(receive: Receive) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return


async def abort_connection(send: Send, receive: Receive) -> bool:
    """Close the client's connection with a TCP reset, sending nothing; False if impossible."""
    transport: Any = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Linger 0: close() sends RST rather than FIN, as a peer that crashed or reset would.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # Wait until uvicorn has seen the connection go, so it does not answer 500 for us.
    with anyio.move_on_after(2):
        await _until_disconnect(receive)
    return True


async def _hold(receive: Receive, seconds: float, lifecycle: Lifecycle) -> bool:
    """Wait until the client leaves (True), or the bound passes or the server stops."""
    left = False
    with anyio.move_on_after(seconds):
        async with anyio.create_task_group() as tg:

            async def gone() -> None:
                nonlocal left
                await _until_disconnect(receive)
                left = True
                tg.cancel_scope.cancel()

            async def stopping() -> None:
                await lifecycle.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(gone)
            tg.start_soon(stopping)
    return left


async def answer_fault(
    send: Send, receive: Receive, ex: Exchange, decision: Decision, lifecycle: Lifecycle
) -> None:
    """Answer with the fault instead of the cassette or the upstream."""
    assert decision.fault is not None
    ans = answer_for(decision.fault, ex.path)
    if ans.delay > 0:
        await anyio.sleep(ans.delay)
    if ans.kind == "respond":
        ex.outcome = "error" if decision.fault.kind == "invalid" else "fault"
        message = decision.fault.message
        ex.note = message.splitlines()[0] if message else f"injected HTTP {ans.status}"
        await send_whole(send, ex, ans.status, list(ans.headers), ans.body)
        return
    ex.outcome, ex.status = "fault", 0
    if ans.kind == "timeout":
        left = await _hold(receive, ans.hold, lifecycle)
        ex.note = (
            "injected: no response; the client gave up"
            if left
            else f"injected: no response; closed after {ans.hold:g}s"
        )
        if left:
            return
    else:
        ex.note = "injected connection reset before any response"
    if not await abort_connection(send, receive):
        await send_error(
            send,
            ex,
            502,
            f"llmreel: fault {decision.fault.text} needs to close the connection, which this "
            f"ASGI server does not allow; run it with `llmreel serve` (uvicorn).",
            "llmreel_fault_unsupported",
            outcome="fault",
        )


async def forward_whole(
    forwarder: Forwarder,
    scope: Scope,
    receive: Receive,
    send: Send,
    ex: Exchange,
    headers: list[tuple[str, str]],
    content: bytes,
    state: CassetteState,
    decision: Decision,
    request: Request,
) -> None:
    """Forward, read the answer whole (recording it as it came), then play it shaped."""
    outcome = "recorded" if decision.recorder is not None else "live"
    upstream = forwarder.upstream
    assert upstream is not None  # ServerConfig refuses forwarding modes without one
    raw_path = scope.get("raw_path") or ex.path.encode()
    url = upstream.url(raw_path, scope.get("query_string", b""))
    try:
        response = await upstream.open(ex.method, url, headers, content)
        try:
            played = await aread_whole(
                decision,
                request,
                response.status_code,
                response.headers.multi_items(),
                response.aiter_bytes(),
            )
        finally:
            await response.aclose()
    except LlmreelError as exc:  # the answer could not be recorded (a secret in it, ...)
        ex.outcome = "record-failed"
        await send_error(send, ex, 500, f"llmreel: {exc}", "llmreel_error", outcome=ex.outcome)
        return
    except httpx.HTTPError as exc:
        if decision.recorder is not None and decision.recorder.status == 0:
            decision.recorder.abandon(f"upstream {upstream.base} failed")
        state.bump("server_errors")
        await send_error(
            send,
            ex,
            502,
            f"llmreel: the upstream {upstream.base} failed on {ex.method} {ex.path} "
            f"({type(exc).__name__}: {exc or 'no details'}). Check --upstream.",
            "llmreel_upstream_error",
        )
        return
    await replay(send, receive, ex, played, forwarder.lifecycle, forwarder.config.shutdown_grace)
    ex.outcome = outcome
    recorder = decision.recorder
    ex.file = recorder.entry.name if recorder is not None and recorder.entry else None
