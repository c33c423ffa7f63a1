"""The canonical rules: per provider and endpoint, the forms the provider treats as one request.

Each rule is named and versioned (:class:`~.base.Rule`), on by default, and can
be switched off by name (``canonical_off=[...]``, ``"all"`` for raw matching).
:class:`CanonicalRules` is a selection of them; it rewrites a private copy of a
body in a fixed order. The rules never make two requests match that the
provider would answer differently: docs/matching.md lists each one, what it
merges and why that is safe.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import orjson

from llmreel.exceptions import ConfigError
from llmreel.matching.rules.base import Rule
from llmreel.matching.rules.fields import API_DEFAULTS, NULL_FIELDS
from llmreel.matching.rules.forms import MULTIPART_FORM, form_view
from llmreel.matching.rules.payloads import BASE64_PAYLOADS, payload_digest
from llmreel.matching.rules.text_blocks import TEXT_BLOCKS
from llmreel.matching.rules.tool_ids import TOOL_CALL_IDS
from llmreel.providers.endpoints import Endpoint

__all__ = [
    "ALL",
    "RULES",
    "CanonicalRules",
    "Rule",
    "form_view",
    "parse_rule_names",
    "payload_digest",
    "rules_off_for",
]

# In the order they apply: nulls before defaults (a default compared to a null is moot),
# defaults and text blocks before ids, payload digests last.
RULES: tuple[Rule, ...] = (
    MULTIPART_FORM,
    NULL_FIELDS,
    API_DEFAULTS,
    TEXT_BLOCKS,
    TOOL_CALL_IDS,
    BASE64_PAYLOADS,
)
ALL = "all"
_BY_NAME = {r.name: r for r in RULES}


def parse_rule_names(off: str | Iterable[str] | None) -> frozenset[str]:
    """The names of the rules to switch off; ``"all"`` (or ``True``-ish text) is every rule.

    A string may hold several names separated by commas or spaces, as an ini value does.
    """
    if off is None:
        return frozenset()
    items = [off] if isinstance(off, str) else list(off)
    names: set[str] = set()
    for item in items:
        for name in str(item).replace(",", " ").split():
            low = name.strip().lower()
            if low == ALL:
                return frozenset(_BY_NAME)
            if low not in _BY_NAME:
                raise ConfigError(
                    f"unknown canonical rule {name!r} to switch off; known rules: "
                    f"{', '.join(_BY_NAME)} (or 'all' for raw matching)."
                )
            names.add(low)
    return frozenset(names)


def rules_off_for(ids: Iterable[str]) -> frozenset[str] | None:
    """The rules to switch off to key as a recording that stored ``ids`` was keyed.

    A recording from before the rules stores none (all off). None: it was keyed by a rule
    or a version of one that this llmreel does not have, so its key cannot be recomputed.
    """
    stored = set(ids)
    if stored - {r.id for r in RULES}:
        return None
    return frozenset(r.name for r in RULES if r.id not in stored)


def _dumped(body: Any) -> bytes | None:
    try:
        return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return None  # not plain JSON (a custom normalizer's output): copied the slow way


def _private_copy(body: Any, dumped: bytes | None = None) -> Any:
    dumped = dumped if dumped is not None else _dumped(body)
    return copy.deepcopy(body) if dumped is None else orjson.loads(dumped)


class CanonicalRules:
    """A selection of the canonical rules (all of them by default)."""

    def __init__(self, off: str | Iterable[str] | None = ()) -> None:
        self.off = parse_rule_names(off)
        self.enabled: tuple[Rule, ...] = tuple(r for r in RULES if r.name not in self.off)
        self._body_rules = tuple(r for r in self.enabled if r.apply is not None)
        self.forms = MULTIPART_FORM in self.enabled

    @property
    def ids(self) -> tuple[str, ...]:
        """``name@version`` of each rule in force: what recordings store."""
        return tuple(r.id for r in self.enabled)

    def body(self, body: Any, endpoint: Endpoint | None) -> Any:
        """The keyed form of a JSON body (a rewritten copy; ``body`` is not changed)."""
        if not self._body_rules or not isinstance(body, dict | list):
            return body
        dumped = _dumped(body)
        # A rule that cannot change this body is skipped (no rule makes another one apply).
        rules = [
            r
            for r in self._body_rules
            if (endpoint is not None or r.any_path)
            and (dumped is None or r.wanted is None or r.wanted(dumped, endpoint))
        ]
        if not rules:
            return body
        out = _private_copy(body, dumped)
        for rule in rules:
            assert rule.apply is not None
            out = rule.apply(out, endpoint)
        return out

    def steps(self, body: Any, endpoint: Endpoint | None) -> list[tuple[Rule, Any]]:
        """Each rule in force with the body after it (to show which rules changed what)."""
        out: list[tuple[Rule, Any]] = []
        current = body
        for rule in self._body_rules:
            assert rule.apply is not None
            current = rule.apply(_private_copy(current), endpoint)
            out.append((rule, current))
        return out
