"""Why a request missed: the closest recordings (same endpoint, same model) and what differs.

The difference shown is the one that decided: the keyed forms of the request and
of the closest recording (query, body or form fields after normalizers and
canonical rules), bounded to a few KB however large the bodies are. When a
canonical rule is switched off and switching it on would have matched, the
message says so. Similarity only explains a miss; it never makes one request
match another.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from llmreel.exceptions import ReplayMissError, SequenceExhaustedError
from llmreel.matching import Matcher, body_diff, canonical_json, format_similarity, similarity
from llmreel.model.interaction import Interaction, Request
from llmreel.store import Cassette, Entry

__all__ = ["MAX_MESSAGE", "explain_miss"]

MAX_MESSAGE = 6000  # characters: a miss message is read by a person, and logged


def explain_miss(
    cassette: Cassette,
    request: Request,
    key: str,
    n: int,
    count: int,
    record_hint: str | None,
) -> ReplayMissError:
    """The error for a request with no recording: closest recordings, what differs, what to do."""
    matcher = cassette.matcher
    where = f"{request.method} {request.path}"
    model = request.model
    hint = record_hint or (
        "LLMREEL_MODE=record-if-missing (or use_cassette(..., mode='record-if-missing'), "
        "or `llmreel serve --mode record-if-missing --upstream URL`)"
    )
    if count:
        return SequenceExhaustedError(
            f"replay miss: {where} (model {model or '-'}) was sent {n + 1} times, but "
            f"cassette {cassette.location} holds only {count} recording(s) of it.\n"
            f"Either record the extra call(s) with {hint}, or replay the last recording "
            f"again with on_exhausted='repeat'.",
            key=key,
            cassette=str(cassette.location),
        )
    lines = [
        f"replay miss: no recording in cassette {cassette.location} matches {where}"
        f" (model {model or '-'}, key {key[:12]}).",
    ]
    if not cassette.exists():
        lines.append(f"The cassette directory {cassette.location} does not exist yet.")
    mine = _compared(matcher.key_parts(request))
    candidates = _closest(cassette, request, mine)
    if candidates:
        lines.append("Closest recordings (same endpoint" + (", same model" if model else "") + "):")
        for score, entry, _, _ in candidates:
            lines.append(f"  {entry.name}  (similarity {format_similarity(score)})")
        _, best, inter, theirs = candidates[0]
        lines.append(f"What differs from {best.name} (as keyed: query, body or form fields):")
        if canonical_json(theirs) == canonical_json(mine):
            lines.append("  nothing: the keyed forms are identical (the recording was not used).")
        else:
            lines.append(body_diff(theirs, mine))
        lines.extend(_rule_hint(matcher, inter.request, request))
    else:
        lines.extend(_other_endpoints(cassette, request))
    if cassette.errors:
        names = ", ".join(sorted(cassette.errors)[:5])
        lines.append(
            f"Note: {len(cassette.errors)} file(s) could not be read and were skipped: {names}"
        )
    if matcher.specs:
        lines.append("Normalizers applied: " + ", ".join(matcher.specs))
    if matcher.rules.off:
        lines.append("Canonical rules switched off: " + ", ".join(sorted(matcher.rules.off)))
    lines.append(f"To record it: {hint}.")
    return ReplayMissError(_bounded("\n".join(lines)), key=key, cassette=str(cassette.location))


def _compared(parts: dict[str, Any]) -> dict[str, Any]:
    """The keyed form without method and path (the candidates share them)."""
    return {k: v for k, v in parts.items() if k not in ("method", "path")}


def _closest(
    cassette: Cassette, request: Request, mine: dict[str, Any]
) -> list[tuple[float, Entry, Interaction, dict[str, Any]]]:
    model = request.model
    pool = [
        e
        for e in cassette.entries()
        if e.path == request.path and e.method == request.method.upper()
    ]
    same_model = [e for e in pool if model and e.model == model]
    pool = (same_model or pool)[:200]
    scored: list[tuple[float, Entry, Interaction, dict[str, Any]]] = []
    for entry in pool:
        try:
            inter = cassette.load(entry)
            theirs = _compared(cassette.matcher.key_parts(inter.request))
        except Exception:
            continue
        scored.append((similarity(theirs, mine), entry, inter, theirs))
    scored.sort(key=lambda s: -s[0])
    return scored[:3]


def _rule_hint(matcher: Matcher, recorded: Request, request: Request) -> list[str]:
    """When rules are switched off: would switching them on have matched?"""
    if not matcher.rules.off:
        return []
    full = Matcher(matcher.normalizers, ignore_query=matcher.ignore_query)
    if full.key(recorded) != full.key(request):
        return []
    off = ", ".join(sorted(matcher.rules.off))
    return [
        f"With the canonical rules that are switched off ({off}) on, this request would "
        f"match: the difference is one they treat as the same request."
    ]


def _other_endpoints(cassette: Cassette, request: Request) -> list[str]:
    entries = cassette.entries()
    if not entries:
        return ["The cassette holds no recordings."]
    counts = Counter(f"{e.method} {e.path}" for e in entries)
    listed = ", ".join(f"{where} ({n})" for where, n in counts.most_common(5))
    more = f" and {len(counts) - 5} more" if len(counts) > 5 else ""
    return [
        f"No recording of {request.method.upper()} {request.path} "
        f"({len(entries)} recording(s) in the cassette). Recorded endpoints: {listed}{more}."
    ]


def _bounded(message: str) -> str:
    if len(message) <= MAX_MESSAGE:
        return message
    head = message[: MAX_MESSAGE - 200]
    tail = message.splitlines()[-1][:190]
    return f"{head}\n... (message cut at {MAX_MESSAGE} characters)\n{tail}"
