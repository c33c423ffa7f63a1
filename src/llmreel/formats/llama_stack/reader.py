"""Reading llama-stack's test recordings (both generations) as wire-level interactions.

llama-stack's recorder patched SDK methods, so its files hold the SDK call's
arguments and the parsed response objects (``{"__type__", "__data__"}``), not
wire bytes. This module bridges that to what the SDK really sends and expects:

- the path is the logical ``endpoint`` (the ``url`` of the openai entries has a
  doubled ``/v1/v1`` from joining the base URL and the endpoint);
- list endpoints recorded as ``POST`` are ``GET`` without a body on the wire;
- ollama's ``embed`` (``input``) was recorded under ``/api/embeddings`` but is
  sent to ``/api/embed``;
- the openai SDK asks for embeddings as base64 unless told otherwise, so a
  recording without ``encoding_format`` is keyed with ``"base64"``; it is still
  answered with the recorded float lists, which the SDK passes through exactly;
- the ollama client always sends some defaults (``stream: false``, ``tools: []``),
  drops top-level ``None`` kwargs and validates ``messages``/``tools`` into its own
  models (unknown keys and empty values vanish) while ``options``/``format`` go
  out verbatim: the key is computed from that wire body;
- ``extra_body`` is merged into the body, as the SDK does; ``extra_query`` becomes the
  request's query parameters (IBM watsonx model lists carry ``project_id`` there, which
  the matcher ignores, as llama-stack's own hash does);
- a chat call recorded under ``/v1/completions`` (its body has ``messages`` and its
  answer is ``ChatCompletion``/``ChatCompletionChunk`` objects) was a
  ``chat.completions.create`` call: the answer's type tells the endpoint;
- streams become SSE (openai) or NDJSON (ollama) events; recorded provider
  errors become the HTTP error the provider sent (a null error body stays null);
  a stream that failed midway replays its chunks, then the in-stream error;
- raw HTTP recordings (``request.payload`` and a list of SSE lines, written by
  the 2026 recorder for e.g. Anthropic ``/v1/messages``) are replayed as is.
"""

from __future__ import annotations

import re
import struct
import time
from typing import Any
from urllib.parse import urlsplit

from llmreel.exceptions import RecordingFileError, UnsupportedRecordingError
from llmreel.formats.llama_stack.ollama import ollama_wire_body
from llmreel.model.interaction import (
    Event,
    Interaction,
    Request,
    Response,
    StreamKind,
    dumps_json,
)
from llmreel.model.streams import SseParser

__all__ = ["GET_ENDPOINTS", "from_document", "wire_request"]

# Endpoints whose SDK call is a GET without a body, though recorded as POST.
GET_ENDPOINTS = frozenset({"/v1/models", "/api/tags", "/api/ps", "/api/version", "/models"})

# Call options the openai SDK consumes itself; they never reach the wire body.
_SDK_OPTIONS = ("extra_headers", "extra_query", "timeout")


def _fail(path: str, reason: str) -> RecordingFileError:
    return RecordingFileError(path, f"llama-stack recording: {reason}")


# Answer types that only chat.completions.create returns.
_CHAT_TYPES = ("openai.types.chat.chat_completion.", "openai.types.chat.chat_completion_chunk.")


def _recorded_endpoint(req: dict[str, Any], resp: dict[str, Any]) -> Any:
    """The endpoint the SDK call really used: a chat answer means a chat call."""
    endpoint = req.get("endpoint")
    body = req.get("body")
    if endpoint == "/v1/completions" and isinstance(body, dict) and "messages" in body:
        answer = resp.get("body")
        first = answer[0] if isinstance(answer, list) and answer else answer
        if _type(first).startswith(_CHAT_TYPES):
            return "/v1/chat/completions"
    return endpoint


def _query(extra: Any) -> list[tuple[str, str]]:
    """``extra_query`` as the SDK sends it: one parameter per value, values as strings."""
    if not isinstance(extra, dict):
        return []
    out: list[tuple[str, str]] = []
    for k, v in extra.items():
        for item in v if isinstance(v, list) else [v]:
            if item is None:
                continue
            text = ("true" if item else "false") if isinstance(item, bool) else str(item)
            out.append((str(k), text))
    return out


