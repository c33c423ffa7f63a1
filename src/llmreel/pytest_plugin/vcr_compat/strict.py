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
    """How ``live`` differs from ``recorded`` in what llmreel keys on (after its canonical
    rules, so a harmless difference never shows), in a few readable lines."""
    old, new = matcher.key_parts(recorded), matcher.key_parts(live)
    lines: list[str] = []
    if (old["method"], old["path"]) != (new["method"], new["path"]):
        lines.append(
            f"  endpoint: recorded {old['method']} {old['path']}, "
            f"this request {new['method']} {new['path']}"
        )
    if old.get("query") != new.get("query"):
        lines.append(
            f"  query: recorded {old.get('query', [])}, this request {new.get('query', [])}"
        )
    for part in ("body", "form"):
        if (part in old or part in new) and old.get(part) != new.get(part):
            lines.append(body_diff(old.get(part), new.get(part)))
    if old.get("raw_sha256") != new.get("raw_sha256"):
        sizes = (len(recorded.raw or b""), len(live.raw or b""))
        digests = (str(old.get("raw_sha256", "-"))[:12], str(new.get("raw_sha256", "-"))[:12])
        lines.append(
            f"  body bytes differ: recorded {sizes[0]} bytes (sha256 {digests[0]}), "
            f"this request {sizes[1]} bytes (sha256 {digests[1]})"
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
