"""Stopping cleanly: streams still running get a grace period, then end (recorded as incomplete).

:func:`guarded` runs a response body until it ends, the client leaves, or a
shutdown's grace runs out, and says which.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
from starlette.types import Message, Receive

__all__ = ["Lifecycle", "guarded"]


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


async def guarded(
    receive: Receive, body: Callable[[], Awaitable[None]], lifecycle: Lifecycle, grace: float
) -> str | None:
    """Run ``body`` until it ends, the client leaves, or a shutdown's grace runs out.

    Returns why it was cut short, or None if it ran to its end.
    """
    reasons: list[str] = []
    finished = False

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
            await lifecycle.wait()
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