def wire_request(
    req: dict[str, Any], path: str, resp: dict[str, Any] | None = None
) -> tuple[Request, bool]:
    """The wire request an SDK call recorded by llama-stack sends; and whether any body matches.

    ``resp`` (the recorded answer) corrects an endpoint the recorder mislabelled.
    """
    url = req.get("url") or ""
    if not isinstance(url, str):
        raise _fail(path, "request.url should be a string")
    method = str(req.get("method") or "POST").upper()
    if "payload" in req and "body" not in req:
        # Raw HTTP recording: url, method and payload are the wire values.
        parts = urlsplit(url)
        body = req.get("payload")
        return Request(method=method, url=url, path=parts.path or "/", body=body), False

    endpoint = (_recorded_endpoint(req, resp) if resp else req.get("endpoint")) or ""
    endpoint = endpoint or urlsplit(url).path or "/"
    if not isinstance(endpoint, str):
        raise _fail(path, "request.endpoint should be a string")
    body = req.get("body")
    if body is not None and not isinstance(body, dict):
        raise _fail(path, f"request.body should be an object, found {type(body).__name__}")
    body = dict(body or {})
    query = _query(body.get("extra_query"))
    for opt in _SDK_OPTIONS:
        body.pop(opt, None)
    extra = body.pop("extra_body", None)
    if isinstance(extra, dict):
        body.update(extra)

    any_body = False
    wire_body: Any = body
    if endpoint in GET_ENDPOINTS:
        method, wire_body = "GET", None
    elif endpoint.startswith("/api/"):
        wire_body, any_body = ollama_wire_body(endpoint, body)
        if endpoint == "/api/embeddings" and "input" in body:
            endpoint = "/api/embed"
    elif endpoint.endswith("/embeddings") and "encoding_format" not in body:
        # The openai SDK asks for base64 unless told otherwise (and decodes only strings,
        # so the recorded float lists are answered as they are).
        wire_body = {**body, "encoding_format": "base64"}
    return Request(method=method, url=url, path=endpoint, query=query, body=wire_body), any_body


def _data(item: Any) -> Any:
    if isinstance(item, dict) and "__data__" in item:
        return item["__data__"]
    return item


def _type(item: Any) -> str:
    if isinstance(item, dict):
        t = item.get("__type__")
        if isinstance(t, str):
            return t
    return ""


def _is_ollama(items: list[Any], endpoint: str) -> bool:
    types = {str(i.get("__type__", "")) for i in items if isinstance(i, dict)}
    if any(t.startswith("ollama.") for t in types):
        return True
    return not any(t.startswith("openai.") for t in types) and endpoint.startswith("/api/")


_TRANSPORT_ERRORS = frozenset(
    {
        "APIConnectionError",
        "APITimeoutError",
        "ConnectError",
        "ConnectTimeout",
        "ReadTimeout",
        "TimeoutException",
        "ConnectionError",
        "ReadError",
        "RemoteProtocolError",
    }
)


def _error_response(resp: dict[str, Any], endpoint: str, ollama: bool) -> Response:
    exc = resp.get("exception_data")
    exc = exc if isinstance(exc, dict) else {}
    if exc.get("type") in _TRANSPORT_ERRORS and not isinstance(exc.get("status_code"), int):
        # No HTTP response ever came: replayed as the same transport failure.
        kind = "timeout" if "Timeout" in str(exc.get("type")) else "connection failed"
        return Response(status=0, error=f"{kind}: {exc.get('message') or exc.get('type')}")
    status = exc.get("status_code")
    if not isinstance(status, int) or not 400 <= status <= 599:
        status = 500
    err_body = exc.get("body")
    message = exc.get("message") or resp.get("exception_message") or "error"
    if ollama:
        text = err_body.get("error") if isinstance(err_body, dict) else None
        # str(ollama.ResponseError) appends " (status code: N)"; the wire body had no suffix.
        body: Any = {"error": text or re.sub(r" \(status code: \d+\)$", "", str(message))}
    elif endpoint == "/v1/messages":
        body = {"type": "error", "error": err_body or {"type": "api_error", "message": message}}
    elif isinstance(err_body, dict) and "error" in err_body:
        body = err_body
    elif err_body is None and isinstance(exc.get("status_code"), int):
        # The provider answered this status with a JSON ``null`` (or its ``error`` was
        # null): the SDK's ``exc.body`` is then None, as recorded.
        return Response(status=status, headers={"content-type": "application/json"}, text="null")
    else:
        body = {
            "error": err_body if err_body is not None else {"message": message, "type": "api_error"}
        }
    return Response(status=status, headers={"content-type": "application/json"}, body=body)


def _broken_stream(resp: dict[str, Any], endpoint: str, ollama: bool) -> Response | None:
    """A stream that failed after it started: the chunks that arrived, then the error.

    The SDKs raise these from an error inside a 200 stream, not from an HTTP status:
    ollama's ``ResponseError`` then has status code -1 (an ``{"error": ...}`` line),
    openai's is a bare ``APIError`` (a ``data: {"error": ...}`` event, no status).
    """
    body = resp.get("body")
    exc = resp.get("exception_data")
    if not resp.get("is_streaming") or not isinstance(exc, dict):
        return None
    items = body if isinstance(body, list) else []
    message = str(exc.get("message") or resp.get("exception_message") or "error")
    err: Any
    stream: StreamKind
    if ollama and exc.get("status_code") == -1:
        err, stream, ctype = message, "ndjson", "application/x-ndjson"
    elif not ollama and exc.get("type") == "APIError" and "status_code" not in exc:
        err = exc.get("body") if isinstance(exc.get("body"), dict) else {"message": message}
        stream, ctype = "sse", "text/event-stream"
    else:
        return None
    events = [Event(t=0.0, data=_json(_data(i))) for i in items]
    events.append(Event(t=0.0, data=_json({"error": err})))
    return Response(status=200, headers={"content-type": ctype}, stream=stream, events=events)


