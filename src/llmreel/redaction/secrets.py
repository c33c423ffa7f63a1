"""The secret scanner: no key-shaped string reaches a recording.

Before a write, everything the recording would hold is scanned for key-shaped
secrets; a hit refuses the write and names the field. Values the user marks
safe are skipped.

The text is read once, in C: a whole request, response or recording file is
dumped (or read) as one JSON text and run through one combined RE2 pattern
(:data:`~llmreel.redaction.patterns.JSON_GATE`). Only when that finds a candidate
is the value walked field by field with the exact patterns, to name the field and
to apply the allow list; a clean recording never reaches Python-level matching.
Streams are also read as their client reads them: each field joined across events
(:mod:`llmreel.redaction.streams`), so a key cut into two events is still found.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from llmreel.model.interaction import Event, Interaction, Request
from llmreel.redaction.forms import form_text_fields
from llmreel.redaction.headers import REDACTED
from llmreel.redaction.patterns import (
    CREDENTIAL_FIELD_IN_TEXT,
    CREDENTIAL_NAME,
    JSON_GATE,
    PATTERN_GATES,
    PATTERNS,
    TEXT_GATE,
    mixed,
    token_like,
)
from llmreel.redaction.streams import joined_fields

__all__ = ["SecretFinding", "SecretScanner"]

_DUMP_OPTIONS = orjson.OPT_NON_STR_KEYS


@dataclass(frozen=True, slots=True)
class SecretFinding:
    where: str  # e.g. "request.body.messages[0].content"
    kind: str
    excerpt: str  # the match, shortened so the message itself leaks nothing


def _walk(value: Any, where: str) -> Iterator[tuple[str, str, str | None]]:
    """Every string in ``value`` with its path and, for dict values, the field name."""
    if isinstance(value, str):
        yield where, value, None
    elif isinstance(value, dict):
        for k, v in value.items():
            name = str(k)
            yield f"{where}.<key>", name, None
            if isinstance(v, str):
                yield f"{where}.{name}", v, name
            else:
                yield from _walk(v, f"{where}.{name}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _walk(v, f"{where}[{i}]")


def may_hold_secret(value: Any) -> bool:
    """Whether ``value`` (any JSON-like value) could hold a secret: one C-speed pass.

    False means the exact scan would find nothing; True means look closer. A value
    that cannot be dumped as JSON (a huge integer, a lone surrogate) is looked at.
    """
    try:
        text = orjson.dumps(value, option=_DUMP_OPTIONS, default=str)
    except (TypeError, orjson.JSONEncodeError):
        return True
    return JSON_GATE.search(text) is not None


def json_text_may_hold_secret(text: bytes | str) -> bool:
    """Whether a JSON text as written (a recording file) could hold a secret."""
    return JSON_GATE.search(text) is not None


class SecretScanner:
    """Finds key-shaped secrets in strings, skipping values marked safe."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allow = frozenset(a for a in allow if a)

    def _allowed(self, hit: str) -> bool:
        # A hit is safe when it is (part of) a value marked safe, or when it holds one whole
        # (long enough that a short allow entry like "sk-" cannot whitelist every key).
        return hit in self.allow or any(hit in a or (len(a) >= 16 and a in hit) for a in self.allow)

    def scan_text(self, text: str, where: str, *, field: str | None = None) -> SecretFinding | None:
        """The first secret in ``text`` (``field``: the name of the JSON field holding it)."""
        if len(text) < 12 or text == REDACTED:
            return None
        if (
            field is not None
            and CREDENTIAL_NAME.search(field)
            and token_like(text)
            and not self._allowed(text)
            and REDACTED not in text
        ):
            return SecretFinding(where, f"credential (field {field!r})", text[:4] + "…")
        if TEXT_GATE.search(text) is None:
            return None
        return self._exact(text, where)

    def _exact(self, text: str, where: str) -> SecretFinding | None:
        found = self._exact_at(text, where)
        return found[0] if found is not None else None

    def _exact_at(self, text: str, where: str) -> tuple[SecretFinding, int, int] | None:
        """The first secret in ``text`` by the exact patterns, and where it sits."""
        gates = iter(PATTERN_GATES)
        for (kind, pattern, is_mixed), gate in zip(PATTERNS, gates, strict=False):
            if gate.search(text) is None:
                continue
            for m in pattern.finditer(text):
                hit = m.group(0)
                value = m.group(m.lastindex or 0)
                if self._allowed(hit) or self._allowed(value):
                    continue
                if REDACTED in hit or (is_mixed and not mixed(value)):
                    continue
                return SecretFinding(where, kind, hit[:6] + "…"), m.start(), m.end()
        if next(gates).search(text) is None:
            return None
        for m in CREDENTIAL_FIELD_IN_TEXT.finditer(text):
            name, value = m.group(1), m.group(2)
            if token_like(value) and not self._allowed(value) and REDACTED not in value:
                found = SecretFinding(where, f"credential (field {name!r})", value[:4] + "…")
                return found, m.start(2), m.end(2)
        return None

    def scan(self, value: Any, where: str) -> SecretFinding | None:
        """The first secret anywhere in ``value`` (a string, or JSON-like data), by field."""
        if isinstance(value, str):
            return self.scan_text(value, where)
        if not may_hold_secret(value):
            return None
        return self._walk_exact(value, where)

    def _walk_exact(self, value: Any, where: str) -> SecretFinding | None:
        for path, text, name in _walk(value, where):
            found = self.scan_text(text, path, field=name)
            if found is not None:
                return found
        return None

    def scan_json(self, text: bytes | str, doc: Any, where: str) -> SecretFinding | None:
        """The first secret in a JSON text as written (``doc``: the text parsed, if it parses).

        One pass over ``text``; only on a candidate are the fields of ``doc`` looked at
        (which names the place), then the text itself (a stream event is a string holding
        JSON, where a credential field is only visible as text).
        """
        if not json_text_may_hold_secret(text):
            return None
        found = self._walk_exact(doc, where) if doc is not None else None
        if found is None:
            s = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
            found = self.scan_text(s, where)
        return found

    def _first(self, checks: list[tuple[Any, str]]) -> SecretFinding | None:
        checks = [(value, where) for value, where in checks if value is not None]
        if not may_hold_secret([value for value, _ in checks]):
            return None  # one pass over everything said "nothing here"
        for value, where in checks:
            found = (
                self.scan_text(value, where)
                if isinstance(value, str)
                else self._walk_exact(value, where)
            )
            if found is not None:
                return found
        return None

    def _request_checks(self, req: Request) -> list[tuple[Any, str]]:
        checks: list[tuple[Any, str]] = [({k: v}, "request.query") for k, v in req.query]
        checks += [
            (req.url, "request.url"),
            (req.path, "request.path"),
            (req.headers, "request.headers"),
            (req.body, "request.body"),
        ]
        if req.raw is not None and req.body is None:
            # A form's fields by name, as a JSON body's: `api_key` is a credential by its name.
            fields = form_text_fields(req.raw, req.headers)
            checks += [({name: value}, "request.form") for name, value in fields or ()]
            checks.append((req.raw.decode("utf-8", "replace"), "request.raw"))
        return checks

    def scan_request(self, req: Request) -> SecretFinding | None:
        """The first secret in a request as it would be written (already redacted)."""
        return self._first(self._request_checks(req))

    def scan_interaction(self, inter: Interaction) -> SecretFinding | None:
        """The first secret anywhere in what would be written for ``inter``.

        Everything that reaches the file is looked at: URL, query, headers, bodies
        (JSON, text, and binary ones decoded leniently, since a key is ASCII even
        inside bytes), every field of every stream event, each stream field joined
        across events, the error note and test id.
        """
        resp = inter.response
        checks = self._request_checks(inter.request)
        checks += [
            (resp.headers, "response.headers"),
            (resp.body, "response.body"),
            (resp.text, "response.text"),
        ]
        if resp.content is not None:
            checks.append((resp.content.decode("utf-8", "replace"), "response.content"))
        checks += [(resp.error, "response.error"), (inter.test_id, "test"), (inter.meta, "meta")]
        found = self._first(checks)
        if found is not None or not resp.events:
            return found
        return self.scan_events(resp.events)

    def scan_events(self, events: Sequence[Event]) -> SecretFinding | None:
        """The first secret in a stream: in one event's field, or cut across events."""
        fields = [
            (i, attr, text)
            for i, ev in enumerate(events)
            for attr in ("data", "comment", "id", "event")
            if (text := getattr(ev, attr))
        ]
        if may_hold_secret([text for _, _, text in fields]):
            # Event by event first: a secret inside one event is named by that event.
            for i, attr, text in fields:
                found = self.scan_text(text, f"response.events[{i}].{attr}")
                if found is not None:
                    return found
        for joined in joined_fields(events):
            text = joined.text
            if joined.name is not None and CREDENTIAL_NAME.search(joined.name):
                found = self.scan_text(text, joined.where(0, len(text)), field=joined.name)
                if found is not None:
                    return found
            if len(text) < 12 or TEXT_GATE.search(text) is None:
                continue
            hit = self._exact_at(text, "")
            if hit is not None:
                found, start, end = hit
                return SecretFinding(joined.where(start, end), found.kind, found.excerpt)
        return None
