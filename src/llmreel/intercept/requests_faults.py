"""Faults in the requests adapter: answers as requests itself reports them, shaped forwards.

An answered fault becomes a ``requests.Response`` in the provider's error shape,
a ``requests.ConnectionError`` around urllib3's ``ProtocolError("Connection
aborted.", ConnectionResetError(...))`` (what a reset before any response
gives), or, once the call's read timeout (at most the spec's bound) has
passed, a ``requests.ReadTimeout``. A cut stream ends with urllib3's
``ProtocolError("Response ended prematurely")``, which requests turns into
``ChunkedEncodingError`` while iterating. Imported only by
:mod:`llmreel.intercept.requests_adapter` (requests is optional).
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable
from typing import Any

import requests
import urllib3

from llmreel.engine import Decision
from llmreel.engine.faults import FAULT_HEADER, answer_for
from llmreel.engine.faults.answers import RESET_MESSAGE
from llmreel.engine.faults.buffered import read_whole
from llmreel.model.interaction import Request

__all__ = [
    "answer",
    "cut_error",
    "read_forwarded",
    "read_timeout",
    "strip_fault_header",
    "timeout_error",
]


def strip_fault_header(request: Any) -> None:
    """Never forward the fault header upstream."""
    request.headers.pop(FAULT_HEADER, None)


def read_timeout(timeout: Any) -> float | None:
    """The read part of a requests ``timeout=`` (a number, a (connect, read) pair, ...)."""
    if isinstance(timeout, tuple):
        timeout = timeout[1] if len(timeout) > 1 else None
    elif isinstance(timeout, urllib3.Timeout):
        timeout = timeout.read_timeout
    return float(timeout) if isinstance(timeout, int | float) else None


def answer(
    request: Any,
    decision: Decision,
    path: str,
    timeout: Any,
    respond: Callable[[int, list[tuple[str, str]], bytes], Any],
) -> Any:
    """Carry out an answered fault; ``respond`` builds the adapter's Response."""
    assert decision.fault is not None
    ans = answer_for(decision.fault, path)
    wait = ans.hold_for(read_timeout(timeout)) if ans.kind == "timeout" else ans.delay
    if wait > 0:
        time.sleep(wait)
    ans.finish(decision.entry)
    if ans.kind == "respond":
        return respond(ans.status, list(ans.headers), ans.body)
    if ans.kind == "reset":
        reset = ConnectionResetError(errno.ECONNRESET, RESET_MESSAGE.split("] ", 1)[1])
        raise requests.ConnectionError(
            urllib3.exceptions.ProtocolError(f"Connection aborted. ({ans.error})", reset),
            request=request,
        )
    raise requests.ReadTimeout(ans.error, request=request)


def timeout_error(message: str) -> Exception:
    """What the replayed body raises when a shaped wait outlasts the read timeout."""
    return urllib3.exceptions.ReadTimeoutError(None, "", f"Read timed out. ({message})")  # type: ignore[arg-type]


def cut_error(message: str) -> Exception:
    """What the replayed body raises when a cut fault broke it."""
    return urllib3.exceptions.ProtocolError(f"Response ended prematurely ({message})")


def read_forwarded(decision: Decision, req: Request, response: Any) -> Decision:
    """A forwarded response a fault shapes: read whole (and recorded), to be played shaped."""
    try:
        return read_whole(
            decision,
            req,
            response.status_code,
            response.headers.items(),
            response.raw.stream(2**16, decode_content=True),
        )
    finally:
        response.close()
