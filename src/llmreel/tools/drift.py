"""Comparing two answer structures and saying what drifted, in words a person acts on.

:func:`compare` takes the :class:`~llmreel.tools.shape.ResponseShape` of a
recording and of the live answer to the same request and lists each
difference as a :class:`Drift`, e.g. ``events: new field
`choices[].delta.reasoning_content` (string)``, ``event type
`response.output_text.annotation.added` never seen before``, ```usage`
missing``, ``status 200 -> 400, body shape changed``.

What is *not* drift, because it follows from the words of one answer:

- how many events of one type arrive (runs are collapsed in the shape);
- a field seen less often, or a type seen in the recording but not live (a
  ``null`` that only the recording's last chunk had); a field *gone* everywhere
  is drift, a new type or a new field is drift;
- the items of an array that was empty on one side (nothing to compare);
- a move between documented values of the fields that say how an answer ended
  (``finish_reason`` ``stop`` -> ``length``: see
  :mod:`llmreel.providers.answer_values`); an undocumented value is drift.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmreel.providers.answer_values import ENDING_FIELDS, ENDING_VALUES
from llmreel.tools.shape import ResponseShape, Schema

__all__ = ["Drift", "compare", "compare_schemas"]

# Where each API reports token usage (OpenAI, Anthropic's message_start, Responses, Gemini,
# Ollama): when usage as a whole comes or goes, these are not named field by field.
_USAGE_PATHS = (
    "usage",
    "message.usage",
    "response.usage",
    "usageMetadata",
    "eval_count",
    "prompt_eval_count",
)


@dataclass(frozen=True, slots=True)
class Drift:
    """One difference: ``where`` it is (``status``, ``body``, ``events``, ``usage``...)
    and the whole sentence (``text``), which is what identical drifts are grouped by."""

    where: str
    text: str


def _leaf(path: str) -> str:
    tail = path.rsplit(".", 1)[-1]
    while tail.endswith(("[]", "{}")):
        tail = tail[:-2]
    return tail


def _parent(path: str) -> str:
    if path.endswith(("[]", "{}")):
        return path[:-2]
    return path.rsplit(".", 1)[0] if "." in path else ""


def _unknown_items(path: str, other: Schema) -> bool:
    """True when ``path`` lies under an array or map ``other`` saw only empty."""
    p = path
    while p:
        parent = _parent(p)
        if p.endswith(("[]", "{}")) and p not in other and parent in other:
            return True
        p = parent
    return False


def _quote(values: set[str]) -> str:
    return ", ".join(f'"{v}"' for v in sorted(values)[:6]) + (", ..." if len(values) > 6 else "")


def compare_schemas(recorded: Schema, live: Schema, *, skip: tuple[str, ...] = ()) -> list[str]:
    """What changed between two schemas, one phrase each (without where they are)."""
    out: list[str] = []

    def skipped(path: str) -> bool:
        return any(path == s or path.startswith((s + ".", s + "[", s + "{")) for s in skip)

    # Only the topmost new or missing field is named: its parent was an object on both sides.
    for path in sorted(live.keys() - recorded.keys()):
        parent = _parent(path)
        if skipped(path) or _unknown_items(path, recorded):
            continue
        if parent in recorded and "object" in recorded[parent].types:
            out.append(f"new field `{path}` ({live[path].describe()})")
    for path in sorted(recorded.keys() - live.keys()):
        parent = _parent(path)
        if skipped(path) or _unknown_items(path, live):
            continue
        if parent in live and "object" in live[parent].types:
            out.append(f"field `{path}` missing (was {recorded[path].describe()})")
    for path in sorted(recorded.keys() & live.keys()):
        if skipped(path):
            continue
        rec, now = recorded[path], live[path]
        new_types = now.types - rec.types
        if new_types and not rec.types & now.types:
            out.append(f"`{path or '(document)'}` was {rec.describe()}, now {now.describe()}")
        elif new_types:
            also = "|".join(sorted(new_types))
            out.append(f"`{path or '(document)'}` was {rec.describe()}, now also {also}")
        new_values = now.values - rec.values
        if _leaf(path) in ENDING_FIELDS:
            new_values -= ENDING_VALUES
        if new_values and rec.values:
            out.append(
                f"`{path}` has a value never seen before: {_quote(new_values)} "
                f"(recorded: {_quote(rec.values)})"
            )
    return out


def _sequence_drift(recorded: ResponseShape, live: ResponseShape) -> list[Drift]:
    rec_set, live_set = set(recorded.sequence), set(live.sequence)
    new = [t for t in dict.fromkeys(live.sequence) if t not in rec_set]
    gone = [t for t in dict.fromkeys(recorded.sequence) if t not in live_set]
    out: list[Drift] = []
    if len(new) == 1 and len(gone) == 1:
        out.append(
            Drift(
                "events",
                f"events: event type `{new[0]}` never seen before, and `{gone[0]}` no longer "
                f"sent (renamed?)",
            )
        )
        return out
    out.extend(Drift("events", f"events: event type `{t}` never seen before") for t in new)
    out.extend(Drift("events", f"events: event type `{t}` no longer sent") for t in gone)
    if not new and not gone:
        firsts = list(dict.fromkeys(recorded.sequence))
        now = list(dict.fromkeys(live.sequence))
        if firsts != now:
            out.append(
                Drift("events", f"events: order changed: {', '.join(firsts)} -> {', '.join(now)}")
            )
    return out


def _event_drift(
    recorded: ResponseShape, live: ResponseShape, skip: tuple[str, ...]
) -> list[Drift]:
    common = [
        t for t in dict.fromkeys(recorded.sequence) if t in live.events and t in recorded.events
    ]
    found: dict[str, list[str]] = {}
    for label in common:
        for phrase in compare_schemas(recorded.events[label], live.events[label], skip=skip):
            found.setdefault(phrase, []).append(label)
    out: list[Drift] = []
    single = len(common) == 1
    for phrase, labels in found.items():
        if single:
            where = "events"
        elif len(labels) == len(common):
            where = "events (every type)"
        else:
            where = "events " + ", ".join(f"`{t}`" for t in labels)
        out.append(Drift("events", f"{where}: {phrase}"))
    return out


def compare(recorded: ResponseShape, live: ResponseShape) -> list[Drift]:
    """Every structural difference between a recording and the live answer."""
    if recorded.status_class != live.status_class:
        text = f"status {recorded.status or 'no response'} -> {live.status or 'no response'}"
        same_body = recorded.body_kind == live.body_kind and (
            recorded.body.keys() == live.body.keys() and recorded.sequence == live.sequence
        )
        if not same_body:
            text += ", body shape changed"
        if live.error:
            text += f" ({live.error})"
        return [Drift("status", text)]
    if recorded.stream != live.stream:

        def kind(s: ResponseShape) -> str:
            return s.stream or f"none ({s.body_kind} body)"

        return [Drift("stream", f"stream: {kind(recorded)} -> {kind(live)}")]
    out: list[Drift] = []
    if recorded.media_type != live.media_type:
        out.append(
            Drift("content type", f"content type {recorded.media_type} -> {live.media_type}")
        )
    skip: tuple[str, ...] = ()
    if recorded.usage != live.usage:
        out.append(Drift("usage", "`usage` missing" if recorded.usage else "`usage` now sent"))
        skip = _USAGE_PATHS  # said once, not again field by field
    if recorded.stream is None:
        if recorded.body_kind != live.body_kind:
            out.append(Drift("body", f"body: {recorded.body_kind} -> {live.body_kind}"))
        else:
            out.extend(
                Drift("body", f"body: {p}")
                for p in compare_schemas(recorded.body, live.body, skip=skip)
            )
        return out
    out.extend(_sequence_drift(recorded, live))
    out.extend(_event_drift(recorded, live, skip))
    return out
