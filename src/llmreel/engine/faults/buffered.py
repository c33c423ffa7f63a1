"""A forwarded answer that a fault shapes: read whole from the upstream, then played shaped.

In record and live modes a shaping fault (cut, malformed, stall, ttft, tps,
jitter) must not change what is recorded: the upstream's answer is read to its
end first, teed to the recorder at its true arrival times and written (record
mode), and only then played to the client through the same
:class:`~llmreel.engine.playback.Playback` a replay uses, with the fault
applied. The client therefore gets no byte before the upstream has finished;
``ttft`` and the other delays count from the request as usual. Adapters call
:func:`read_whole` (sync) or :func:`aread_whole` (async) with the upstream's
status, headers and body chunks, and render the decision it returns as a replay.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, Iterable
from typing import NoReturn

import anyio.to_thread

from llmreel.engine.engine import Decision
from llmreel.engine.recorder import Recorder
from llmreel.model.interaction import Interaction, Request, Response
from llmreel.store import Entry

__all__ = ["aread_whole", "read_whole", "wants_whole"]


class _NoSink:
    """Live mode collects the answer with a recorder that must never write."""

    def build_interaction(self, request: Request, key: str, response: Response) -> NoReturn:
        raise AssertionError("live mode never writes a recording")

    def commit(self, inter: Interaction, position: int, *, overwrite: bool) -> Entry:
        raise AssertionError("live mode never writes a recording")

    def count_error(self) -> None:
        return None


def wants_whole(decision: Decision) -> bool:
    """A forwarded request whose answer a fault shapes: read it whole first."""
    fault = decision.fault
    return fault is not None and fault.shapes and decision.action in ("record", "live")


def _start(
    decision: Decision, request: Request, status: int, headers: Iterable[tuple[str, str]]
) -> Recorder:
    recorder = decision.recorder or Recorder(_NoSink(), request, "", 0, overwrite=False)
    if recorder.status == 0:
        recorder.start(status, headers)
    return recorder


def _played(decision: Decision, request: Request, recorder: Recorder) -> Decision:
    if decision.recorder is not None:
        decision.recorder.finish(complete=True)
    response = recorder.response(complete=True, error=None)
    return Decision(
        decision.action,
        interaction=Interaction(request=request, response=response),
        pace=None,
        entry=decision.entry,
        fault=decision.fault,
    )


def _failed(decision: Decision, exc: BaseException) -> None:
    if decision.recorder is not None:
        decision.recorder.finish(
            complete=False, error=f"upstream failed mid-response: {type(exc).__name__}: {exc}"
        )
    elif decision.entry is not None:
        decision.entry.finish("error", 0, note=f"upstream failed mid-response: {exc}")


def read_whole(
    decision: Decision,
    request: Request,
    status: int,
    headers: Iterable[tuple[str, str]],
    chunks: Iterable[bytes],
) -> Decision:
    """Read the upstream's answer to its end (teeing it), then a decision to play it shaped."""
    recorder = _start(decision, request, status, headers)
    try:
        for chunk in chunks:
            recorder.feed(chunk)
    except Exception as exc:
        _failed(decision, exc)
        raise
    return _played(decision, request, recorder)


async def aread_whole(
    decision: Decision,
    request: Request,
    status: int,
    headers: Iterable[tuple[str, str]],
    chunks: AsyncIterable[bytes],
) -> Decision:
    """:func:`read_whole` for an async body (the recording is written off the event loop)."""
    recorder = _start(decision, request, status, headers)
    try:
        async for chunk in chunks:
            recorder.feed(chunk)
    except Exception as exc:
        await anyio.to_thread.run_sync(_failed, decision, exc)
        raise
    return await anyio.to_thread.run_sync(functools.partial(_played, decision, request, recorder))
