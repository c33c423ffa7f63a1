"""Keeping file I/O off the event loop in the async adapters.

An async client's event loop must never wait on a disk: a cassette that
re-reads its directory on a miss (``os.stat``, ``os.scandir``), loads a
recording, explains a miss or writes a new recording does it in a worker
thread. A hit on a recording already in memory is decided on the loop (no
thread hop), see :meth:`~llmreel.engine.Engine.decide_nowait`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread

from llmreel.engine import Decider, Decision
from llmreel.engine.engine import Deferred
from llmreel.model.interaction import Request

__all__ = ["decide_off_loop", "off_loop"]

T = TypeVar("T")


async def off_loop(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a worker thread; the event loop keeps running meanwhile."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


async def decide_off_loop(engine: Decider, request: Request) -> Decision:
    """:meth:`Engine.decide` for async adapters: in memory when it can, else in a thread."""
    entry = engine.journal.begin(request)
    decision = engine.decide_nowait(request, entry)
    if isinstance(decision, Deferred):
        return await off_loop(engine.decide_deferred, decision)
    return decision
