"""Playing one replayed response to a client: which bytes, when, and its journal entry.

Every adapter (the httpx/httpx2 transports, aiohttp, requests, the server) renders a
replay through a :class:`Playback`, so pacing, fault shaping and the journal are
decided once; an adapter only sleeps its own way (``time.sleep``, ``anyio.sleep``)
and writes its own way. The loop is::

    play = Playback(decision)
    for at, data in play.steps():
        wait = play.wait(at)          # seconds until this chunk is due
        if wait > 0: sleep(wait)
        send(data); play.sent()
    if play.broken: raise <the library's error for a body that ended early>
    play.end()                        # finishes the journal entry

A shaping fault (:mod:`llmreel.engine.faults.shaping`) changes the steps: their
times, a malformed event, a cut after which :attr:`Playback.broken` is set.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from llmreel.engine.engine import Decision
from llmreel.engine.faults.shaping import Shaper
from llmreel.model.interaction import Response

__all__ = ["Playback"]


class Playback:
    """The body of one replayed response as timed chunks, and its journal entry."""

    def __init__(self, decision: Decision) -> None:
        inter = decision.interaction
        assert inter is not None
        self.response: Response = inter.response
        self.pace = decision.pace
        self.entry = decision.entry
        self.started = time.perf_counter()
        self.events = 0
        # A forwarded answer played shaped (live/record mode) is journaled as such.
        self.outcome = "hit" if decision.action == "replay" else decision.action
        fault = decision.fault
        self.shaper = Shaper(fault, self.pace) if fault is not None and fault.shapes else None
        # The client's read timeout, when the adapter knows it: a shaped gap longer than it
        # ends in the library's read-timeout error, as it would against a real server.
        self.read_timeout: float | None = None
        self.timed_out = False

    @property
    def fast(self) -> bool:
        """Nothing to wait for: the whole body may go at once."""
        return not self.pace and self.shaper is None

    @property
    def broken(self) -> str | None:
        """After the steps: why the body ended early (a cut), else None."""
        return self.shaper.broken if self.shaper is not None else None

    def steps(self) -> Iterator[tuple[float, bytes]]:
        """(due time in seconds after the start, bytes) for each chunk, in order."""
        if self.shaper is not None:
            yield from self.shaper.steps(self.response)
            return
        resp = self.response
        if resp.stream is None:
            body = resp.body_bytes()
            if body:
                yield 0.0, body
            return
        kind = resp.stream
        pace = self.pace or 0.0
        for ev in resp.events:
            yield ev.t * pace, ev.wire(kind)

    def wait(self, at: float) -> float:
        return self.started + at - time.perf_counter()

    def overdue(self, delay: float) -> float | None:
        """When a fault's shaped wait of ``delay`` outlasts the client's read timeout: that
        timeout (wait it, then raise the library's read-timeout error); else None."""
        limit = self.read_timeout
        if self.shaper is None or limit is None or limit <= 0 or delay <= limit:
            return None
        self.timed_out = True
        return limit

    @property
    def timeout_error(self) -> str:
        return f"timed out (llmreel fault {self.shaper.fault.text if self.shaper else ''})"

    def sent(self, events: int = 1) -> None:
        """``events`` stream events went to the client."""
        if self.entry is not None and self.response.stream is not None:
            self.entry.first_event()
        self.events += events

    def end(self, note: str | None = None) -> None:
        """The body has ended (or the client left, with ``note`` saying so)."""
        if self.entry is not None:
            resp = self.response
            if resp.stream is not None and self.events >= len(resp.events):
                note = None  # all was sent; the client closed once it had the last event
            if self.timed_out:
                note = f"the client's read timeout ({self.read_timeout:g}s) passed first"
            if self.shaper is not None and self.shaper.note:
                note = f"{note}; {self.shaper.note}" if note else self.shaper.note
            self.entry.finish(
                "recorded" if self.outcome == "record" else self.outcome,
                resp.status,
                note=note,
                events=self.events if resp.stream is not None else None,
            )
