"""A stream's timeline: each event's arrival time, the gaps between them, and the stalls.

The page draws this as an inline SVG chart. Numbers: time to first event, the
stream's duration, events per second after the first one, the median and the
longest gap, and every stall (a gap much longer than the stream's usual one).
The ``[DONE]`` sentinel of OpenAI-style streams is the end marker, not an event
of the answer, so it is counted apart.
"""

from __future__ import annotations

import contextlib
import itertools
import statistics
from typing import Any

import orjson

from llmreel.model.interaction import Event, Response
from llmreel.tools.answers import Answer

__all__ = ["STALL_FACTOR", "STALL_MIN_S", "timeline"]

# A gap is a stall when it is this many times the median gap, and at least this long.
STALL_FACTOR = 4.0
STALL_MIN_S = 0.05
_MAX_EVENTS = 5000
_LABEL = 80


def _piece(ev: Event) -> str:
    """What one event adds to the answer (its text delta), or its name / first characters."""
    data = ev.data or ""
    if data[:1] in ("{", "["):
        with contextlib.suppress(orjson.JSONDecodeError):
            acc = Answer()
            acc.feed(orjson.loads(data), ev.event)
            text = "".join(acc.text) or "".join(acc.reasoning)
            if not text and acc.calls:
                text = " ".join(c.name or c.arguments for c in acc.calls.values())
            if text:
                return text[:_LABEL]
            return f"({ev.event})" if ev.event else ""
    if ev.comment is not None and not data:
        return f": {ev.comment}"[:_LABEL]
    return data[:_LABEL]


def timeline(resp: Response) -> dict[str, Any] | None:
    """The timeline of a streamed response (None when it is not a stream)."""
    if resp.stream is None:
        return None
    events = resp.events
    done = [e for e in events if e.data == "[DONE]"]
    body = [e for e in events if e.data != "[DONE]"]
    times = [e.t for e in body]
    timed = any(t > 0 for t in times) or any(e.t > 0 for e in done)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    median = statistics.median(gaps) if gaps else 0.0
    threshold = max(median * STALL_FACTOR, STALL_MIN_S)
    stalls = (
        [{"after": i, "start": times[i], "gap": g} for i, g in enumerate(gaps) if g >= threshold]
        if timed
        else []
    )
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    shown = body[:_MAX_EVENTS]
    return {
        "kind": resp.stream,
        "events": len(body),
        "done": len(done) > 0,
        "done_t": done[-1].t if done else None,
        "timed": timed,
        "first_event_s": times[0] if times and timed else None,
        "duration_s": max([*times, *(e.t for e in done)], default=0.0) if timed else None,
        "events_per_s": (len(times) - 1) / span if timed and span > 0 else None,
        "median_gap_s": median if timed else None,
        "max_gap_s": max(gaps) if timed and gaps else None,
        "stall_threshold_s": threshold if timed else None,
        "stalls": stalls,
        "complete": resp.complete,
        "error": resp.error or "",
        "truncated": len(body) > len(shown),
        "points": [
            {
                "t": e.t,
                "bytes": len(e.wire(resp.stream)),
                "event": e.event or "",
                "text": _piece(e),
            }
            for e in shown
        ],
    }
