"""Reading vcrpy / pytest-recording cassettes (YAML or JSON) as llmreel interactions.

A vcrpy cassette is ``{"version": 1, "interactions": [{"request": {body, headers,
method, uri}, "response": {status: {code, message}, headers, body: {string}}}]}``
with header values as lists. vcrpy stores a streamed body as one string, so SSE
and NDJSON bodies are split back into events here (with the same parsers the
recorder uses); arrival times were never recorded and are set to 0. Every body
form suites use (``body``, ``body.string``, ``body.base64_string``,
``parsed_body``) and compressed bodies are read by :mod:`.vcr_bodies`, which
refuses an unknown form by name rather than dropping it. Credential headers are
redacted on the way in, as llmreel's own recorder does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import yaml

from llmreel.exceptions import RecordingFileError
from llmreel.formats.vcr_bodies import body_bytes, decompress
from llmreel.formats.vcr_serializers import VcrYamlLoader
from llmreel.model.interaction import Interaction, Request, Response
from llmreel.model.streams import make_parser, stream_kind_for
from llmreel.redaction import redact_headers, redact_query, redact_url

__all__ = [
    "is_vcr_document",
    "load_cassette",
    "parse_cassette",
    "request_from_vcr",
    "response_from_vcr",
]


def is_vcr_document(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("interactions"), list)


def _fail(path: str, reason: str) -> RecordingFileError:
    return RecordingFileError(path, f"vcrpy cassette: {reason}")


def _headers(raw: Any) -> list[tuple[str, str]]:
    if not isinstance(raw, dict):
        return []
    out: list[tuple[str, str]] = []
    for name, values in raw.items():
        if isinstance(values, list | tuple):
            out.extend((str(name), str(v)) for v in values)
        elif values is not None:
            out.append((str(name), str(values)))
    return out


def _parse_json(data: bytes) -> Any:
    if not data or data.strip()[:1] not in (b"{", b"["):
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def request_from_vcr(method: str, uri: str, data: bytes, headers: list[tuple[str, str]]) -> Request:
    """The llmreel view of a vcrpy request (credentials redacted, as on disk)."""
    parts = urlsplit(uri)
    body = _parse_json(data)
    return Request(
        method=(method or "GET").upper(),
        url=redact_url(uri),
        path=parts.path or "/",
        query=redact_query(parse_qsl(parts.query, keep_blank_values=True)),
        headers=redact_headers(headers),
        body=body,
        raw=None if body is not None or not data else data,
    )


def _request(doc: dict[str, Any], path: str, where: str) -> Request:
    uri = doc.get("uri") or doc.get("url")
    if not isinstance(uri, str):
        raise _fail(path, f"{where}.uri should be a string")
    data = body_bytes(doc, path, where)
    method = str(doc.get("method") or "GET")
    return request_from_vcr(method, uri, data, _headers(doc.get("headers")))


def response_from_vcr(doc: dict[str, Any], path: str, where: str) -> Response:
    """A vcrpy response mapping (``status``, ``headers``, ``body``) as an llmreel response:
    decompressed, streams split back into events (arrival times 0: vcrpy keeps none)."""
    if "status_code" in doc:  # cassettes written by old vcrpy httpx stubs
        status_code: Any = doc.get("status_code")
        data = body_bytes({"body": doc.get("content")}, path, where)
    else:
        status = doc.get("status")
        status_code = status.get("code") if isinstance(status, dict) else status
        data = body_bytes(doc, path, where)
    if not isinstance(status_code, int) or isinstance(status_code, bool):
        raise _fail(path, f"{where}.status.code should be a number")
    headers = _headers(doc.get("headers"))
    encoding = next((v for k, v in headers if k.lower() == "content-encoding"), "")
    data, _ = decompress(data, encoding, path, f"{where}.body")
    # The body is plain now (decoded here, or stored already decoded): its framing goes too.
    skip = {"content-encoding", "content-length"} if encoding else set()
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
    """The interactions of a parsed vcrpy cassette document, in recorded order.

    ``meta["vcr"]`` keeps what the llmreel format has no field for: the position in
    the cassette (``index``: the order of different requests), the reason phrase, and
    the cassette's ``metadata`` (vcrpy 9) on the first interaction.
    """
    if not is_vcr_document(doc):
        raise _fail(path, "expected a mapping with an 'interactions' list")
    out: list[Interaction] = []
    metadata = doc.get("metadata")
    for i, item in enumerate(doc["interactions"]):
        where = f"interactions[{i}]"
        if not isinstance(item, dict):
            raise _fail(path, f"{where} should be a mapping")
        req_doc, resp_doc = item.get("request"), item.get("response")
        if not isinstance(req_doc, dict) or not isinstance(resp_doc, dict):
            raise _fail(path, f"{where} needs a 'request' and a 'response' mapping")
        vcr_meta: dict[str, Any] = {"index": i}
        status = resp_doc.get("status")
        if isinstance(status, dict) and status.get("message"):
            vcr_meta["reason"] = str(status["message"])
        if i == 0 and metadata:
            vcr_meta["metadata"] = metadata
        inter = Interaction(
            request=_request(req_doc, path, f"{where}.request"),
            response=response_from_vcr(resp_doc, path, f"{where}.response"),
            source="vcrpy",
            path=path,
            meta={"imported_from": "vcrpy", "vcr": vcr_meta},
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
            doc = yaml.load(data, Loader=VcrYamlLoader)  # a SafeLoader subclass
        except yaml.YAMLError as exc:
            raise _fail(p, f"not valid YAML ({exc})") from exc
    return parse_cassette(doc, p)
