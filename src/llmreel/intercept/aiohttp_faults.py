"""Faults in the aiohttp adapter: answers as aiohttp itself reports them, shaped forwards.

An answered fault becomes a real ``ClientResponse`` in the provider's error
shape, a ``ClientOSError`` (connection reset by peer), or, once the session's
``sock_read`` timeout (at most the spec's bound) has passed, a
``SocketTimeoutError``; the session's ``total`` timeout, if shorter, fires on its
own as it would against a real server. A cut stream ends with a
``ClientPayloadError``, as a body that stops short of its framing does.
Imported only by :mod:`llmreel.intercept.aiohttp_adapter` (aiohttp is optional).
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import aiohttp

from llmreel.engine import Decision, Playback
from llmreel.engine.faults import FAULT_HEADER, answer_for
from llmreel.engine.faults.buffered import aread_whole
from llmreel.model.interaction import Request

__all__ = [
    "answer",
    "cut_error",
    "drained",
    "read_forwarded",
    "sock_read",
    "strip_fault_header",
    "timeout_error",
]

ResponseMaker = Callable[
    [Any, int, Iterable[tuple[str, str]], Sequence[bytes], Playback | None], Any
]
_SocketTimeout: type[Exception] = getattr(aiohttp, "SocketTimeoutError", aiohttp.ServerTimeoutError)


def strip_fault_header(req: Any) -> None:
    """Never forward the fault header upstream."""
    req.headers.popall(FAULT_HEADER, None)


def sock_read(req: Any) -> float | None:
    """The session's ``sock_read`` timeout (the gap allowed between reads), if set."""
    session = getattr(req, "_session", None)
    timeout = getattr(session, "timeout", None)
    value = getattr(timeout, "sock_read", None)
    return float(value) if isinstance(value, int | float) else None


async def answer(req: Any, decision: Decision, path: str, make: ResponseMaker) -> Any:
    """Carry out an answered fault; ``make`` builds the adapter's ClientResponse."""
    assert decision.fault is not None
    ans = answer_for(decision.fault, path)
    wait = ans.hold_for(sock_read(req)) if ans.kind == "timeout" else ans.delay
    if wait > 0:
        await asyncio.sleep(wait)
    ans.finish(decision.entry)
    if ans.kind == "respond":
        return make(req, ans.status, list(ans.headers), [ans.body], None)
    if ans.kind == "reset":
        raise aiohttp.ClientOSError(errno.ECONNRESET, ans.error)
    raise _SocketTimeout(ans.error)


async def drained(reader: Any, limit: float = 5.0) -> None:
    """Wait (a while at most) until the client has read what was fed: an aiohttp reader
    raises its exception before handing over buffered data, while a real connection's
    data arrived, and was read, before the break did."""
    deadline = asyncio.get_running_loop().time() + limit
    while getattr(reader, "_size", 0) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.002)


def timeout_error(message: str) -> Exception:
    """What a reader raises when a shaped wait outlasts the session's ``sock_read``."""
    return _SocketTimeout(f"Timeout on reading data from socket ({message})")


def cut_error(message: str) -> Exception:
    """What a reader raises when a cut fault broke the body."""
    return aiohttp.ClientPayloadError(f"Response payload is not completed: {message}")


async def read_forwarded(decision: Decision, request: Request, resp: Any) -> Decision:
    """A forwarded response a fault shapes: read whole (and recorded), to be played shaped."""
    try:
        return await aread_whole(
            decision, request, resp.status, resp.headers.items(), resp.content.iter_any()
        )
    finally:
        resp.release()
