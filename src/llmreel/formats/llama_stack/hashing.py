"""The request hash llama-stack's recorder computes, re-implemented from reading it.

Both generations hash ``json.dumps(<dict>, sort_keys=True)`` with sha256 (Python's
own ``json``: its separators, float spelling and ASCII escapes are part of the
hash, so orjson cannot stand in). What goes into the dict:

- **v0.2** (``inference_recorder.py``, ``normalize_request``): ``{method,
  endpoint: <url path>, body}``, the body as recorded.
- **2026, current** (``api_recorder.py`` as of May 2026, ogx 1.0):
  ``normalize_inference_request`` hashes ``{method, endpoint: <url path>, body:
  _normalize_body_for_hash(body), test_id}``, leaving ``test_id`` out when the
  URL path is ``/api/tags``, ``/v1/models`` or ``/v1/openai/v1/models``;
  ``normalize_http_request`` (raw HTTP records) hashes ``{test_id, url, method,
  payload}`` with the payload normalized; ``normalize_tool_request`` hashes
  ``{provider, tool_name, kwargs}`` as they are.

``_normalize_body_for_hash`` (mirrored by :func:`normalize_body_for_hash`): a float
is rounded to 5 places; a string first has its file-search metadata replaced
(``_normalize_file_search_metadata``: ``score: <n>`` → ``score: __NORMALIZED__``,
``attributes: {...}`` removed, UUID ``document_id``\\ s and ``<|uuid|>`` citations
replaced), then every decimal literal with 4+ places rewritten as ``%.5f``
(``_normalize_numeric_literal_strings``). A dict that is the root of the
normalization (the body itself, and every dict directly inside a list, since the
recorder recurses into list items with its defaults) drops ``project_id`` from its
``extra_body``/``extra_query`` dicts; the body drops ``stream_options`` when the
URL's host holds ``bedrock``.

Most bodies need none of that: the body is dumped once, and only when its text
holds something the normalization could change is it normalized and dumped again.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from urllib.parse import urlparse

import re2

__all__ = [
    "NO_TEST_ID_PATHS",
    "hash_text",
    "hash_texts",
    "normalize_body_for_hash",
    "sha256_hex",
]

# URL paths hashed without test_id by the current recorder (normalize_inference_request).
NO_TEST_ID_PATHS = frozenset({"/api/tags", "/v1/models", "/v1/openai/v1/models"})

_FLOAT_IN_STRING = re.compile(r"-?\d+\.\d{4,}")
_SCORE = re.compile(r"score:\s*[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?")
_ATTRIBUTES = re.compile(r",?\s*attributes:\s*\{[^}]*\}")
_UUID = r"[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}"
_DOCUMENT_ID = re.compile(r"document_id:\s*" + _UUID)
_CITATION = re.compile(r"<\|" + _UUID + r"\|>")
# What any of the string rewrites needs: a long decimal (in any script's digits, as
# Python's \d) or a file-search marker. An RE2 alternation: this runs on every string
# of every body, and Python's re tries each branch at each position.
_ANY_IN_STRING = re2.compile(r"\p{Nd}\.\p{Nd}{4}|score:|attributes:|document_id:|<\|")
# Anything in a dumped body (ASCII escapes) the normalization could change: a long decimal
# (in a string or a float), an exponent, file-search metadata, the project id it drops, or
# an escaped non-ASCII character (Python's \d also takes other scripts' digits).
_MAY_CHANGE = re2.compile(
    r"[0-9]\.[0-9]{4}|[0-9][eE][-+]?[0-9]|score:|attributes:|document_id:|<\||"
    r"\"project_id\"|NaN|Infinity|\\u"
)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _normalize_string(value: str) -> str:
    if _ANY_IN_STRING.search(value) is None:
        return value  # none of the five rewrites below can apply
    value = _SCORE.sub("score: __NORMALIZED__", value)
    value = _ATTRIBUTES.sub("", value)
    value = _DOCUMENT_ID.sub("document_id: __NORMALIZED__", value)
    value = _CITATION.sub("<|__NORMALIZED__|>", value)
    return _FLOAT_IN_STRING.sub(lambda m: f"{float(m.group(0)):.5f}", value)


def normalize_body_for_hash(
    value: Any, drop_stream_options: bool = False, *, root: bool = True
) -> Any:
    """The recorder's ``_normalize_body_for_hash``, step for step."""
    if isinstance(value, dict):
        out = {k: normalize_body_for_hash(v, root=False) for k, v in value.items()}
        if drop_stream_options:
            out.pop("stream_options", None)
        if root:
            for name in ("extra_body", "extra_query"):
                inner = out.get(name)
                if isinstance(inner, dict):
                    inner.pop("project_id", None)
        return out
    if isinstance(value, list | tuple):
        # The recorder recurses into items with its defaults: a dict in a list is a root.
        return [normalize_body_for_hash(v) for v in value]
    if isinstance(value, float):
        return round(value, 5)
    if isinstance(value, str):
        return _normalize_string(value)
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def hash_text(
    request: dict[str, Any], *, current: bool, test_id: str | None, normalize: bool = True
) -> str:
    """The exact text llama-stack hashes for a recorded ``request`` document.

    ``current``: the 2026 recorder (else v0.2); ``normalize``: apply the body
    normalization (the 2026 recorder before May 2026's version D hashed the raw body).
    """
    return hash_texts(request, current=current, test_ids=[test_id], normalize=normalize)[0]


def hash_texts(
    request: dict[str, Any],
    *,
    current: bool,
    test_ids: list[str | None],
    normalize: bool = True,
) -> list[str]:
    """:func:`hash_text` for each of ``test_ids``, the body dumped once."""
    url = request.get("url")
    url = url if isinstance(url, str) else ""
    if "payload" in request and "body" not in request:
        # normalize_http_request: the full URL (host and port too), test_id always.
        payload = request.get("payload")
        if current and normalize:
            payload = normalize_body_for_hash(payload)
        return [
            _dumps({"method": "POST", "payload": payload, "test_id": t, "url": url})
            for t in test_ids
        ]
    if "tool_name" in request and "provider" in request:
        # normalize_tool_request: no test_id, no normalization.
        tool = {
            "kwargs": request.get("kwargs"),
            "provider": request.get("provider"),
            "tool_name": request.get("tool_name"),
        }
        return [_dumps(tool)] * len(test_ids)
    parsed = urlparse(url)
    method = str(request.get("method") or "POST").upper()
    body = request.get("body")
    text = _dumps(body)
    if current and normalize:
        # Normalize and dump again only when the text shows the normalization could matter.
        bedrock = "bedrock" in parsed.netloc
        if _MAY_CHANGE.search(text) is not None or (bedrock and '"stream_options"' in text):
            text = _dumps(normalize_body_for_hash(body, bedrock))
    # The dict's keys sorted: body, endpoint, method, test_id; json.dumps' separators.
    head = f'{{"body": {text}, "endpoint": {_dumps(parsed.path)}, "method": {_dumps(method)}'
    if not current or parsed.path in NO_TEST_ID_PATHS:
        return [head + "}"] * len(test_ids)
    return [f'{head}, "test_id": {_dumps(t)}}}' for t in test_ids]
