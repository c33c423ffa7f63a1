"""The structure of an answer, without its text: what a drift check compares.

An application depends on the *shape* of an LLM API's answers (which fields
there are, their types, which stream events arrive in which order), not on the
words, which change on every call. :func:`shape_of` reduces a recorded or live
:class:`~llmreel.model.interaction.Response` to a :class:`ResponseShape`:

- the status class (``2xx``, ``4xx``...), the media type, the stream kind;
- for a JSON body, its :data:`Schema`: every field path (``choices[].delta.content``)
  with the JSON types seen there (``string``, ``number``, ``null``...), and for
  enum-like fields (``finish_reason``, ``role``, ``type``...) the set of values;
- for a stream, the sequence of event types with runs of the same type
  collapsed (so a longer answer is not a different structure), and one schema
  per event type, merged over all the events of that type. An event's type is
  its SSE ``event:`` name, else its JSON ``type``, else its ``object``, else
  ``[DONE]`` for that sentinel, else ``chunk`` (Ollama's and Gemini's untyped
  chunks); comment-only keep-alives are left out;
- whether the answer reports token usage anywhere.

Objects whose keys are data, not field names (tool-call arguments, ``metadata``,
JSON schemas, token-to-logprob maps), are recorded as ``object`` without
descending into them, so a different tool argument is not a different API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from llmreel.model.interaction import Response

__all__ = [
    "DONE",
    "ENUM_FIELDS",
    "FieldShape",
    "ResponseShape",
    "Schema",
    "event_label",
    "shape_of",
]

# Fields whose value is one of a few names, not free text: their value sets are compared.
ENUM_FIELDS = frozenset(
    {
        "finish_reason",
        "stop_reason",
        "done_reason",
        "finishReason",
        "role",
        "type",
        "object",
        "status",
    }
)
# Objects whose keys are chosen by the model or the caller, not by the API.
FREE_FORM = frozenset(
    {
        "input",  # Anthropic tool_use arguments
        "arguments",  # Ollama tool calls (an object there; a string in OpenAI's)
        "args",  # Gemini functionCall
        "metadata",
        "parameters",
        "properties",
        "schema",
        "logit_bias",
        "top_logprobs",
        "id_normalization_mapping",
    }
)
_FIELD_NAME = re.compile(r"^[A-Za-z_$@][A-Za-z0-9_\-.$@:]*$")
_MAX_KEYS = 64  # more keys than any API object has: a map keyed by data
_MAX_DEPTH = 16
_USAGE_FIELDS = ("usage", "usageMetadata")
_OLLAMA_USAGE = ("eval_count", "prompt_eval_count")
DONE = "[DONE]"


@dataclass(slots=True)
class FieldShape:
    """What was seen at one field path: JSON types, how often, and (enum-like) the values."""

    types: set[str] = field(default_factory=set)
    count: int = 0
    values: set[str] = field(default_factory=set)

    def describe(self) -> str:
        return "|".join(sorted(self.types))


Schema = dict[str, FieldShape]
"""Field path -> what was seen there. ``""`` is the document itself; ``a.b``, ``a[]`` (the
items of an array), ``a{}`` (the values of a map)."""


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"  # JSON has one number type; 1 and 1.0 are not a different API
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _is_map(name: str, value: dict[str, Any]) -> bool:
    if name in FREE_FORM or len(value) > _MAX_KEYS:
        return True
    return any(not _FIELD_NAME.match(k) for k in value)


def add_to_schema(
    schema: Schema, value: Any, path: str = "", name: str = "", depth: int = 0
) -> None:
    """Merge the structure of ``value`` (found at ``path``) into ``schema``."""
    shape = schema.get(path)
    if shape is None:
        shape = schema[path] = FieldShape()
    shape.types.add(_json_type(value))
    shape.count += 1
    if name in ENUM_FIELDS and isinstance(value, str) and len(value) <= 80:
        shape.values.add(value)
    if depth >= _MAX_DEPTH:
        return
    if isinstance(value, dict):
        if _is_map(name, value):
            return
        for key, child in value.items():
            add_to_schema(schema, child, f"{path}.{key}" if path else key, key, depth + 1)
    elif isinstance(value, list):
        for item in value:
            add_to_schema(schema, item, f"{path}[]", name, depth + 1)


@dataclass(slots=True)
class ResponseShape:
    """The structure of one answer (see the module docstring)."""

    status: int
    media_type: str
    stream: str | None
    body_kind: str  # "json", "text", "binary", "empty" or "stream"
    body: Schema = field(default_factory=dict)
    sequence: list[str] = field(default_factory=list)  # event types, runs collapsed
    events: dict[str, Schema] = field(default_factory=dict)  # per event type
    untyped: set[str] = field(default_factory=set)  # event types of non-JSON data
    usage: bool = False
    error: str = ""  # an error answer's message, for people

    @property
    def status_class(self) -> str:
        return "no response" if self.status == 0 else f"{self.status // 100}xx"


def event_label(event: str | None, doc: Any, data: str | None) -> str:
    """The type of one stream event (see the module docstring)."""
    if event:
        return event
    if isinstance(doc, dict):
        for name in ("type", "object"):
            value = doc.get(name)
            if isinstance(value, str) and value:
                return value
        return "chunk"
    if data is not None and data.strip() == DONE:
        return DONE
    return "chunk" if doc is not None else "data"


def _has_usage(doc: Any) -> bool:
    """Token usage at the top of a document or one level down (``response.usage``)."""
    if not isinstance(doc, dict):
        return False
    for key in _USAGE_FIELDS:
        if isinstance(doc.get(key), dict):
            return True
    if any(isinstance(doc.get(k), int) for k in _OLLAMA_USAGE):
        return True
    return any(
        isinstance(child, dict) and any(isinstance(child.get(k), dict) for k in _USAGE_FIELDS)
        for child in doc.values()
    )


def _error_text(doc: Any, text: str | None) -> str:
    if isinstance(doc, dict):
        err = doc.get("error", doc)
        if isinstance(err, dict):
            for key in ("message", "detail", "error"):
                if isinstance(err.get(key), str):
                    return str(err[key])[:200]
        if isinstance(err, str):
            return err[:200]
    return (text or "")[:200]


def _parse(data: str | None) -> Any:
    if not data or data[:1] not in ("{", "["):
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def shape_of(response: Response) -> ResponseShape:
    """The structure of ``response`` (recorded or live, any format llmreel reads)."""
    media = response.content_type().split(";", 1)[0].strip().lower()
    out = ResponseShape(
        status=response.status, media_type=media, stream=response.stream, body_kind="empty"
    )
    if response.stream is not None:
        out.body_kind = "stream"
        first_doc: Any = None
        for ev in response.events:
            if ev.data is None and ev.event is None:
                continue  # a comment or retry-only keep-alive: timing, not structure
            doc = _parse(ev.data)
            label = event_label(ev.event, doc, ev.data)
            if not out.sequence or out.sequence[-1] != label:
                out.sequence.append(label)
            if doc is None:
                out.untyped.add(label)
                continue
            first_doc = first_doc if first_doc is not None else doc
            add_to_schema(out.events.setdefault(label, {}), doc)
            out.usage = out.usage or _has_usage(doc)
        if response.status >= 400:
            out.error = _error_text(first_doc, None)
        return out
    if response.is_json and response.body is not None:
        out.body_kind = "json"
        add_to_schema(out.body, response.body)
        out.usage = _has_usage(response.body)
    elif response.text is not None:
        out.body_kind = "text"
    elif response.content is not None:
        out.body_kind = "binary"
    if response.status >= 400:
        out.error = _error_text(response.body, response.text)
    return out
