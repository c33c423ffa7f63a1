"""Why a request found nothing to replay in a vcrpy cassette: the closest interactions, what failed.

Under vcrpy matching the closest interactions are those passing the most
``match_on`` matchers (as vcrpy's own ``find_requests_with_most_matches``
ranks them), each with the matchers that failed and why, and whether it has
already played; under ``--llmreel-strict`` they are the interactions on the
same endpoint ranked by similarity, with the difference in what llmreel keys on.
Similarity only explains a miss; it never answers one.
"""

from __future__ import annotations

from llmreel.exceptions import ReplayMissError
from llmreel.matching import similarity
from llmreel.model.interaction import Request
from llmreel.pytest_plugin.vcr_compat.cassette import VcrCassette
from llmreel.pytest_plugin.vcr_compat.matchers import matcher_results
from llmreel.pytest_plugin.vcr_compat.request import VcrRequest
from llmreel.pytest_plugin.vcr_compat.strict import StrictKeys, difference

__all__ = ["strict_miss", "vcr_miss"]

_SHOWN = 3


def _head(cassette: VcrCassette, what: str, how: str) -> list[str]:
    played = sum(1 for i in range(len(cassette)) if cassette.play_counts[i])
    lines = [
        f"replay miss: no interaction in cassette {cassette.path} matches {what} "
        f"(record mode {cassette.record_mode}; {how}).",
    ]
    if not len(cassette):
        lines.append("The cassette does not exist yet or holds no interactions.")
    else:
        lines.append(
            f"It holds {len(cassette)} interaction(s), {played} already played"
            + (
                ""
                if cassette.allow_playback_repeats
                else " (each plays once unless allow_playback_repeats=True)"
            )
            + "."
        )
    return lines


def vcr_miss(cassette: VcrCassette, request: VcrRequest, hint: str) -> ReplayMissError:
    """The miss of ``request`` (already filtered) under the suite's ``match_on``."""
    matchers = cassette.options.matchers
    names = ", ".join(name for name, _ in matchers)
    lines = _head(cassette, f"{request.method} {request.uri}", f"match_on: {names}")
    ranked: list[tuple[int, int, list[tuple[str, str | None]]]] = []
    for index, (stored, _) in enumerate(cassette.data):
        passed, failed = matcher_results(request, stored, matchers)
        ranked.append((len(passed), index, failed))
    ranked.sort(key=lambda r: (-r[0], r[1]))
    best = [r for r in ranked if r[0] and r[0] == ranked[0][0]][:_SHOWN] if ranked else []
    if best:
        lines.append("Closest interactions:")
    for _, index, failed in best:
        stored = cassette.data[index][0]
        state = " [already played]" if cassette.play_counts[index] else ""
        if failed:
            why = "; ".join(f"{name}: {reason}" if reason else name for name, reason in failed)
            lines.append(f"  #{index} {stored.method} {stored.uri}{state}: fails {why}")
        else:
            lines.append(f"  #{index} {stored.method} {stored.uri}{state}: matches, but played")
    lines.append(f"To record it: {hint}.")
    return ReplayMissError("\n".join(lines), cassette=cassette.path)


def strict_miss(
    cassette: VcrCassette, keys: StrictKeys, live: Request, key: str, hint: str
) -> ReplayMissError:
    """The miss of ``live`` under llmreel's matching (``--llmreel-strict``)."""
    what = f"{live.method} {live.path} (model {live.model or '-'}, key {key[:12]})"
    lines = _head(cassette, what, "llmreel matching, --llmreel-strict")
    same = [i for i in range(len(cassette)) if keys.key(i) == key]
    if same:
        lines.append(
            f"Interaction(s) {', '.join(f'#{i}' for i in same)} hold this request and all "
            f"have played: it was sent {len(same) + 1} times but recorded {len(same)}."
        )
    pool = [
        i
        for i in range(len(cassette))
        if keys.stored(i).path == live.path and keys.stored(i).method == live.method
    ]
    scored = sorted(
        ((similarity(keys.stored(i).body, live.body), i) for i in pool), key=lambda s: -s[0]
    )[:_SHOWN]
    if scored and not same:
        lines.append("Closest interactions (same endpoint):")
        for score, index in scored:
            lines.append(f"  #{index}  (similarity {score:.1%})")
        lines.append(f"Difference from #{scored[0][1]}:")
        lines.append(difference(keys.stored(scored[0][1]), live, keys.matcher))
    lines.append(f"To record it: {hint}.")
    return ReplayMissError("\n".join(lines), key=key, cassette=cassette.path)
