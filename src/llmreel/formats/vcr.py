"""Reading vcrpy / pytest-recording cassettes (YAML or JSON) as llmreel interactions.

A vcrpy cassette is ``{"version": 1, "interactions": [{"request": {body, headers,
method, uri}, "response": {status: {code, message}, headers, body: {string}}}]}``
with header values as lists. vcrpy stores a streamed body as one string, so SSE
and NDJSON bodies are split back into events here (with the same parsers the
recorder uses); arrival times were never recorded and are set to 0. Compressed
bodies (``content-encoding: gzip``/``deflate``) are decompressed. Credential
headers are redacted on the way in, as llmreel's own recorder does.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import yaml

from llmreel.exceptions import RecordingFileError
from llmreel.model.interaction import Interaction, Request, Response
from llmreel.model.streams import make_parser, stream_kind_for
from llmreel.redaction import redact_headers, redact_query, redact_url

__all__ = ["is_vcr_document", "load_cassette", "parse_cassette"]


class _Loader(yaml.SafeLoader):
    """Safe YAML plus the python/unicode tags old (Python 2 era) vcrpy cassettes carry."""


def _py_str(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


def _py_bytes(loader: yaml.SafeLoader, node: yaml.Node) -> bytes:
    value = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    try:
        return base64.b64decode(value)
    except binascii.Error:
        return value.encode()


for _tag in ("tag:yaml.org,2002:python/unicode", "tag:yaml.org,2002:python/str"):
    _Loader.add_constructor(_tag, _py_str)
_Loader.add_constructor("tag:yaml.org,2002:python/bytes", _py_bytes)


def is_vcr_document(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("interactions"), list)


def _fail(path: str, reason: str) -> RecordingFileError:
    return RecordingFileError(path, f"vcrpy cassette: {reason}")


def _headers(raw: Any) -> list[tuple[str, str]]:
    if not isinstance(raw, dict):
        return []
    out: list[tuple[str, str]] = []
    for name, values in raw.items():
        if isinstance(values, list):
            out.extend((str(name), str(v)) for v in values)
        elif values is not None:
            out.append((str(name), str(values)))
    return out


def _as_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, dict | list):
        return orjson.dumps(value)
    return str(value).encode()


def _body_string(body: Any) -> bytes:
    """vcrpy bodies: a string, bytes, or ``{"string": ...}`` (and old httpx ``content``)."""
    if isinstance(body, dict):
        if "string" in body:
            return _as_bytes(body["string"])
        if "base64_string" in body:
            try:
                return base64.b64decode(str(body["base64_string"]))
            except binascii.Error:
                return b""
    return _as_bytes(body)


def _decompress(data: bytes, headers: list[tuple[str, str]]) -> tuple[bytes, bool]:
    enc = next((v.lower() for k, v in headers if k.lower() == "content-encoding"), "")
    if not data or enc not in ("gzip", "deflate", "x-gzip"):
        return data, False
    try:
        if enc == "deflate":
            try:
                return zlib.decompress(data), True
            except zlib.error:
                return zlib.decompress(data, -zlib.MAX_WBITS), True
        return zlib.decompress(data, 16 + zlib.MAX_WBITS), True
    except zlib.error:
        return data, False


def _parse_json(data: bytes) -> Any:
    if not data or data.strip()[:1] not in (b"{", b"["):
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def _request(doc: dict[str, Any], path: str, i: int) -> Request:
    uri = doc.get("uri") or doc.get("url")
    if not isinstance(uri, str):
        raise _fail(path, f"interactions[{i}].request.uri should be a string")
    parts = urlsplit(uri)
    raw = _body_string(doc.get("body"))
    body = _parse_json(raw)
    headers = _headers(doc.get("headers"))
    return Request(
        method=str(doc.get("method") or "GET").upper(),
        url=redact_url(uri),
        path=parts.path or "/",
        query=redact_query(parse_qsl(parts.query, keep_blank_values=True)),
        headers=redact_headers(headers),
        body=body,
        raw=None if body is not None or not raw else raw,
    )


def _response(doc: dict[str, Any], path: str, i: int) -> Response:
    if "status_code" in doc:  # cassettes written by old vcrpy httpx stubs
        status_code: Any = doc.get("status_code")
        data = _as_bytes(doc.get("content"))
    else:
        status = doc.get("status")
        status_code = status.get("code") if isinstance(status, dict) else status
        data = _body_string(doc.get("body"))
    if not isinstance(status_code, int) or isinstance(status_code, bool):
        raise _fail(path, f"interactions[{i}].response.status.code should be a number")
    headers = _headers(doc.get("headers"))
    data, decoded = _decompress(data, headers)
    skip = {"content-encoding", "content-length"} if decoded else set()
    stored = redact_headers(
        [(k, v) for k, v in headers if k.lower() not in skip], keep_volatile=True
    )
    for name in ("date", "server", "transfer-encoding", "connection", "keep-alive"):
        stored.pop(name, None)
    kind = stream_kind_for(stored.get("content-type", ""))
    if kind is not None:
        parser = make_parser(kind, 0.0)
        parser.feed(data)
        parser.close()
        for ev in parser.events:
            ev.t = 0.0  # vcrpy keeps no timing
        return Response(status=status_code, headers=stored, stream=kind, events=parser.events)
    body = _parse_json(data)
    if body is not None:
        return Response(status=status_code, headers=stored, body=body)
    if not data:
        return Response(status=status_code, headers=stored)
    try:
        return Response(status=status_code, headers=stored, text=data.decode("utf-8"))
    except UnicodeDecodeError:
        return Response(status=status_code, headers=stored, content=data)


def parse_cassette(doc: Any, path: str) -> list[Interaction]:
    """The interactions of a parsed vcrpy cassette document, in recorded order."""
    if not is_vcr_document(doc):
        raise _fail(path, "expected a mapping with an 'interactions' list")
    out: list[Interaction] = []
    for i, item in enumerate(doc["interactions"]):
        if not isinstance(item, dict):
            raise _fail(path, f"interactions[{i}] should be a mapping")
        req_doc, resp_doc = item.get("request"), item.get("response")
        if not isinstance(req_doc, dict) or not isinstance(resp_doc, dict):
            raise _fail(path, f"interactions[{i}] needs a 'request' and a 'response' mapping")
        inter = Interaction(
            request=_request(req_doc, path, i),
            response=_response(resp_doc, path, i),
            source="vcrpy",
            path=path,
            meta={"imported_from": "vcrpy"},
        )
        out.append(inter)
    return out


def load_cassette(path: str | Path) -> list[Interaction]:
    """Read a vcrpy cassette file (``.yaml``/``.yml`` or ``.json``); errors name the file."""
    p = str(path)
    try:
        data = Path(p).read_bytes()
    except OSError as exc:
        raise RecordingFileError(p, f"cannot be read ({exc.strerror or exc})") from exc
    doc: Any
    if p.endswith(".json") or data.lstrip()[:1] == b"{":
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise _fail(p, f"not valid JSON ({exc})") from exc
    else:
        try:
            doc = yaml.load(data, Loader=_Loader)  # a SafeLoader subclass
        except yaml.YAMLError as exc:
            raise _fail(p, f"not valid YAML ({exc})") from exc
    return parse_cassette(doc, p)
