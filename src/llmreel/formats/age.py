"""When a recording was made, for every format llmreel reads.

- llmreel files carry ``recorded_at`` (UTC, ISO 8601): that is their time.
- llama-stack recordings carry no time of their own; the answer usually does:
  an OpenAI-style ``created`` (Unix seconds) or Ollama's ``created_at`` at the top
  of the body or of the first stream event is when the provider produced it.
  The 2026 generation rewrites ``created`` to 0, which says nothing, and model
  lists carry each model's creation date, not the call's: those, vcrpy
  cassettes (no timestamps at all) and anything else fall back to the file's
  modification time, which a fresh ``git clone`` resets to the checkout time.
  ``source`` says which one was used so a tool can show it.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from llmreel.model.interaction import Interaction

__all__ = ["RecordedTime", "parse_time", "recorded_time"]

TimeSource = Literal["recorded_at", "created", "mtime"]

# Before this, a "created" number is not a real call time (llama-stack writes 0).
_EARLIEST = _dt.datetime(2015, 1, 1, tzinfo=_dt.UTC)


@dataclass(frozen=True, slots=True)
class RecordedTime:
    """When a recording was made (UTC) and where that was read from."""

    when: _dt.datetime
    source: TimeSource

    def age(self, now: _dt.datetime | None = None) -> _dt.timedelta:
        return (now or _dt.datetime.now(_dt.UTC)) - self.when


def parse_time(value: Any) -> _dt.datetime | None:
    """An ISO 8601 string or Unix seconds as an aware UTC datetime; None if it is neither."""
    when: _dt.datetime | None = None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            when = _dt.datetime.fromtimestamp(float(value), _dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            when = _dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=_dt.UTC)
    if when is None or when < _EARLIEST:
        return None
    return when.astimezone(_dt.UTC)


def _answer_time(inter: Interaction) -> _dt.datetime | None:
    resp = inter.response
    doc: Any = resp.body
    if resp.stream is not None:
        doc = None
        for ev in resp.events:
            if ev.data and ev.data[:1] == "{":
                try:
                    doc = orjson.loads(ev.data)
                except orjson.JSONDecodeError:
                    continue
                break
    if not isinstance(doc, dict) or doc.get("object") == "list":
        return None
    for name in ("created", "created_at"):
        when = parse_time(doc.get(name))
        if when is not None:
            return when
    return None


def recorded_time(inter: Interaction) -> RecordedTime | None:
    """When ``inter`` was recorded, or None when nothing says (and it has no file)."""
    if inter.source == "llmreel":
        when = parse_time(inter.recorded_at)
        if when is not None:
            return RecordedTime(when, "recorded_at")
    elif inter.source == "llama-stack":
        when = _answer_time(inter)
        if when is not None:
            return RecordedTime(when, "created")
    if inter.path:
        try:
            mtime = os.stat(inter.path).st_mtime
        except OSError:
            return None
        return RecordedTime(_dt.datetime.fromtimestamp(mtime, _dt.UTC), "mtime")
    return None
