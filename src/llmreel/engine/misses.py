"""Why a request missed: the closest recordings (same endpoint, same model) and a body diff.

Similarity only explains a miss; it never makes one request match another.
"""

from __future__ import annotations

from llmreel.exceptions import ReplayMissError, SequenceExhaustedError
from llmreel.matching import body_diff, similarity
from llmreel.model.interaction import Interaction, Request
from llmreel.store import Cassette, Entry

__all__ = ["explain_miss"]


def explain_miss(
    cassette: Cassette,
    request: Request,
    key: str,
    n: int,
    count: int,
    record_hint: str | None,
) -> ReplayMissError:
    """The error for a request with no recording: closest recordings, body diff, what to do."""
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
    candidates = _closest(cassette, request)
    if candidates:
        lines.append("Closest recordings (same endpoint" + (", same model" if model else "") + "):")
        for score, entry, _ in candidates:
            lines.append(f"  {entry.name}  (similarity {score:.1%})")
        best = candidates[0][2]
        lines.append(f"Body diff against {candidates[0][1].name}:")
        recorded_body = matcher.normalize_body(best.request.body)
        lines.append(body_diff(recorded_body, matcher.normalize_body(request.body)))
    else:
        same = len(cassette)
        lines.append(f"No recording with the same endpoint ({same} recording(s) in the cassette).")
    if cassette.errors:
        names = ", ".join(sorted(cassette.errors)[:5])
        lines.append(
            f"Note: {len(cassette.errors)} file(s) could not be read and were skipped: {names}"
        )
    if matcher.specs:
        lines.append("Normalizers applied: " + ", ".join(matcher.specs))
    lines.append(f"To record it: {hint}.")
    return ReplayMissError("\n".join(lines), key=key, cassette=str(cassette.location))


def _closest(cassette: Cassette, request: Request) -> list[tuple[float, Entry, Interaction]]:
    model = request.model
    pool = [
        e
        for e in cassette.entries()
        if e.path == request.path and e.method == request.method.upper()
    ]
    same_model = [e for e in pool if model and e.model == model]
    pool = (same_model or pool)[:200]
    scored: list[tuple[float, Entry, Interaction]] = []
    for entry in pool:
        try:
            inter = cassette.load(entry)
        except Exception:
            continue
        scored.append((similarity(inter.request.body, request.body), entry, inter))
    scored.sort(key=lambda s: -s[0])
    return scored[:3]
