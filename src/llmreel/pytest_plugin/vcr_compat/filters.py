"""vcrpy's request and response filters, composed the way vcrpy composes them.

``before_record_request`` (what is stored, and what a request is matched as)
is, in order: ``filter_headers``, ``filter_query_parameters``,
``filter_post_data_parameters``, ``ignore_hosts``/``ignore_localhost`` (the
request is then not recorded or replayed: it goes to the network), and the
suite's own ``before_record_request`` hooks; each works on a deep copy, and a
hook returning None drops the request. ``before_record_response`` is
``decode_compressed_response`` and then the suite's hooks. Replacements are a
name (removed) or ``(name, value)``, where value may be None (removed), a
string, or a callable ``(key=, value=, request=)``.
"""

from __future__ import annotations

import collections.abc
import copy
import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_plus, urlencode, urlparse, urlunparse

from llmreel.formats.vcr_bodies import decompress

__all__ = ["RequestFilter", "ResponseFilter", "request_filter", "response_filter"]

RequestFilter = Callable[[Any], Any]
ResponseFilter = Callable[[Any], Any]

LOCAL_HOSTS = ("localhost", "0.0.0.0", "127.0.0.1", "::1")


def _replacements(items: Iterable[Any]) -> list[tuple[str, Any]]:
    """``name`` or ``(name, value)`` items as pairs (a bare name: removed)."""
    out: list[tuple[str, Any]] = []
    for item in items:
        name, value = (item[0], item[1]) if isinstance(item, list | tuple) else (item, None)
        out.append((str(name), value))
    return out


def _apply(key: str, old: Any, rv: Any, request: Any) -> Any:
    return rv(key=key, value=old, request=request) if callable(rv) else rv


def _headers(replacements: list[tuple[str, Any]]) -> RequestFilter:
    def run(request: Any) -> Any:
        new = request.headers.copy()
        for key, rv in replacements:
            if key in new:
                value = _apply(key, new.pop(key), rv, request)
                if value is not None:
                    new[key] = value
        request.headers = new
        return request

    return run


def _query(replacements: list[tuple[str, Any]]) -> RequestFilter:
    table = dict(replacements)

    def run(request: Any) -> Any:
        pairs: list[tuple[str, Any]] = []
        for key, old in request.query:  # sorted, as vcrpy does: the stored URI ends sorted
            if key not in table:
                pairs.append((key, old))
                continue
            value = _apply(key, old, table[key], request)
            if value is not None:
                pairs.append((key, value))
        parts = list(urlparse(request.uri))
        parts[4] = urlencode(pairs)
        request.uri = urlunparse(parts)
        return request

    return run


def _nested(data: Any, table: dict[str, Any], request: Any) -> Any:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, old in data.items():
            if key not in table:
                out[key] = _nested(old, table, request)
                continue
            value = _apply(key, old, table[key], request)
            if value is not None:
                out[key] = value
        return out
    if isinstance(data, list):
        return [_nested(item, table, request) for item in data]
    return data


def _form(body: bytes, table: dict[str, Any], request: Any) -> bytes:
    out: list[bytes] = []
    for piece in body.split(b"&"):
        key, sep, old = piece.partition(b"=")
        name = unquote_plus(key.decode("utf-8")) if sep else ""
        if not sep or (name not in table and key.decode("utf-8") not in table):
            out.append(piece)
            continue
        rv = table.get(key.decode("utf-8"), table.get(name))
        value = _apply(name, old.decode("utf-8"), rv, request)
        if value is not None:
            out.append(key + b"=" + str(value).encode("utf-8"))
    return b"&".join(out)


def _post_data(replacements: list[tuple[str, Any]], recursive: bool) -> RequestFilter:
    table = dict(replacements)

    def run(request: Any) -> Any:
        body = request.body
        # Any method with a body, as vcrpy >= 6 filters them (earlier versions: POST only).
        if not body or not isinstance(body, bytes | str):
            return request
        if request.headers.get("Content-Type") == "application/json":
            data = json.loads(body)
            if recursive:
                data = _nested(data, table, request)
            elif isinstance(data, dict):
                for key, rv in table.items():
                    if key in data:
                        value = _apply(key, data.pop(key), rv, request)
                        if value is not None:
                            data[key] = value
            request.body = json.dumps(data).encode("utf-8")
            return request
        try:
            raw = body.encode("utf-8") if isinstance(body, str) else body
            request.body = _form(raw, table, request)
        except UnicodeError:  # a binary body is not form data: nothing to replace
            pass
        return request

    return run


def _ignore_hosts(hosts: set[str]) -> RequestFilter:
    def run(request: Any) -> Any:
        return None if request.host in hosts else request

    return run


def _hooks(value: Any) -> list[Callable[[Any], Any]]:
    if not value:
        return []
    if not isinstance(value, collections.abc.Iterable):
        return [value]
    return list(value)


def request_filter(options: dict[str, Any]) -> RequestFilter:
    """The composed ``before_record_request`` of a merged ``vcr_config``."""
    functions: list[RequestFilter] = []
    if options.get("filter_headers"):
        functions.append(_headers(_replacements(options["filter_headers"])))
    if options.get("filter_query_parameters"):
        functions.append(_query(_replacements(options["filter_query_parameters"])))
    if options.get("filter_post_data_parameters"):
        recursive = bool(options.get("filter_nested_post_data_parameters"))
        replacements = _replacements(options["filter_post_data_parameters"])
        functions.append(_post_data(replacements, recursive))
    hosts = set(options.get("ignore_hosts") or ())
    if options.get("ignore_localhost"):
        hosts.update(LOCAL_HOSTS)
    if hosts:
        functions.append(_ignore_hosts(hosts))
    functions.extend(_hooks(options.get("before_record_request", options.get("before_record"))))

    def before_record_request(request: Any) -> Any:
        request = copy.deepcopy(request)
        for function in functions:
            if request is None:
                break
            request = function(request)
        return request

    return before_record_request


def _decode_response(response: Any) -> Any:
    response = copy.deepcopy(response)
    headers = response.get("headers") or {}
    name = next((k for k in headers if k.lower() == "content-encoding"), None)
    if name is None or not headers[name]:
        return response
    body = response.get("body") or {}
    data = body.get("string") or b""
    if isinstance(data, str):
        data = data.encode("utf-8")
    plain, _ = decompress(data, str(headers[name][0]), "response", "body")
    del headers[name]
    body["string"] = plain
    response["body"] = body
    length = next((k for k in headers if k.lower() == "content-length"), "content-length")
    headers[length] = [str(len(plain))]
    return response


def response_filter(options: dict[str, Any]) -> ResponseFilter:
    """The composed ``before_record_response`` of a merged ``vcr_config``."""
    functions: list[ResponseFilter] = []
    if options.get("decode_compressed_response"):
        functions.append(_decode_response)
    functions.extend(_hooks(options.get("before_record_response")))

    def before_record_response(response: Any) -> Any:
        for function in functions:
            if response is None:
                break
            response = function(response)
        return response

    return before_record_response
