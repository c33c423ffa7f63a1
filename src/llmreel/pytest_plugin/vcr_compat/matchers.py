"""vcrpy's request matchers (``match_on``), with its rules, and how a suite's own ones are called.

A matcher takes the request being made and a recorded one and either returns
True/None (match) or False, or raises ``AssertionError`` (no match, with a
reason). The built-in ones compare what their names say: ``method``, ``uri``
(``url``), ``scheme``, ``host``, ``port``, ``path``, ``query`` (sorted pairs),
``headers`` (case-insensitive), ``raw_body`` (bytes), and ``body``, which
compares JSON bodies as parsed JSON and form bodies as parsed forms when both
requests say so in their ``Content-Type``, and bytes otherwise.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from llmreel.pytest_plugin.vcr_compat.request import VcrRequest

__all__ = [
    "BUILTIN_MATCHERS",
    "DEFAULT_MATCH_ON",
    "MatcherFn",
    "matcher_results",
    "requests_match",
]

MatcherFn = Callable[[Any, Any], Any]

# vcrpy's VCR() default, which pytest-recording keeps.
DEFAULT_MATCH_ON = ("method", "scheme", "host", "port", "path", "query")


def method(r1: VcrRequest, r2: VcrRequest) -> None:
    if r1.method != r2.method:
        raise AssertionError(f"{r1.method} != {r2.method}")


def _normalized_uri(r: VcrRequest) -> str:
    # A bare host (https://example.com) and its root (https://example.com/) are one URI.
    if r.parsed_uri.path:
        return r.uri
    authority = f"{r.parsed_uri.scheme}://{r.parsed_uri.netloc}"
    if not r.uri.startswith(authority):
        return r.uri
    return authority + "/" + r.uri[len(authority) :]


def uri(r1: VcrRequest, r2: VcrRequest) -> None:
    if _normalized_uri(r1) != _normalized_uri(r2):
        raise AssertionError(f"{r1.uri} != {r2.uri}")


def scheme(r1: VcrRequest, r2: VcrRequest) -> None:
    if r1.scheme != r2.scheme:
        raise AssertionError(f"{r1.scheme} != {r2.scheme}")


def host(r1: VcrRequest, r2: VcrRequest) -> None:
    if r1.host != r2.host:
        raise AssertionError(f"{r1.host} != {r2.host}")


def port(r1: VcrRequest, r2: VcrRequest) -> None:
    if r1.port != r2.port:
        raise AssertionError(f"{r1.port} != {r2.port}")


def path(r1: VcrRequest, r2: VcrRequest) -> None:
    if (r1.path or "/") != (r2.path or "/"):
        raise AssertionError(f"{r1.path} != {r2.path}")


def query(r1: VcrRequest, r2: VcrRequest) -> None:
    if r1.query != r2.query:
        raise AssertionError(f"{r1.query} != {r2.query}")


def headers(r1: VcrRequest, r2: VcrRequest) -> None:
    if r1.headers != r2.headers:
        raise AssertionError(f"{r1.headers} != {r2.headers}")


def _bytes(body: Any) -> bytes | None:
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        return bytes(body.read())
    return bytes(body)


def raw_body(r1: VcrRequest, r2: VcrRequest) -> None:
    if _bytes(r1.body) != _bytes(r2.body):
        raise AssertionError("the request bodies differ (byte for byte)")


def _content_type(r: VcrRequest) -> str:
    value = r.headers.get("Content-Type", "")
    return (value.decode() if isinstance(value, bytes) else str(value)).lower()


def _parsed(body: bytes | None, kind: str) -> Any:
    if not body:
        return None
    if kind == "json":
        return json.loads(body)
    return urllib.parse.parse_qs(body.decode("ascii"))


def _kind(r: VcrRequest) -> str | None:
    ct = _content_type(r)
    if "application/json" in ct:
        return "json"
    if "application/x-www-form-urlencoded" in ct:
        return "form"
    return None


def body(r1: VcrRequest, r2: VcrRequest) -> None:
    b1, b2 = _bytes(r1.body), _bytes(r2.body)
    kind = _kind(r1)
    if kind is not None and kind == _kind(r2):
        try:
            t1, t2 = _parsed(b1, kind), _parsed(b2, kind)
        except ValueError:  # says JSON but is not: compared as bytes, as vcrpy does
            t1, t2 = b1, b2
    else:
        t1, t2 = b1, b2
    if t1 != t2:
        raise AssertionError("the request bodies differ")


BUILTIN_MATCHERS: dict[str, MatcherFn] = {
    "method": method,
    "uri": uri,
    "url": uri,
    "scheme": scheme,
    "host": host,
    "port": port,
    "path": path,
    "query": query,
    "headers": headers,
    "raw_body": raw_body,
    "body": body,
}


def _evaluate(matcher: MatcherFn, r1: Any, r2: Any) -> tuple[bool, str | None]:
    try:
        result = matcher(r1, r2)
    except AssertionError as exc:
        return False, str(exc) or None
    return (True if result is None else bool(result)), None


def matcher_results(
    r1: Any, r2: Any, matchers: Iterable[tuple[str, MatcherFn]]
) -> tuple[list[str], list[tuple[str, str | None]]]:
    """The names of the matchers that passed, and the failed ones with their reasons."""
    passed: list[str] = []
    failed: list[tuple[str, str | None]] = []
    for name, fn in matchers:
        ok, reason = _evaluate(fn, r1, r2)
        if ok:
            passed.append(name)
        else:
            failed.append((name, reason))
    return passed, failed


def requests_match(r1: Any, r2: Any, matchers: Iterable[tuple[str, MatcherFn]]) -> bool:
    return all(_evaluate(fn, r1, r2)[0] for _, fn in matchers)
