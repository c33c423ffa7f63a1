"""Faults in the httpx and httpx2 transports: answers, shaped forwards, the header kept local.

An answered fault (:mod:`llmreel.engine.faults.answers`) becomes what httpx itself
would produce: a :class:`Response` in the provider's error shape, a ``ReadError``
for a connection reset, a ``ReadTimeout`` once the request's own read timeout
(``request.extensions["timeout"]``, at most the spec's bound) has passed. The
``X-Llmreel-Fault`` header is taken off a request before it is forwarded
upstream. ``mod`` is the httpx-like package (``httpx`` or ``httpx2``).
"""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

import anyio

from llmreel.engine import Decision
from llmreel.engine.faults import FAULT_HEADER, FaultAnswer, answer_for
from llmreel.engine.faults.buffered import aread_whole, read_whole
from llmreel.model.interaction import Request

__all__ = [
    "aanswer",
    "answer",
    "aread_forwarded",
    "read_forwarded",
    "read_timeout",
    "strip_fault_header",
]

_EXT = {"http_version": b"HTTP/1.1", "llmreel": "fault"}


def strip_fault_header(request: Any) -> None:
    """Never forward the fault header upstream."""
    request.headers.pop(FAULT_HEADER, None)


def read_timeout(request: Any) -> float | None:
    """The request's own read timeout (httpx keeps it in its extensions), if it has one."""
    timeout = request.extensions.get("timeout") or {}
    read = timeout.get("read")
    return float(read) if isinstance(read, int | float) else None


def _plan(decision: Decision, path: str) -> FaultAnswer:
    assert decision.fault is not None
    return answer_for(decision.fault, path)


def _respond(mod: ModuleType, request: Any, ans: FaultAnswer, decision: Decision) -> Any:
    if ans.kind == "respond":
        ans.finish(decision.entry)
        return mod.Response(
            ans.status,
            headers=list(ans.headers),
            content=ans.body,
            request=request,
            extensions=_EXT,
        )
    ans.finish(decision.entry)
    if ans.kind == "reset":
        raise mod.ReadError(ans.error, request=request)
    raise mod.ReadTimeout(ans.error, request=request)


def answer(mod: ModuleType, request: Any, decision: Decision, path: str) -> Any:
    """Carry out an answered fault in a sync transport."""
    ans = _plan(decision, path)
    wait = ans.hold_for(read_timeout(request)) if ans.kind == "timeout" else ans.delay
    if wait > 0:
        time.sleep(wait)
    return _respond(mod, request, ans, decision)


async def aanswer(mod: ModuleType, request: Any, decision: Decision, path: str) -> Any:
    """Carry out an answered fault in an async transport."""
    ans = _plan(decision, path)
    wait = ans.hold_for(read_timeout(request)) if ans.kind == "timeout" else ans.delay
    if wait > 0:
        await anyio.sleep(wait)
    return _respond(mod, request, ans, decision)


def read_forwarded(decision: Decision, req: Request, response: Any) -> Decision:
    """A forwarded response a fault shapes: read whole (and recorded), to be played shaped."""
    try:
        return read_whole(
            decision,
            req,
            response.status_code,
            response.headers.multi_items(),
            response.iter_bytes(),
        )
    finally:
        response.close()


async def aread_forwarded(decision: Decision, req: Request, response: Any) -> Decision:
    try:
        return await aread_whole(
            decision,
            req,
            response.status_code,
            response.headers.multi_items(),
            response.aiter_bytes(),
        )
    finally:
        await response.aclose()
