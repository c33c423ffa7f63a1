"""Errors in the shape each API's own clients expect, so a miss reads well in any SDK.

The openai and anthropic SDKs honour ``x-should-retry: false``, so a replay miss
fails at once instead of being retried with back-off; ollama and plain HTTP
clients see an ordinary 4xx/5xx with the explanation in the body.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

__all__ = ["ApiFamily", "error_body", "error_response_parts", "family_of"]

ApiFamily = Literal["openai", "anthropic", "ollama", "gemini", "generic"]


def family_of(path: str) -> ApiFamily:
    """Which API a path belongs to (only used to shape errors)."""
    if path.startswith("/api/"):
        return "ollama"
    if (
        path.endswith("/messages")
        or path.startswith("/v1/messages")
        or path.startswith("/v1/complete")
    ):
        return "anthropic"
    if (
        ":generateContent" in path
        or ":streamGenerateContent" in path
        or path.startswith(("/v1beta/", "/v1alpha/"))
    ):
        return "gemini"
    if path.startswith(("/v1/", "/openai/")) or path in (
        "/v1",
        "/chat/completions",
        "/completions",
        "/embeddings",
    ):
        return "openai"
    return "generic"


_GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_ANTHROPIC_TYPE = {
    400: "invalid_request_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "api_error",
}


def error_body(path: str, status: int, message: str, code: str) -> Any:
    family = family_of(path)
    if family == "ollama":
        return {"error": message}
    if family == "anthropic":
        return {
            "type": "error",
            "error": {"type": _ANTHROPIC_TYPE.get(status, "api_error"), "message": message},
        }
    if family == "gemini":
        return {
            "error": {
                "code": status,
                "message": message,
                "status": _GEMINI_STATUS.get(status, "UNKNOWN"),
            }
        }
    return {"error": {"message": message, "type": code, "param": None, "code": code}}


def error_response_parts(
    path: str, status: int, message: str, code: str, *, retry: bool = False
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body bytes of an error answered by llmreel itself."""
    body = orjson.dumps(error_body(path, status, message, code))
    headers = [
        ("content-type", "application/json"),
        ("content-length", str(len(body))),
        ("x-should-retry", "true" if retry else "false"),
        ("x-llmreel-error", code),
    ]
    return status, headers, body
