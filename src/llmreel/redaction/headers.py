"""Keeping credentials off disk: header, query and URL redaction.

Credentials are removed from what is written (never from what is forwarded).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

from llmreel.matching import DEFAULT_IGNORED_QUERY

__all__ = [
    "CREDENTIAL_HEADERS",
    "REDACTED",
    "VOLATILE_HEADERS",
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

# Any header whose name holds one of these is treated as a credential too.
_CREDENTIAL_HEADER_PARTS = (
    "api-key",
    "apikey",
    "secret",
    "token",
    "password",
    "auth",
    "credential",
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
        "x-llmreel-fault",
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
        if low in CREDENTIAL_HEADERS or any(part in low for part in _CREDENTIAL_HEADER_PARTS):
            out[low] = REDACTED
        elif low in VOLATILE_HEADERS and not keep_volatile:
            continue
        else:
            out[low] = value
    return out


def redact_query(
    query: Iterable[tuple[str, str]], names: Iterable[str] = DEFAULT_IGNORED_QUERY
) -> list[tuple[str, str]]:
    """Query pairs with the values of ``names`` (lower-case) redacted.

    Only parameters the matcher ignores may be redacted: a redacted value that took
    part in the key would stop the recording from matching on replay.
    """
    drop = frozenset(names)
    return [(k, REDACTED if k.lower() in drop else v) for k, v in query]


def redact_url(url: str, names: Iterable[str] = DEFAULT_IGNORED_QUERY) -> str:
    """The URL with credential query parameters (``names``) and userinfo removed."""
    drop = frozenset(names)
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if not parts.query:
        return urlunsplit((parts.scheme, netloc, parts.path, "", parts.fragment))
    pieces = []
    for piece in parts.query.split("&"):
        name = piece.split("=", 1)[0]
        pieces.append(f"{name}={REDACTED}" if unquote(name).lower() in drop else piece)
    return urlunsplit((parts.scheme, netloc, parts.path, "&".join(pieces), parts.fragment))


# --------------------------------------------------------------------------- scanner
