"""A provider's own error answer (body and headers) for an injected ``http=STATUS`` fault.

What each API sends when it fails, so an SDK takes an injected fault for the real
thing: OpenAI's ``{"error": {"message", "type", "param", "code"}}`` with
``x-request-id`` and, on 429, its ``x-ratelimit-*`` headers; Anthropic's
``{"type": "error", "error": {"type", "message"}, "request_id"}`` with
``request-id`` and, on 429, its ``anthropic-ratelimit-*`` headers (529 is
``overloaded_error``); Ollama's ``{"error": "..."}``; Gemini's
``{"error": {"code", "message", "status"}}``. ``retry-after`` is sent when asked
for; ``x-should-retry`` (read by the openai and anthropic SDKs) says ``true`` for
the statuses those SDKs retry and ``false`` for the others, unless the spec says.
"""

from __future__ import annotations

import datetime as _dt
import http
import itertools
from typing import Any

import orjson

from llmreel.providers.error_shapes import error_body, family_of

__all__ = ["fault_error_parts"]

_ids = itertools.count(1)

# OpenAI: (type, code, message) by status.
_OPENAI = {
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
    529: ("overloaded_error", None, "Overloaded"),
}
_ANTHROPIC = {
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit."),
    500: ("api_error", "Internal server error"),
    503: ("overloaded_error", "Overloaded"),
    529: ("overloaded_error", "Overloaded"),
}
_OLLAMA = {
    429: "too many requests, please try again",
    500: "an internal error occurred",
    503: "server busy, please try again.  maximum pending requests exceeded",
}
_GEMINI = {
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report in the forum.",
    503: "The model is overloaded. Please try again later.",
}


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Overloaded" if status == 529 else "Error"


def _retried(status: int) -> bool:
    """The statuses the openai and anthropic SDKs retry by default."""
    return status in (408, 409, 429) or status >= 500


def _reset_at(seconds: float) -> str:
    at = _dt.datetime.now(_dt.UTC) + _dt.timedelta(seconds=seconds)
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def fault_error_parts(
    path: str,
    status: int,
    *,
    retry_after: str | None = None,
    should_retry: bool | None = None,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of the error ``path``'s API sends with ``status``."""
    family = family_of(path)
    note = " (injected by llmreel)"
    request_id = f"req_llmreel_fault_{next(_ids):06d}"
    headers: list[tuple[str, str]] = [("content-type", "application/json")]
    wait = float(retry_after) if retry_after is not None else 1.0
    body: Any
    if family == "anthropic":
        kind, message = _ANTHROPIC.get(status, ("api_error", _phrase(status)))
        body = {
            "type": "error",
            "error": {"type": kind, "message": message + note},
            "request_id": request_id,
        }
        headers.append(("request-id", request_id))
        if status == 429:
            headers += [
                ("anthropic-ratelimit-requests-limit", "50"),
                ("anthropic-ratelimit-requests-remaining", "0"),
                ("anthropic-ratelimit-requests-reset", _reset_at(wait)),
            ]
    elif family == "ollama":
        body = {"error": _OLLAMA.get(status, _phrase(status).lower()) + note}
    elif family == "gemini":
        body = error_body(path, status, _GEMINI.get(status, _phrase(status)) + note, "")
    else:
        kind, code, message = _OPENAI.get(status, ("api_error", None, _phrase(status)))
        body = {"error": {"message": message + note, "type": kind, "param": None, "code": code}}
        headers.append(("x-request-id", request_id))
        if status == 429:
            headers += [
                ("x-ratelimit-limit-requests", "60"),
                ("x-ratelimit-remaining-requests", "0"),
                ("x-ratelimit-reset-requests", f"{wait:g}s"),
            ]
    if retry_after is not None:
        headers.append(("retry-after", retry_after))
    if family in ("openai", "anthropic", "generic"):
        retry = _retried(status) if should_retry is None else should_retry
        headers.append(("x-should-retry", "true" if retry else "false"))
    data = orjson.dumps(body)
    headers.append(("content-length", str(len(data))))
    return status, headers, data
