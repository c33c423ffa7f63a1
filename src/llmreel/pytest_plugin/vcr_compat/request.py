"""The request object a vcrpy suite's code sees: ``vcr.requests[0].body``, matchers, hooks.

:class:`VcrRequest` has the interface of ``vcr.request.Request`` (``method``,
``uri``/``url``, ``body`` as bytes, ``headers`` as a case-insensitive
:class:`HeadersDict`, ``scheme``, ``host``, ``port``, ``path``, ``query``,
``_to_dict``/``_from_dict``), so ``before_record_request`` hooks, custom
matchers, custom serializers and persisters, and assertions in tests work on it
unchanged, without vcrpy installed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from contextlib import suppress
from typing import Any
from urllib.parse import ParseResult, parse_qsl, urlparse

import orjson

from llmreel.formats.vcr_bodies import body_bytes
from llmreel.model.interaction import Request

__all__ = ["HeadersDict", "VcrRequest", "request_from_live", "request_from_stored"]


class HeadersDict(MutableMapping[str, Any]):
    """Case-insensitive headers; a list value keeps its first item (vcrpy's quirk), and a
    name keeps the case it was first set with."""

    def __init__(self, data: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> None:
        self._store: dict[str, tuple[str, Any]] = {}
        if data is not None:
            items = data.items() if isinstance(data, Mapping) else data
            for key, value in items:
                self[key] = value

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(value, list | tuple):
            value = value[0] if value else ""
        old = self._store.get(key.lower())
        self._store[key.lower()] = (old[0] if old else key, value)

    def __getitem__(self, key: str) -> Any:
        return self._store[key.lower()][1]

    def __delitem__(self, key: str) -> None:
        del self._store[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._store.values())

    def __len__(self) -> int:
        return len(self._store)

    def lower_items(self) -> Iterator[tuple[str, Any]]:
        return ((low, pair[1]) for low, pair in self._store.items())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        theirs = other if isinstance(other, HeadersDict) else HeadersDict(other)
        return dict(self.lower_items()) == dict(theirs.lower_items())

    __hash__ = None  # type: ignore[assignment]

    def copy(self) -> HeadersDict:
        return HeadersDict(self._store.values())

    def __repr__(self) -> str:
        return str(dict(self.items()))


class VcrRequest:
    """One request as vcrpy represents it (see the module docstring)."""

    def __init__(self, method: str, uri: str, body: Any, headers: Any) -> None:
        self.method = method
        self.uri = uri
        self.body = body
        self.headers = headers

    @property
    def uri(self) -> str:
        return self._uri

    @uri.setter
    def uri(self, uri: str) -> None:
        self._uri = uri
        self.parsed_uri: ParseResult = urlparse(uri)

    @property
    def headers(self) -> HeadersDict:
        return self._headers

    @headers.setter
    def headers(self, value: Any) -> None:
        self._headers = value if isinstance(value, HeadersDict) else HeadersDict(value or {})

    @property
    def body(self) -> bytes | None:
        return self._body

    @body.setter
    def body(self, value: Any) -> None:
        self._body = value.encode("utf-8") if isinstance(value, str) else value

    @property
    def scheme(self) -> str:
        return self.parsed_uri.scheme

    @property
    def host(self) -> str | None:
        return self.parsed_uri.hostname

    @property
    def port(self) -> int | None:
        port = self.parsed_uri.port
        if port is None:
            with suppress(KeyError):
                port = {"https": 443, "http": 80}[self.parsed_uri.scheme]
        return port

    @property
    def path(self) -> str:
        return self.parsed_uri.path

    @property
    def query(self) -> list[tuple[str, str]]:
        return sorted(parse_qsl(self.parsed_uri.query))

    @property
    def url(self) -> str:
        return self.uri

    @property
    def protocol(self) -> str:
        return self.scheme

    def __str__(self) -> str:
        return f"<Request ({self.method}) {self.uri}>"

    __repr__ = __str__

    def _to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "uri": self.uri,
            "body": self.body,
            "headers": {k: [v] for k, v in self.headers.items()},
        }

    @classmethod
    def _from_dict(cls, dct: dict[str, Any]) -> VcrRequest:
        return cls(**dct)


def request_from_stored(doc: Any, path: str, where: str) -> VcrRequest:
    """A request of a cassette file: a ``{method, uri, body, headers}`` mapping (any body
    form :mod:`llmreel.formats.vcr_bodies` reads), or an object a custom persister
    returned (``vcr.request.Request`` and alikes), read by attribute."""
    if isinstance(doc, dict):
        body = body_bytes(doc, path, where)
        method, uri = str(doc.get("method") or "GET"), str(doc.get("uri") or "")
        return VcrRequest(method, uri, body, _header_pairs(doc.get("headers")))
    raw: Any = getattr(doc, "body", None)
    if hasattr(raw, "read"):
        raw = raw.read()
    headers = getattr(doc, "headers", {}) or {}
    return VcrRequest(str(doc.method), str(doc.uri), raw, list(headers.items()))


def _header_pairs(raw: Any) -> list[tuple[str, Any]]:
    if not isinstance(raw, dict):
        return []
    return [(str(k), v) for k, v in raw.items()]


def request_from_live(request: Request) -> VcrRequest:
    """The vcrpy view of a request the code under test is sending right now."""
    body: bytes | None
    if request.wire is not None:
        body = request.wire
    elif request.raw is not None:
        body = request.raw
    elif request.body is not None:
        # Adapters keep the bytes as sent (``wire``); this is only for hand-made requests.
        body = orjson.dumps(request.body)
    else:
        body = None
    return VcrRequest(request.method, request.url, body, list(request.headers.items()))
