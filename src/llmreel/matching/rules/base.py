"""What a canonical rule is, and how rules find the API's own objects in a body.

A rule is named and versioned (``null-fields@1``): the name is what users
switch off, the version changes whenever the rule would key some request
differently, and recordings store the ids of the rules they were keyed with.
Rules rewrite a private copy of the body (the request itself is never changed:
it is what gets forwarded and written).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from llmreel.matching.canonical import canonical
from llmreel.providers.endpoints import Endpoint

__all__ = ["Rule", "objects_at", "same_value"]

BodyRule = Callable[[Any, "Endpoint | None"], Any]
Wanted = Callable[[bytes, "Endpoint | None"], bool]


@dataclass(frozen=True, slots=True)
class Rule:
    """One canonical rule: what it makes one (``merges``) and why that is safe (``safe``)."""

    name: str
    version: int
    merges: str
    safe: str
    apply: BodyRule | None = None  # None: the rule works on the raw body (multipart forms)
    # A cheap test on the body's compact JSON: False only when the rule cannot change it
    # (most bodies have no null, no tool call, no payload), which spares the walk.
    wanted: Wanted | None = None
    any_path: bool = False  # True: also applies on paths no endpoint is known for

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"


@functools.lru_cache(maxsize=256)
def _tokens(spec: str) -> tuple[tuple[str, bool], ...]:
    """``"messages[].content[]"`` -> (("messages", True), ("content", True))."""
    if not spec:
        return ()
    out: list[tuple[str, bool]] = []
    for segment in spec.split("."):
        if segment.endswith("[]"):
            out.append((segment[:-2], True))
        else:
            out.append((segment, False))
    return tuple(out)


def objects_at(body: Any, spec: str) -> list[dict[str, Any]]:
    """The objects at ``spec`` in ``body`` (``a.b[]``: every item of the list ``b`` in ``a``)."""
    nodes: list[Any] = [body]
    for name, each in _tokens(spec):
        found: list[Any] = []
        for node in nodes:
            if not isinstance(node, dict) or name not in node:
                continue
            value = node[name]
            if each:
                if isinstance(value, list):
                    found.extend(value)
            else:
                found.append(value)
        nodes = found
    return [n for n in nodes if isinstance(n, dict)]


def same_value(a: Any, b: Any) -> bool:
    """JSON equality: 0 == 0.0, but False != 0 and "1" != 1."""
    if a is b:
        return True
    scalar = (str, bool, type(None))
    if isinstance(a, scalar) or isinstance(b, scalar):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return bool(a == b)
    try:
        return orjson.dumps(canonical(a), option=orjson.OPT_SORT_KEYS) == orjson.dumps(
            canonical(b), option=orjson.OPT_SORT_KEYS
        )
    except TypeError:
        return bool(a == b)
