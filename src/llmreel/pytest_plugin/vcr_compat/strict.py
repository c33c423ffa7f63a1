"""llmreel's own matching for vcrpy cassettes: keys of stored requests, strict matches, the shadow.

With ``--llmreel-strict`` a request replays the first unplayed interaction with
the same llmreel key (method, path, the query that matters, the canonical
body: :class:`~llmreel.matching.Matcher`), after the suite's own request
filters, so what the filters remove on disk is removed from the live request
too. Without it, every vcrpy-style replay is also checked against strict
matching by a :class:`Shadow` with its own play counts, which says which
replays would have missed and how the request differs from what was played.
"""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Callable
from typing import Any

from llmreel.formats.vcr import request_from_vcr
from llmreel.matching import Matcher, body_diff
from llmreel.model.interaction import Request
from llmreel.pytest_plugin.vcr_compat.cassette import VcrCassette
from llmreel.pytest_plugin.vcr_compat.request import VcrRequest

__all__ = ["Shadow", "StrictKeys", "difference"]


def as_request(vcr_request: VcrRequest) -> Request:
    """The llmreel view of a vcrpy request (what keys and diffs are computed on)."""
    body = vcr_request.body
    data = body if isinstance(body, bytes) else (b"" if body is None else bytes(body))
    return request_from_vcr(
        vcr_request.method, vcr_request.uri, data, list(vcr_request.headers.items())
    )


class StrictKeys:
    """The llmreel key of every interaction of a cassette, computed when first asked."""

    def __init__(self, cassette: VcrCassette, matcher: Matcher) -> None:
        self.cassette = cassette
        self.matcher = matcher
        self._keys: dict[int, str] = {}

    def stored(self, index: int) -> Request:
        return as_request(self.cassette.data[index][0])

    def key(self, index: int) -> str:
        found = self._keys.get(index)
        if found is None:
            found = self._keys[index] = self.matcher.key(self.stored(index))
        return found

    def match(self, key: str) -> Callable[[Any, int], bool]:
        """A ``VcrCassette.take`` predicate: the interaction has this key."""
        return lambda _request, index: self.key(index) == key


def difference(recorded: Request, live: Request, matcher: Matcher) -> str:
    """How ``live`` differs from ``recorded`` for llmreel's key, in a few readable lines."""
    lines: list[str] = []
    if recorded.method.upper() != live.method.upper() or recorded.path != live.path:
        lines.append(
            f"  endpoint: recorded {recorded.method} {recorded.path}, "
            f"this request {live.method} {live.path}"
        )
    old_q, new_q = matcher.key_parts(recorded).get("query"), matcher.key_parts(live).get("query")
    if old_q != new_q:
        lines.append(f"  query: recorded {old_q or []}, this request {new_q or []}")
    if recorded.body is not None or live.body is not None:
        old_b, new_b = matcher.normalize_body(recorded.body), matcher.normalize_body(live.body)
        if old_b != new_b:
            lines.append(body_diff(old_b, new_b))
    elif (recorded.raw or b"") != (live.raw or b""):
        digest = {
            name: hashlib.sha256(raw or b"").hexdigest()[:12]
            for name, raw in (("recorded", recorded.raw), ("this request", live.raw))
        }
        lines.append(
            f"  body bytes differ: recorded {len(recorded.raw or b'')} bytes "
            f"(sha256 {digest['recorded']}), this request {len(live.raw or b'')} bytes "
            f"(sha256 {digest['this request']})"
        )
    return "\n".join(lines) or "  (no difference in what llmreel keys on)"


class Shadow:
    """Strict matching run beside vcrpy matching, with its own play counts."""

    def __init__(self, keys: StrictKeys) -> None:
        self.keys = keys
        self.counts: collections.Counter[int] = collections.Counter()

    def check(self, live: Request, key: str, played: int) -> str | None:
        """None when strict matching would also have answered; else what differs from the
        interaction vcrpy-style matching played."""
        cassette = self.keys.cassette
        for index in range(len(cassette.data)):
            free = self.counts[index] == 0 or cassette.allow_playback_repeats
            if free and self.keys.key(index) == key:
                self.counts[index] += 1
                return None
        return difference(self.keys.stored(played), live, self.keys.matcher)
