"""Writing interactions as llama-stack recordings that llama-stack's own replay will load.

The inverse of :mod:`llmreel.formats.llama_stack.reader` (see docs/llama-stack-format.md,
sections 1 and 6). Two generations:

- ``2026``: ``{"test_id", "request", "response", "id_normalization_mapping": {}}``
  named ``<hash64>.json`` (model lists ``models-<hash64>-<digest>.json``);
- ``v0.2``: ``{"request", "response"}`` in ``responses/<hash12>.json``, with
  an optional ``index.sqlite`` row per file (version A needs it to find a file).

The wire request is turned back into what llama-stack recorded: the SDK-level
call (``url`` = base + logical endpoint, hence the doubled ``/v1/v1``; the
method always ``POST``; ollama's ``embed`` under ``/api/embeddings``), or a raw
HTTP record (``payload``) for endpoints no SDK patch covered (Anthropic
``/v1/messages``, rerank...). Response objects get the ``__type__`` of the SDK
class the recorder would have seen, inferred from the endpoint and the
object's ``object``/``type`` field. Errors become ``is_exception`` records.

Interactions imported from llama-stack carry the parts of the original file
that the wire form cannot express (``meta["llama_stack"]``: the recorded
request fields, ``test_id``, response flags, ``__type__`` names that inference
would not guess), so import followed by export gives back the same documents.
Files are written as llama-stack writes them: ``json.dumps(indent=2)`` + newline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from llmreel.formats.llama_stack.naming import Generation, candidate_names, expected_name
from llmreel.formats.llama_stack.reader import GET_ENDPOINTS
from llmreel.formats.llama_stack.sdk_types import infer_type
from llmreel.model.interaction import Interaction

__all__ = ["PROVENANCE_KEY", "dumps_document", "inferred_types", "provenance", "to_document"]

PROVENANCE_KEY = "llama_stack"

# Wire path suffixes the openai SDK patches recorded, and their logical endpoints.
_OPENAI_SUFFIXES = ("/chat/completions", "/completions", "/embeddings", "/models", "/responses")

# Status codes to the openai SDK's exception classes (what ``type`` records).
_OPENAI_ERRORS = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    409: "ConflictError",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
}


# --------------------------------------------------------------------------- request


@dataclass(slots=True)
class _Call:
    """Where a wire request came from, as llama-stack would have recorded it."""

    raw: bool
    endpoint: str  # logical endpoint (SDK-level) or the wire path (raw)
    url: str


def _origin(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return "http://localhost"


def _classify(inter: Interaction) -> _Call:
    req = inter.request
    path = req.path
    if path.startswith("/api/"):
        endpoint = "/api/embeddings" if path == "/api/embed" else path
        # The recorder read a `host` attribute ollama's AsyncClient does not have.
        return _Call(False, endpoint, "http://localhost:11434" + endpoint)
    for suffix in _OPENAI_SUFFIXES:
        if path.endswith(suffix):
            base = path[: -len(suffix)]
            endpoint = "/v1" + suffix
            return _Call(False, endpoint, _origin(req.url) + base + endpoint)
    return _Call(True, path, req.url or _origin(req.url) + path)


def _sdk_request(inter: Interaction, call: _Call) -> dict[str, Any]:
    req = inter.request
    body = req.body if isinstance(req.body, dict) else {}
    if call.endpoint in GET_ENDPOINTS:
        body = {}
    model = body.get("model", "")
    return {
        "method": "POST",
        "url": call.url,
        "headers": {},
        "body": body,
        "endpoint": call.endpoint,
        "model": model if isinstance(model, str) else "",
    }


def _raw_request(inter: Interaction, call: _Call, test_id: str | None) -> dict[str, Any]:
    req = inter.request
    payload: Any = req.body
    if payload is None and req.raw:
        payload = req.raw.decode("utf-8", "replace")
    return {"test_id": test_id, "url": call.url, "method": req.method.upper(), "payload": payload}


# --------------------------------------------------------------------------- response


def _event_items(inter: Interaction) -> list[Any]:
    out: list[Any] = []
    for ev in inter.response.events:
        data = ev.data
        if data is None or data == "[DONE]":
            continue
        try:
            out.append(orjson.loads(data))
        except orjson.JSONDecodeError:
            out.append(data)
    return out


def _typed(items: list[Any], types: list[str | None]) -> list[Any]:
    return [
        {"__type__": t, "__data__": item} if t is not None else item
        for item, t in zip(items, types, strict=True)
    ]


def _sse_lines(inter: Interaction) -> list[str]:
    """An SSE stream as the raw recorder kept it: each line, blank separators included."""
    lines: list[str] = []
    for ev in inter.response.events:
        block = ev.wire("sse").decode()
        lines.extend(block.split("\n")[:-1])
    return lines


def _error_fields(inter: Interaction, call: _Call) -> dict[str, Any]:
    resp = inter.response
    status = resp.status
    body = resp.body
    if call.endpoint.startswith("/api/"):
        text = body.get("error") if isinstance(body, dict) else resp.text
        message = f"{text} (status code: {status})"
        data: dict[str, Any] = {
            "category": "provider_sdk",
            "provider": "ollama",
            "type": "ResponseError",
            "message": message,
            "status_code": status,
            "body": None,
        }
    else:
        err = body.get("error", body) if isinstance(body, dict) else body
        kind = _OPENAI_ERRORS.get(
            status, "InternalServerError" if status >= 500 else "APIStatusError"
        )
        message = f"Error code: {status} - {body!r}"
        data = {
            "category": "provider_sdk",
            "provider": "unknown" if call.raw else "openai",
            "type": kind,
            "message": message,
            "status_code": status,
            "body": err,
        }
    return {
        "body": None,
        "is_streaming": False,
        "is_exception": True,
        "exception_data": data,
        "exception_message": message,
    }


def inferred_types(inter: Interaction, call: _Call | None = None) -> list[str | None]:
    """The ``__type__`` of each response object (stream chunk, list item, or the body)."""
    call = call or _classify(inter)
    resp = inter.response
    path = inter.request.path
    if resp.stream is not None:
        return [infer_type(path, item) for item in _event_items(inter)]
    body = resp.body
    if (
        call.endpoint.endswith("/models")
        and isinstance(body, dict)
        and body.get("object") == "list"
        and isinstance(body.get("data"), list)
    ):
        return [infer_type(path, item) for item in body["data"]]
    return [infer_type(path, body)]


def _response_doc(inter: Interaction, call: _Call, types: list[str | None] | None) -> Any:
    resp = inter.response
    if call.raw:
        if resp.stream == "sse":
            return {"body": _sse_lines(inter), "is_streaming": True}
        if resp.stream == "ndjson":
            return {"body": _event_items(inter), "is_streaming": True}
        return {"status": resp.status, "body": resp.body, "is_streaming": False}
    types = types if types is not None else inferred_types(inter, call)
    if resp.stream is not None:
        items = _event_items(inter)
        return {"body": _typed(items, _fit(types, len(items))), "is_streaming": True}
    body = resp.body
    if (
        call.endpoint.endswith("/models")
        and isinstance(body, dict)
        and isinstance(body.get("data"), list)
    ):
        items = list(body["data"])
        return {"body": _typed(items, _fit(types, len(items))), "is_streaming": False}
    typed = _typed([body], _fit(types, 1))[0]
    return {"body": typed, "is_streaming": False}


def _fit(types: list[str | None], n: int) -> list[str | None]:
    if len(types) == n:
        return types
    if len(types) == 1:
        return types * n
    return [*types[:n], *([None] * max(0, n - len(types)))]


# --------------------------------------------------------------------------- provenance


def provenance(doc: dict[str, Any], inter: Interaction) -> dict[str, Any]:
    """What an imported llama-stack file needs to be written back unchanged.

    Only what the wire form cannot express is kept: the recorded request fields
    (its body only when it differs from the wire body), ``test_id``, the response
    flags, and ``__type__`` names inference would not guess.
    """
    req_doc = doc.get("request") if isinstance(doc.get("request"), dict) else {}
    resp_doc = doc.get("response") if isinstance(doc.get("response"), dict) else {}
    assert isinstance(req_doc, dict) and isinstance(resp_doc, dict)
    out: dict[str, Any] = {"generation": "2026" if "test_id" in doc else "v0.2"}
    if inter.path:
        out["file"] = Path(inter.path).name
    if "test_id" in doc:
        out["test_id"] = doc.get("test_id")
    if "id_normalization_mapping" in doc:
        out["id_normalization_mapping"] = doc["id_normalization_mapping"]
    request: dict[str, Any] = {}
    wire_body = inter.request.body
    for k, v in req_doc.items():
        if k in ("body", "payload") and v == wire_body:
            request[k] = None  # placeholder: keeps the key order, value comes from the wire
            out.setdefault("wire_body", []).append(k)
        else:
            request[k] = v
    out["request"] = request
    # The body's place is kept (key order), its content comes from the wire form,
    # except for exceptions whose body the recorder always wrote as null.
    out["response"] = {
        k: (v if k != "body" or resp_doc.get("is_exception") else None) for k, v in resp_doc.items()
    }
    body = resp_doc.get("body")
    if not resp_doc.get("is_exception"):
        items = body if isinstance(body, list) else [body]
        actual = [
            i.get("__type__")
            if isinstance(i, dict) and isinstance(i.get("__type__"), str)
            else None
            for i in items
        ]
        call = _classify_imported(out, inter)
        if not call.raw and actual != _fit(inferred_types(inter, call), len(actual)):
            uniq = set(actual)
            out["types"] = actual[0] if len(uniq) == 1 else actual
    return out


def _classify_imported(prov: dict[str, Any], inter: Interaction) -> _Call:
    request = prov.get("request") or {}
    raw = "payload" in request and "body" not in request
    if raw:
        return _Call(True, inter.request.path, str(request.get("url") or ""))
    endpoint = request.get("endpoint")
    return _Call(False, endpoint if isinstance(endpoint, str) else inter.request.path, "")


def _from_provenance(
    inter: Interaction, prov: dict[str, Any], generation: Generation
) -> dict[str, Any]:
    call = _classify_imported(prov, inter)
    request = dict(prov.get("request") or {})
    for k in prov.get("wire_body") or ():
        request[k] = inter.request.body
    response = dict(prov.get("response") or {})
    if not response.get("is_exception"):
        types = prov.get("types")
        type_list: list[str | None] | None
        if isinstance(types, str):
            type_list = [types]
        elif isinstance(types, list):
            type_list = [t if isinstance(t, str) else None for t in types]
        else:
            type_list = None
        rebuilt = _response_doc(inter, call, type_list)
        response["body"] = rebuilt["body"]
        response.setdefault("is_streaming", rebuilt["is_streaming"])
    doc: dict[str, Any] = {}
    if generation == "2026":
        test_id = prov.get("test_id", inter.test_id)
        doc["test_id"] = test_id
        if call.raw and "test_id" in request:
            request["test_id"] = test_id
    doc["request"] = request
    doc["response"] = response
    if "id_normalization_mapping" in prov:
        doc["id_normalization_mapping"] = prov["id_normalization_mapping"]
    elif generation == "2026" and prov.get("generation") != "2026":
        doc["id_normalization_mapping"] = {}
    return doc


# --------------------------------------------------------------------------- documents


def to_document(inter: Interaction, generation: Generation) -> tuple[str, dict[str, Any]]:
    """The llama-stack file name and document for one interaction."""
    prov = inter.meta.get(PROVENANCE_KEY)
    if isinstance(prov, dict) and isinstance(prov.get("request"), dict):
        doc = _from_provenance(inter, prov, generation)
        original = prov.get("file")
        if (
            isinstance(original, str)
            and prov.get("generation") == generation
            and original in candidate_names(doc)
        ):
            # Keep the name the recorder gave it (e.g. version A's plain model-list name).
            return original, doc
    else:
        call = _classify(inter)
        test_id = inter.test_id
        request = _raw_request(inter, call, test_id) if call.raw else _sdk_request(inter, call)
        if inter.response.status >= 400:
            response = _error_fields(inter, call)
        else:
            response = _response_doc(inter, call, None)
        doc = {}
        if generation == "2026":
            doc["test_id"] = test_id
        elif call.raw:
            del request["test_id"]
        doc["request"] = request
        doc["response"] = response
        if generation == "2026":
            doc["id_normalization_mapping"] = {}
    return expected_name(doc, generation), doc


def dumps_document(doc: dict[str, Any]) -> bytes:
    """Bytes as llama-stack writes them (``json.dump(indent=2)`` + newline, ASCII escapes)."""
    return (json.dumps(doc, indent=2) + "\n").encode()
