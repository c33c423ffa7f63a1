"""Two field-level rules: ``null-fields`` and ``api-defaults``.

``null-fields``: an API parameter sent as ``null`` means "not given" to every
API llmreel knows (OpenAI's reference marks its optional parameters
``nullable``; Anthropic's, Ollama's and Gemini's servers decode ``null`` into
the field's absent value), so ``"previous_response_id": null`` and no
``previous_response_id`` are one request. Only the members of the API's own
objects are dropped (the endpoint's ``structure``, see
:mod:`llmreel.providers.endpoints`): a ``null`` inside a tool's JSON schema, a
tool call's arguments or ``metadata`` is data and stays.

``api-defaults``: a parameter sent at its documented default is dropped, per
the one table in :mod:`llmreel.providers.defaults` (which lists what was left
out and why).
"""

from __future__ import annotations

import functools
from typing import Any

import orjson

from llmreel.matching.rules.base import Rule, objects_at, same_value
from llmreel.providers.defaults import DEFAULTS
from llmreel.providers.endpoints import Endpoint

__all__ = ["API_DEFAULTS", "NULL_FIELDS"]


def _drop_nulls(body: Any, endpoint: Endpoint | None) -> Any:
    if endpoint is None:
        return body
    for spec in endpoint.structure:
        for obj in objects_at(body, spec):
            for name in [k for k, v in obj.items() if v is None]:
                del obj[name]
    return body


def _drop_defaults(body: Any, endpoint: Endpoint | None) -> Any:
    if endpoint is None or not isinstance(body, dict):
        return body
    tools = body.get("tools")
    has_tools = isinstance(tools, list) and len(tools) > 0
    for default in DEFAULTS.get(endpoint.name, ()):
        if default.with_tools and not has_tools:
            continue
        *parents, last = default.path.split(".")
        node: Any = body
        for name in parents:
            node = node.get(name) if isinstance(node, dict) else None
        if isinstance(node, dict) and last in node and same_value(node[last], default.value):
            del node[last]
    return body


@functools.lru_cache(maxsize=32)
def _default_marks(name: str) -> tuple[bytes, ...]:
    """Byte patterns one of which a body's compact JSON holds if a default may be dropped."""
    marks: list[bytes] = []
    for default in DEFAULTS.get(name, ()):
        member = default.path.rsplit(".", 1)[-1].encode()
        value = default.value
        if isinstance(value, bool | str):
            marks.append(b'"%s":%s' % (member, orjson.dumps(value)))
        elif isinstance(value, int | float):
            marks += [
                b'"%s":%d' % (member, value),
                b'"%s":%s' % (member, repr(float(value)).encode()),
            ]
        else:  # an object: its members may come in any order, so the name decides
            marks.append(b'"%s":' % member)
    return tuple(marks)


def _may_hold_defaults(dumped: bytes, endpoint: Endpoint | None) -> bool:
    return endpoint is not None and any(m in dumped for m in _default_marks(endpoint.name))


NULL_FIELDS = Rule(
    "null-fields",
    1,
    merges="an API parameter (or a member of a message, content block or tool definition) "
    "sent as null, and the same request without it",
    safe="the APIs define null for their optional members as 'not given'; nulls inside JSON "
    "schemas, tool arguments, metadata and fields the API does not define are kept",
    apply=_drop_nulls,
    wanted=lambda dumped, endpoint: b"null" in dumped,
)

API_DEFAULTS = Rule(
    "api-defaults",
    1,
    merges="a parameter sent at its documented default, and the same request without it "
    "(e.g. stream: false, Anthropic tool_choice {type: auto} with tools)",
    safe="only defaults the provider documents AND that every server of that path shares "
    "(llmreel.providers.defaults lists each with its source, and what was left out and why)",
    apply=_drop_defaults,
    wanted=_may_hold_defaults,
)
