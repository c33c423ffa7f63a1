"""A stream's text as its client reads it: each field joined across events.

A secret can be cut across events: ``sk-proj-SplitA`` in one chunk's
``delta.content`` and the rest in the next. No single event holds it, so the
scanner also reads, for every field, the text all events put together:

- a plain field (``data`` that is not JSON, ``comment``, ``id``, ``event``):
  its values across events, concatenated;
- a JSON ``data``: every string at the same JSON path (``.choices[0].delta.content``)
  across events, concatenated, as a client assembling the deltas would.

Each joined text keeps which event each piece came from, so a hit names the
events it spans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from llmreel.model.interaction import Event

__all__ = ["JoinedField", "joined_fields"]

_ATTRS = ("data", "comment", "id", "event")


@dataclass(slots=True)
class JoinedField:
    """One field's text across events: ``pieces[i]`` came from event ``events[i]``."""

    attr: str  # data | comment | id | event
    path: str  # the JSON path inside ``data`` ("" for the field itself)
    name: str | None  # the JSON key holding the strings, if any
    events: list[int] = field(default_factory=list)
    pieces: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The first and last event holding characters ``start:end`` of :attr:`text`."""
        first = last = self.events[0]
        pos = 0
        for ev, piece in zip(self.events, self.pieces, strict=True):
            nxt = pos + len(piece)
            if pos <= start < nxt:
                first = ev
            if pos < end <= nxt or pos < end - 1 < nxt:
                last = ev
            pos = nxt
        return first, last

    def where(self, start: int, end: int) -> str:
        first, last = self.span(start, end)
        events = f"{first}" if first == last else f"{first}-{last}"
        return f"response.events[{events}].{self.attr}{self.path}"


def _collect(
    value: Any, path: str, i: int, out: dict[tuple[str, str], JoinedField], name: str | None
) -> None:
    """Append every non-empty string in ``value`` to its path's :class:`JoinedField`.

    A plain recursive function (no generator, no per-string closure): this walk runs
    over every event of every stream written, so its cost per string matters.
    """
    if isinstance(value, str):
        if value:
            slot = out.get(("data", path))
            if slot is None:
                slot = out[("data", path)] = JoinedField("data", path, name)
            slot.events.append(i)
            slot.pieces.append(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict | list | str):
                _collect(v, f"{path}.{k}", i, out, k)
    elif isinstance(value, list):
        for n, v in enumerate(value):
            if isinstance(v, dict | list | str):
                _collect(v, f"{path}[{n}]", i, out, name)


def joined_fields(events: Sequence[Event]) -> list[JoinedField]:
    """Every field of ``events`` joined across them (only fields that occur in 2+ events)."""
    joined: dict[tuple[str, str], JoinedField] = {}
    for i, ev in enumerate(events):
        for attr in _ATTRS:
            text = getattr(ev, attr)
            if not text:
                continue
            if attr == "data" and text[0] in "{[":
                try:
                    doc = orjson.loads(text)
                except orjson.JSONDecodeError:
                    doc = None
                if isinstance(doc, dict | list):
                    _collect(doc, "", i, joined, None)
                    continue
            slot = joined.get((attr, ""))
            if slot is None:
                slot = joined[(attr, "")] = JoinedField(attr, "", None)
            slot.events.append(i)
            slot.pieces.append(text)
    return [j for j in joined.values() if len(j.pieces) > 1]
