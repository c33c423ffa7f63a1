"""The secret scanner: no key-shaped string reaches a recording.

Before a write, every string of the recording is scanned for key-shaped
secrets; a hit refuses the write and names the field. Values the user marks
safe are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from llmreel.model.interaction import Interaction, Request
from llmreel.redaction.headers import REDACTED

__all__ = ["SecretFinding", "SecretScanner"]

# Each pattern is anchored on a provider's documented prefix so ordinary text
# (and the base64 embeddings in responses) does not trip it. The look-behinds
# keep a prefix from matching inside a longer word ("task-management-..." is not
# an OpenAI key). Patterns marked ``mixed`` are generic shapes that only count
# when the candidate holds both letters and digits, as real credentials do and
# prose ("bearer instrument/certificate") does not.
_B = r"(?<![A-Za-z0-9_\-])"
_PATTERNS: tuple[tuple[str, re.Pattern[str], bool], ...] = (
    (
        "Anthropic API key",
        re.compile(_B + r"sk-ant-(?:api|admin|oat|sid)\d\d-[A-Za-z0-9_\-]{20,}"),
        False,
    ),
    (
        "OpenAI-style API key",
        re.compile(_B + r"sk-(?:proj-|svcacct-|admin-|or-v1-)?[A-Za-z0-9_\-]{20,}"),
        True,
    ),
    ("Google API key", re.compile(_B + r"AIza[0-9A-Za-z_\-]{35}"), False),
    ("Google OAuth token", re.compile(_B + r"ya29\.[0-9A-Za-z_\-]{20,}"), False),
    (
        "AWS access key id",
        re.compile(
            r"(?<![A-Za-z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ABIA|ACCA|ANPA|ANVA|APKA|AIPA)"
            r"[0-9A-Z]{16}(?![0-9A-Z])"
        ),
        False,
    ),
    (
        "AWS secret access key",
        re.compile(
            r"(?i)aws.{0,20}?secret.{0,20}?['\"=:\s]{1,4}([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
        True,
    ),
    ("GitHub token", re.compile(_B + r"(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}"), False),
    ("GitHub fine-grained token", re.compile(_B + r"github_pat_[A-Za-z0-9_]{60,}"), False),
    ("GitLab token", re.compile(_B + r"glpat-[A-Za-z0-9_\-]{20,}"), False),
    ("Hugging Face token", re.compile(_B + r"hf_[A-Za-z0-9]{30,}"), False),
    ("Slack token", re.compile(_B + r"xox[abeoprsc]-[A-Za-z0-9\-]{10,}"), False),
    (
        "Slack webhook URL",
        re.compile(r"hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]{16,}"),
        False,
    ),
    ("Stripe key", re.compile(_B + r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,}"), False),
    ("Stripe webhook secret", re.compile(_B + r"whsec_[A-Za-z0-9+/=]{24,}"), False),
    ("Groq API key", re.compile(_B + r"gsk_[A-Za-z0-9]{40,}"), False),
    ("Replicate token", re.compile(_B + r"r8_[A-Za-z0-9]{30,}"), False),
    ("xAI API key", re.compile(_B + r"xai-[A-Za-z0-9]{40,}"), False),
    ("Perplexity API key", re.compile(_B + r"pplx-[A-Za-z0-9]{40,}"), False),
    ("npm token", re.compile(_B + r"npm_[A-Za-z0-9]{36,}"), False),
    ("PyPI token", re.compile(_B + r"pypi-AgE[A-Za-z0-9_\-]{50,}"), False),
    ("SendGrid API key", re.compile(r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}"), False),
    ("Azure account key", re.compile(r"AccountKey=[A-Za-z0-9+/]{40,}={0,2}"), False),
    (
        "JSON Web Token",
        re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
        False,
    ),
    ("bearer token", re.compile(r"(?i)\bbearer\s+([A-Za-z0-9_\-\.=:/+~]{16,})"), True),
    (
        "basic auth credentials",
        re.compile(r"(?i)\bauthorization\W{1,4}basic\s+([A-Za-z0-9+/]{12,}={0,2})"),
        False,
    ),
    (
        "password in a URL",
        re.compile(
            r"\b[a-z][a-z0-9+.\-]{1,15}://[^\s/:@\"'<>]{1,64}:([^\s/@\"'<>]{3,128})@[\w.\-]+"
        ),
        False,
    ),
    (
        "private key",
        re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA |ENCRYPTED |PGP )?PRIVATE KEY"),
        False,
    ),
)

# Field names whose value is a credential whatever its shape (Mistral, Cohere and
# Together keys have no prefix to recognise them by). Only string values that look
# like a token count: long, no spaces, letters and digits.
_CREDENTIAL_NAME = re.compile(
    r"(?i)(?:secret|passw(?:or)?d|api[_\-]?key|access[_\-]?key|private[_\-]?key|"
    r"(?:auth|access|refresh|id|session|bearer|api)[_\-]?token|credential)"
)
# The same inside text (stream events, raw bodies, logs): "name": "value", name=value,
# also with the escaped quotes of JSON inside a JSON string.
_CREDENTIAL_FIELD_IN_TEXT = re.compile(
    r"([A-Za-z0-9_\-]{0,40}?(?i:secret|passw(?:or)?d|api[_\-]?key|access[_\-]?key|"
    r"private[_\-]?key|(?:auth|access|refresh|id|session|bearer|api)[_\-]?token|credential)"
    r"[A-Za-z0-9_\-]{0,20})(?:\\?[\"'])?\s*[:=]\s*(?:\\?[\"'])?([^\"'\s\\,;&<>]{16,})"
)


# Scanning runs on every string of every recording (thousands of stream events), so a
# cheap substring pass for the literal anchors of all patterns decides whether the full set
# of regular expressions runs at all (plain ``in`` checks beat one big alternation here).
_ANCHORS = (
    *("sk-", "sk_", "rk_", "AIza", "ya29.", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    *("glpat-", "hf_", "xox"),
    *("hooks.slack", "whsec_", "gsk_", "r8_", "xai-", "pplx-", "npm_", "pypi-", "SG."),
    *("AccountKey=", "eyJ", "://", "-----BEGIN"),
    *("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ABIA", "ACCA", "ANPA", "ANVA", "APKA", "AIPA"),
)
_ANCHORS_ANY_CASE = ("aws", "bearer", "authorization")
_FIELD_ANCHORS = ("secret", "passw", "key", "token", "credential")


def _anchored(text: str, lower: str) -> bool:
    return any(a in text for a in _ANCHORS) or any(a in lower for a in _ANCHORS_ANY_CASE)


def _mixed(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _token_like(value: str) -> bool:
    return len(value) >= 16 and not any(c.isspace() for c in value) and _mixed(value)


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
            and _CREDENTIAL_NAME.search(field)
            and _token_like(text)
            and not self._allowed(text)
            and REDACTED not in text
        ):
            return SecretFinding(where, f"credential (field {field!r})", text[:4] + "…")
        lower = text.lower()
        for kind, pattern, mixed in _PATTERNS if _anchored(text, lower) else ():
            for m in pattern.finditer(text):
                hit = m.group(0)
                value = m.group(m.lastindex or 0)
                if self._allowed(hit) or self._allowed(value):
                    continue
                if REDACTED in hit or (mixed and not _mixed(value)):
                    continue
                return SecretFinding(where, kind, hit[:6] + "…")
        if ("=" in text or ":" in text) and any(a in lower for a in _FIELD_ANCHORS):
            for m in _CREDENTIAL_FIELD_IN_TEXT.finditer(text):
                name, value = m.group(1), m.group(2)
                if _token_like(value) and not self._allowed(value) and REDACTED not in value:
                    return SecretFinding(where, f"credential (field {name!r})", value[:4] + "…")
        return None

    def scan(self, value: Any, where: str) -> SecretFinding | None:
        for path, text, name in _walk(value, where):
            found = self.scan_text(text, path, field=name)
            if found is not None:
                return found
        return None

    def _first(self, checks: Iterable[tuple[Any, str]]) -> SecretFinding | None:
        for value, where in checks:
            if value is None:
                continue
            found = self.scan(value, where)
            if found is not None:
                return found
        return None

    def scan_request(self, req: Request) -> SecretFinding | None:
        """The first secret in a request as it would be written (already redacted)."""
        checks: list[tuple[Any, str]] = [({k: v}, "request.query") for k, v in req.query]
        checks += [
            (req.url, "request.url"),
            (req.path, "request.path"),
            (req.headers, "request.headers"),
            (req.body, "request.body"),
        ]
        if req.raw is not None and req.body is None:
            checks.append((req.raw.decode("utf-8", "replace"), "request.raw"))
        return self._first(checks)

    def scan_interaction(self, inter: Interaction) -> SecretFinding | None:
        """The first secret anywhere in what would be written for ``inter``.

        Everything that reaches the file is looked at: URL, query, headers, bodies
        (JSON, text, and binary ones decoded leniently, since a key is ASCII even
        inside bytes), every field of every stream event, the error note and test id.
        """
        found = self.scan_request(inter.request)
        if found is not None:
            return found
        resp = inter.response
        checks: list[tuple[Any, str]] = [
            (resp.headers, "response.headers"),
            (resp.body, "response.body"),
            (resp.text, "response.text"),
        ]
        if resp.content is not None:
            checks.append((resp.content.decode("utf-8", "replace"), "response.content"))
        checks += [(resp.error, "response.error"), (inter.test_id, "test"), (inter.meta, "meta")]
        found = self._first(checks)
        if found is not None:
            return found
        fields = [
            (i, attr, text)
            for i, ev in enumerate(resp.events)
            for attr in ("data", "comment", "id", "event")
            if (text := getattr(ev, attr))
        ]
        # One anchor pass over the whole stream; only a stream that has an anchor somewhere
        # is scanned event by event (to name the event that holds the secret).
        joined = "\n".join(text for _, _, text in fields)
        lower = joined.lower()
        if not _anchored(joined, lower) and not any(a in lower for a in _FIELD_ANCHORS):
            return None
        for i, attr, text in fields:
            found = self.scan_text(text, f"response.events[{i}].{attr}")
            if found is not None:
                return found
        return None
