"""Shaping a real answer on its way to the client: when each event goes, broken data, the cut.

A :class:`Shaper` turns a response (replayed, or read whole from the upstream)
into timed chunks, one per stream event (a whole body is one chunk):

- timing: the recorded arrival times (times the pace; all zero when replaying
  fast), then ``ttft`` moves the first event to that many seconds, ``tps``
  spaces the following ones 1/RATE apart, ``stall=N:S`` pushes event N and all
  after it S seconds later, ``jitter`` adds a drawn delay before every event
  (cumulative, from a generator seeded per call);
- ``malformed=N``: event N keeps its framing but its data is cut in half (a
  whole body keeps its length: its second half becomes spaces), so the client's
  parser fails on it;
- ``cut=N``: nothing after event N is sent and the connection breaks (a whole
  body: its first half is sent, then the connection breaks). The adapter asks
  :attr:`Shaper.broken` at the end and raises its HTTP library's own error for
  a body that ended early, so the client sees a broken stream, not a clean end.

Events are counted from 1 and include terminators (``data: [DONE]``); a cut or a
malformed event beyond the end of the stream changes nothing, and the journal
note says so.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

from llmreel.engine.faults.schedule import AppliedFault
from llmreel.engine.faults.spec import Jitter
from llmreel.model.interaction import Event, Response, StreamKind

__all__ = ["Shaper"]


def _draw(rng: random.Random, jitter: Jitter) -> float:
    if jitter.kind == "uniform":
        return rng.uniform(jitter.a, jitter.b)
    # Log-normal with the given median: exp(mu) is the median.
    return rng.lognormvariate(math.log(jitter.a), jitter.b) if jitter.a > 0 else 0.0


def _broken_event(ev: Event, kind: StreamKind) -> bytes:
    data = ev.data or "{"
    half = data[: max(1, len(data) // 2)]
    return Event(t=ev.t, data=half, event=ev.event, id=ev.id).wire(kind)


def _broken_body(body: bytes) -> bytes:
    half = len(body) // 2
    return body[:half] + b" " * (len(body) - half)


class Shaper:
    """One response's chunks as a fault shapes them; ``broken`` says if and where it broke."""

    def __init__(self, fault: AppliedFault, pace: float | None) -> None:
        self.fault = fault
        self.pace = pace or 0.0
        self.broken: str | None = None  # set when the stream was cut: the error to raise
        self.notes: list[str] = []

    @property
    def note(self) -> str | None:
        return "; ".join(self.notes) if self.notes else None

    def times(self, recorded: list[float]) -> list[float]:
        """When each chunk is due, in seconds after the response started."""
        f = self.fault
        times = [t * self.pace for t in recorded]
        if not times:
            return times
        if f.ttft is not None:
            shift = f.ttft - times[0]
            times = [t + shift for t in times]
        if f.tps is not None:
            times = [times[0] + i / f.tps for i in range(len(times))]
        if f.stall is not None:
            n, seconds = f.stall
            times = [t + seconds if i + 1 >= n else t for i, t in enumerate(times)]
        if f.jitter is not None:
            rng = f.rng()
            extra = 0.0
            for i in range(len(times)):
                extra += _draw(rng, f.jitter)
                times[i] += extra
        return [max(0.0, t) for t in times]

    def steps(self, response: Response) -> Iterator[tuple[float, bytes]]:
        """(due time, bytes) for each chunk, shaped; stops early at a cut."""
        f = self.fault
        if response.stream is None:
            yield from self._whole(response.body_bytes())
            return
        kind = response.stream
        events = response.events
        total = len(events)
        times = self.times([ev.t for ev in events])
        for n, (at, ev) in enumerate(zip(times, events, strict=True), 1):
            data = _broken_event(ev, kind) if f.malformed == n else ev.wire(kind)
            yield at, data
            if f.cut == n:
                self.broken = (
                    f"llmreel fault {f.text}: the stream was broken after event {n} of {total}"
                )
                self.notes.append(f"stream broken after event {n} of {total}")
                return
        for name, beyond in (("cut", f.cut), ("malformed", f.malformed)):
            if beyond is not None and beyond > total:
                self.notes.append(f"{name}={beyond} not applied: the stream has {total} events")

    def _whole(self, body: bytes) -> Iterator[tuple[float, bytes]]:
        f = self.fault
        (at,) = self.times([0.0])
        if f.cut is not None:
            yield at, body[: len(body) // 2]
            self.broken = f"llmreel fault {f.text}: the body was broken half way"
            self.notes.append(f"body broken after {len(body) // 2} of {len(body)} bytes")
            return
        yield at, _broken_body(body) if f.malformed is not None else body
        if f.malformed is not None:
            self.notes.append("body made malformed (its second half blanked)")