def _raw_sse(lines: list[Any]) -> list[Event]:
    parser = SseParser(time.perf_counter())
    text = "\n".join(str(line) for line in lines)
    if not text.endswith("\n\n"):
        text += "\n\n"
    parser.feed(text.encode())
    parser.close()
    for ev in parser.events:
        ev.t = 0.0
    return parser.events


def wire_response(req: Request, resp: dict[str, Any], path: str, raw: bool) -> Response:
    endpoint = req.path
    body = resp.get("body")
    if resp.get("is_exception"):
        items = body if isinstance(body, list) else [body]
        ollama = _is_ollama(items, endpoint)
        broken = _broken_stream(resp, endpoint, ollama)
        return broken or _error_response(resp, endpoint, ollama)
    streaming = bool(resp.get("is_streaming"))
    if raw:
        if streaming and isinstance(body, list):
            return Response(
                status=200,
                headers={"content-type": "text/event-stream"},
                stream="sse",
                events=_raw_sse(body),
            )
        return Response(status=200, headers={"content-type": "application/json"}, body=body)
    if req.method == "GET":
        # List endpoints: some recorder versions stored the page items as a "stream".
        if isinstance(body, list):
            data = [_data(i) for i in body]
            wire: Any = (
                {"models": data} if endpoint == "/api/tags" else {"object": "list", "data": data}
            )
        else:
            wire = _data(body)
        return Response(status=200, headers={"content-type": "application/json"}, body=wire)
    if streaming:
        if not isinstance(body, list):
            raise _fail(path, "response.is_streaming is true but response.body is not a list")
        if _is_ollama(body, endpoint):
            events = [Event(t=0.0, data=_json(_data(i))) for i in body]
            return Response(
                status=200,
                headers={"content-type": "application/x-ndjson"},
                stream="ndjson",
                events=events,
            )
        events = []
        for item in body:
            data = _data(item)
            # Responses API streams name each event after its type; chat streams don't.
            name = (
                data.get("type")
                if endpoint.endswith("/responses") and isinstance(data, dict)
                else None
            )
            events.append(Event(t=0.0, data=_json(data), event=name))
        if not endpoint.endswith("/responses"):
            events.append(Event(t=0.0, data="[DONE]"))
        return Response(
            status=200, headers={"content-type": "text/event-stream"}, stream="sse", events=events
        )
    if isinstance(body, list):
        return Response(
            status=200,
            headers={"content-type": "application/json"},
            body={"object": "list", "data": [_data(i) for i in body]},
        )
    data = _data(body)
    return Response(status=200, headers={"content-type": "application/json"}, body=data)


def _json(value: Any) -> str:
    return dumps_json(value).decode()


def from_document(doc: dict[str, Any], path: str) -> Interaction:
    req_doc = doc.get("request")
    resp_doc = doc.get("response")
    if not isinstance(req_doc, dict) or not isinstance(resp_doc, dict):
        raise _fail(path, "'request' and 'response' should be objects")
    raw = "payload" in req_doc and "body" not in req_doc
    request, any_body = wire_request(req_doc, path, resp_doc)
    try:
        response = wire_response(request, resp_doc, path, raw)
    except (TypeError, ValueError, struct.error) as exc:
        raise UnsupportedRecordingError(
            path, f"llama-stack response cannot be replayed: {exc}"
        ) from exc
    meta: dict[str, Any] = {}
    alt = _alt_path(req_doc, request.path)
    if alt:
        meta["alt_path"] = alt
    test_id = doc.get("test_id")
    if not isinstance(test_id, str):
        test_id = req_doc.get("test_id") if isinstance(req_doc.get("test_id"), str) else None
    return Interaction(
        request=request,
        response=response,
        test_id=test_id,
        source="llama-stack",
        any_body=any_body,
        path=path,
        meta=meta,
    )


def _alt_path(req_doc: dict[str, Any], endpoint: str) -> str | None:
    """The wire path when the client's base URL was not ``.../v1``.

    The openai SDK joins its base path and the endpoint without ``/v1``; the
    recorder joined base and the logical endpoint. So a recorded url path of
    ``/v1/models`` (base ``""``) was sent as ``/models``.
    """
    url = req_doc.get("url")
    if not isinstance(url, str) or not endpoint.startswith("/v1/"):
        return None
    recorded = urlsplit(url).path
    if not recorded.endswith(endpoint):
        return None
    wire = recorded[: -len(endpoint)] + endpoint[3:]
    return wire if wire != endpoint else None
