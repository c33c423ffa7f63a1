"""Keeping credentials off disk: header and query redaction, and a secret scanner.

Credentials are removed from what is written (never from what is forwarded).
Before a write, every string of the recording is scanned for key-shaped
secrets; a hit refuses the write and names the field. Values the user marks
safe are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from llmreel.matching import DEFAULT_IGNORED_QUERY

__all__ = [
    "REDACTED",
    "SecretFinding",
    "SecretScanner",
    "redact_headers",
    "redact_query",
    "redact_url",
]

REDACTED = "<redacted>"

# Request headers that carry credentials: their values are never written.
CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "cookie",
        "set-cookie",
        "x-goog-api-key",
        "openai-api-key",
        "anthropic-api-key",
        "x-auth-token",
        "x-amz-security-token",
        "x-amz-content-sha256",
        "ocp-apim-subscription-key",
    }
)

# Headers that change on every call and would only make recordings noisy.
VOLATILE_HEADERS = frozenset(
    {
        "user-agent",
        "content-length",
        "host",
        "accept-encoding",
        "connection",
        "date",
        "x-stainless-retry-count",
        "x-stainless-read-timeout",
        "x-stainless-timeout",
        "x-request-id",
        "request-id",
        "traceparent",
        "tracestate",
        "x-llmreel-cassette",
        "x-llmreel-test",
        "transfer-encoding",
        "keep-alive",
        "idempotency-key",
        "x-stainless-async",
        "x-stainless-arch",
        "x-stainless-os",
        "x-stainless-lang",
        "x-stainless-package-version",
        "x-stainless-runtime",
        "x-stainless-runtime-version",
        "x-stainless-raw-response",
        "x-stainless-helper-method",
        "x-stainless-poll-helper",
    }
)


def redact_headers(
    headers: Iterable[tuple[str, str]], *, keep_volatile: bool = False
) -> dict[str, str]:
    """Lower-cased headers fit to write: credentials redacted, per-call noise dropped."""
    out: dict[str, str] = {}
    for name, value in headers:
        low = name.lower()
        if low in CREDENTIAL_HEADERS or "api-key" in low or "secret" in low or "token" in low:
            out[low] = REDACTED
        elif low in VOLATILE_HEADERS and not keep_volatile:
            continue
        else:
            out[low] = value
    return out


def redact_query(query: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, REDACTED if k.lower() in DEFAULT_IGNORED_QUERY else v) for k, v in query]


def redact_url(url: str) -> str:
    """The URL with credential query parameters and userinfo removed."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if not parts.query:
        return urlunsplit((parts.scheme, netloc, parts.path, "", parts.fragment))
    pieces = []
    for piece in parts.query.split("&"):
        name = piece.split("=", 1)[0]
        pieces.append(f"{name}={REDACTED}" if name.lower() in DEFAULT_IGNORED_QUERY else piece)
    return urlunsplit((parts.scheme, netloc, parts.path, "&".join(pieces), parts.fragment))


# --------------------------------------------------------------------------- scanner

# Each pattern is anchored on a provider's documented prefix so ordinary text
# (and the base64 embeddings in responses) does not trip it.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Anthropic API key", re.compile(r"sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_\-]{20,}")),
    ("OpenAI API key", re.compile(r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}")),
    ("Google API key", re.compile(r"AIza[0-9A-Za-z_\-]{35}")),
    ("Google OAuth token", re.compile(r"ya29\.[0-9A-Za-z_\-]{20,}")),
    ("AWS access key id", re.compile(r"(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}")),
    (
        "AWS secret access key",
        re.compile(r"(?i)aws.{0,20}?secret.{0,20}?['\"=:\s]([A-Za-z0-9/+=]{40})"),
    ),
    ("GitHub token", re.compile(r"(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}")),
    ("GitHub fine-grained token", re.compile(r"github_pat_[A-Za-z0-9_]{60,}")),
    ("Hugging Face token", re.compile(r"hf_[A-Za-z0-9]{30,}")),
    ("Slack token", re.compile(r"xox[abpors]-[A-Za-z0-9\-]{10,}")),
    ("Stripe key", re.compile(r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,}")),
    ("Groq API key", re.compile(r"gsk_[A-Za-z0-9]{40,}")),
    ("Replicate token", re.compile(r"r8_[A-Za-z0-9]{30,}")),
    ("xAI API key", re.compile(r"xai-[A-Za-z0-9]{40,}")),
    (
        "JSON Web Token",
        re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    ),
    ("bearer token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9_\-\.=:/+]{16,}")),
    ("private key", re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----")),
)


@dataclass(frozen=True, slots=True)
class SecretFinding:
    where: str  # e.g. "request.body.messages[0].content"
    kind: str
    excerpt: str  # the match, shortened so the message itself leaks nothing


def _walk(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(str(k), f"{where}.<key>")
            yield from _walk(v, f"{where}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _walk(v, f"{where}[{i}]")


class SecretScanner:
    """Finds key-shaped secrets in strings, skipping values marked safe."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allow = frozenset(allow)

    def scan_text(self, text: str, where: str) -> SecretFinding | None:
        if len(text) < 16 or text == REDACTED:
            return None
        for kind, pattern in _PATTERNS:
            for m in pattern.finditer(text):
                hit = m.group(0)
                if hit in self.allow or any(a and a in hit for a in self.allow):
                    continue
                if kind == "bearer token" and REDACTED in hit:
                    continue
                return SecretFinding(where, kind, hit[:6] + "…")
        return None

    def scan(self, value: Any, where: str) -> SecretFinding | None:
        for path, text in _walk(value, where):
            found = self.scan_text(text, path)
            if found is not None:
                return found
        return None
