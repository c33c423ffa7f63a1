"""llmreel's own file format (version 1): valid JSON, stable key order, one event per line.

A file looks like::

    {"llmreel":1,"key":"…","pos":0,"recorded_at":"…","normalizers":[],"test":null,
    "rules":["multipart-form@1","null-fields@1",…],
    "request":{"method":"POST","url":"…","path":"/v1/chat/completions","headers":{…},"body":{…}},
    "response":{"status":200,"headers":{…},"stream":"sse","complete":true,"events":[
    {"t":0.0123,"json":{…}},
    {"t":0.0456,"data":"[DONE]"}
    ]}}

An event's payload is stored as ``json`` when it is JSON that re-serializes to
exactly the bytes that were received (so the file is readable and still
byte-faithful), otherwise verbatim as ``data``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from llmreel.exceptions import FormatVersionError, RecordingFileError
from llmreel.model.interaction import Event, Interaction, Request, Response

__all__ = ["FORMAT_VERSION", "VERSION_FIELD", "dumps", "from_document"]

FORMAT_VERSION = 1
VERSION_FIELD = "llmreel"


# --------------------------------------------------------------------------- writing


def _event_doc(ev: Event) -> dict[str, Any]:
    doc: dict[str, Any] = {"t": ev.t}
    if ev.event is not None:
        doc["event"] = ev.event
    if ev.id is not None:
        doc["id"] = ev.id
    if ev.retry is not None:
        doc["retry"] = ev.retry
    if ev.comment is not None:
        doc["comment"] = ev.comment
    if ev.data is not None:
        data = ev.data
        parsed: Any = None
        if data[:1] in ("{", "["):
            try:
                parsed = orjson.loads(data)
            except orjson.JSONDecodeError:
                parsed = None
        if parsed is not None and orjson.dumps(parsed) == data.encode():
            doc["json"] = parsed
        else:
            doc["data"] = data
    return doc


def _body_fields(doc: dict[str, Any], body: Any, text: str | None, content: bytes | None) -> None:
    if content is not None:
        doc["base64"] = base64.b64encode(content).decode()
    elif text is not None:
        doc["text"] = text
    elif body is not None:
        doc["body"] = body


def dumps(inter: Interaction) -> bytes:
    req, resp = inter.request, inter.response
    head: dict[str, Any] = {
        VERSION_FIELD: FORMAT_VERSION,
        "key": inter.key,
        "pos": inter.position,
        "recorded_at": inter.recorded_at,
        "normalizers": list(inter.normalizers),
        "test": inter.test_id,
    }
    if inter.rules:
        # The key scheme: which canonical rules keyed it. Keys are recomputed from the
        # request on load, so files keyed under other rules (or none) still match.
        head["rules"] = list(inter.rules)
    if inter.any_body:
        # Imported llama-stack calls recorded without arguments: any body matches.
        head["any_body"] = True
    if inter.meta:
        head["meta"] = inter.meta
    request: dict[str, Any] = {"method": req.method, "url": req.url, "path": req.path}
    if req.query:
        request["query"] = [list(q) for q in req.query]
    request["headers"] = req.headers
    raw_text: str | None = None
    raw_bytes: bytes | None = None
    if req.body is None and req.raw:
        try:
            raw_text = req.raw.decode("utf-8")
        except UnicodeDecodeError:
            raw_bytes = req.raw
    _body_fields(request, req.body, raw_text, raw_bytes)

    response: dict[str, Any] = {"status": resp.status, "headers": resp.headers}
    if resp.stream is not None:
        response["stream"] = resp.stream
    response["complete"] = resp.complete
    if resp.error is not None:
        response["error"] = resp.error
    _body_fields(response, resp.body, resp.text, resp.content)

    out = bytearray(orjson.dumps(head)[:-1])
    out += b',\n"request":' + orjson.dumps(request)
    out += b',\n"response":' + orjson.dumps(response)[:-1]
    if resp.stream is not None:
        out += b',"events":['
        out += b",".join(b"\n" + orjson.dumps(_event_doc(ev)) for ev in resp.events)
        out += b"\n]"
    out += b"}}\n"
    return bytes(out)


# --------------------------------------------------------------------------- reading


def _want(
    doc: dict[str, Any], name: str, kind: type | tuple[type, ...], path: str, where: str
) -> Any:
    value = doc.get(name)
    if not isinstance(value, kind):
        found = "missing" if name not in doc else f"a {type(value).__name__}"
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise RecordingFileError(path, f"{where}.{name} should be {names}, found {found}")
    return value


def _body_of(doc: dict[str, Any], path: str, where: str) -> tuple[Any, str | None, bytes | None]:
    if "base64" in doc:
        try:
            return (
                None,
                None,
                base64.b64decode(_want(doc, "base64", str, path, where), validate=True),
            )
        except binascii.Error as exc:
            raise RecordingFileError(path, f"{where}.base64 is not valid base64") from exc
    if "text" in doc:
        return None, _want(doc, "text", str, path, where), None
    return doc.get("body"), None, None


def _event_of(doc: Any, path: str, i: int) -> Event:
    where = f"response.events[{i}]"
    if not isinstance(doc, dict):
        raise RecordingFileError(path, f"{where} should be an object")
    t = doc.get("t", 0.0)
    if not isinstance(t, int | float) or isinstance(t, bool):
        raise RecordingFileError(path, f"{where}.t should be a number of seconds")
    if "json" in doc:
        data: str | None = orjson.dumps(doc["json"]).decode()
    else:
        data = doc.get("data")
        if data is not None and not isinstance(data, str):
            raise RecordingFileError(path, f"{where}.data should be a string")
    for name in ("event", "id", "comment"):
        if doc.get(name) is not None and not isinstance(doc[name], str):
            raise RecordingFileError(path, f"{where}.{name} should be a string")
    retry = doc.get("retry")
    return Event(
        t=float(t),
        data=data,
        event=doc.get("event"),
        id=doc.get("id"),
        retry=retry if isinstance(retry, int) else None,
        comment=doc.get("comment"),
    )


def from_document(doc: dict[str, Any], path: str) -> Interaction:
    version = doc.get(VERSION_FIELD)
    if not isinstance(version, int) or isinstance(version, bool):
        raise RecordingFileError(path, f"format version {version!r} is not a number")
    if version > FORMAT_VERSION or version < 1:
        raise FormatVersionError(path, version, FORMAT_VERSION)
    req_doc = _want(doc, "request", dict, path, "file")
    resp_doc = _want(doc, "response", dict, path, "file")
    method = _want(req_doc, "method", str, path, "request")
    url = req_doc.get("url", "")
    req_path = _want(req_doc, "path", str, path, "request")
    headers = req_doc.get("headers") or {}
    if not isinstance(headers, dict):
        raise RecordingFileError(path, "request.headers should be an object")
    query_doc = req_doc.get("query") or []
    if not isinstance(query_doc, list) or not all(
        isinstance(q, list) and len(q) == 2 for q in query_doc
    ):
        raise RecordingFileError(path, "request.query should be a list of [name, value] pairs")
    body, text, content = _body_of(req_doc, path, "request")
    raw = content if content is not None else text.encode() if text is not None else None
    request = Request(
        method=method,
        url=str(url),
        path=req_path,
        query=[(str(k), str(v)) for k, v in query_doc],
        headers={str(k): str(v) for k, v in headers.items()},
        body=body,
        raw=raw,
    )
    status = _want(resp_doc, "status", int, path, "response")
    # 0 means no HTTP response came at all (connection refused, timeout): see Response.
    if isinstance(status, bool) or not (100 <= status <= 599 or status == 0):
        # No HTTP stack can send anything else; catch it here, not mid-replay.
        raise RecordingFileError(path, f"response.status {status!r} is not an HTTP status")
    resp_headers = resp_doc.get("headers") or {}
    if not isinstance(resp_headers, dict):
        raise RecordingFileError(path, "response.headers should be an object")
    stream = resp_doc.get("stream")
    if stream not in (None, "sse", "ndjson"):
        raise RecordingFileError(path, f"response.stream {stream!r} is not 'sse' or 'ndjson'")
    events: list[Event] = []
    if stream is not None:
        ev_docs = _want(resp_doc, "events", list, path, "response")
        events = [_event_of(e, path, i) for i, e in enumerate(ev_docs)]
    rbody, rtext, rcontent = _body_of(resp_doc, path, "response")
    response = Response(
        status=status,
        headers={str(k): str(v) for k, v in resp_headers.items()},
        body=rbody,
        text=rtext,
        content=rcontent,
        stream=stream,
        events=events,
        complete=bool(resp_doc.get("complete", True)),
        error=resp_doc.get("error"),
    )
    pos = doc.get("pos", 0)
    normalizers = doc.get("normalizers") or []
    rules = doc.get("rules") or []
    meta = doc.get("meta") or {}
    return Interaction(
        request=request,
        response=response,
        key=str(doc.get("key", "")),
        position=pos if isinstance(pos, int) and pos >= 0 else 0,
        recorded_at=str(doc.get("recorded_at", "")),
        normalizers=tuple(str(n) for n in normalizers) if isinstance(normalizers, list) else (),
        rules=tuple(str(r) for r in rules) if isinstance(rules, list) else (),
        test_id=doc.get("test") if isinstance(doc.get("test"), str) else None,
        source="llmreel",
        any_body=doc.get("any_body") is True,
        path=path,
        meta=meta if isinstance(meta, dict) else {},
    )
