"""Replaying a hit: the recorded response, a stream re-emitted event by event.

As fast as possible, or paced at the recorded timing (a paced stream stops as
soon as the client leaves); a recorded transport failure answers 502/504. A
shaping fault (cut, malformed, stall, ttft, tps, jitter) plays through the same
:class:`~llmreel.engine.Playback`; a cut ends the response unfinished, so the
client sees the connection drop.
"""

from __future__ import annotations

import anyio
from starlette.types import Receive, Send

from llmreel.engine import Decision, Playback
from llmreel.model.interaction import Response
from llmreel.server.exchange import (
    OUTCOME_HEADER,
    Exchange,
    encode_headers,
    send_error,
    send_whole,
)
from llmreel.server.lifecycle import Lifecycle, guarded

__all__ = ["replay"]


async def replay(
    send: Send,
    receive: Receive,
    ex: Exchange,
    decision: Decision,
    lifecycle: Lifecycle,
    grace: float,
) -> None:
    """Re-emit a recorded response; a stream event by event, fast or paced."""
    inter = decision.interaction
    assert inter is not None
    play = Playback(decision)
    resp: Response = play.response
    ex.outcome = "hit"
    ex.file = inter.path.rsplit("/", 1)[-1] if inter.path else None
    if resp.transport_failure is not None:
        timeout = resp.transport_failure == "timeout"
        await send_error(
            send,
            ex,
            504 if timeout else 502,
            f"llmreel replays a recorded upstream failure: {resp.error}",
            "llmreel_recorded_upstream_failure",
            outcome="hit",
        )
        return
    if resp.stream is None and play.shaper is None:
        await send_whole(send, ex, resp.status, resp.replay_headers(), resp.body_bytes())
        return
    ex.status = resp.status
    out = [*resp.replay_headers(), (OUTCOME_HEADER, ex.outcome)]
    await send(
        {"type": "http.response.start", "status": resp.status, "headers": encode_headers(out)}
    )

    async def emit() -> None:
        for at, data in play.steps():
            delay = play.wait(at)
            if delay > 0:
                await anyio.sleep(delay)
            await send({"type": "http.response.body", "body": data, "more_body": True})
            play.sent()
        if play.broken:
            return  # a cut fault: returning unfinished makes uvicorn drop the connection
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    if play.fast:
        await emit()
    else:
        # A paced stream can take a while: stop as soon as the client leaves.
        reason = await guarded(receive, emit, lifecycle, grace)
        if reason is not None:
            ex.note = reason
    if play.shaper is not None and play.shaper.note:
        ex.note = f"{ex.note}; {play.shaper.note}" if ex.note else play.shaper.note
    ex.events = play.events if resp.stream is not None else None
