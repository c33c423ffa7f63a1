"""What the ollama Python client really sends for the keyword arguments llama-stack recorded.

llama-stack's files hold the ``ollama`` client call's kwargs; the key must be
computed from the wire body the client builds from them (its request models,
its defaults, no ``None`` values).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ollama_wire_body"]

# Endpoints recorded without the call's arguments: any body on that path matches.
_ARGLESS = frozenset({"/api/pull", "/api/push", "/api/delete", "/api/copy", "/api/create"})

# Defaults the ollama client always sends (``model_dump(exclude_none=True)`` of its
# request models), which llama-stack's kwargs-only recordings lack.
_OLLAMA_DEFAULTS: dict[str, dict[str, Any]] = {
    "/api/generate": {"stream": False},
    "/api/chat": {"stream": False, "tools": []},
    "/api/pull": {"insecure": False, "stream": False},
    "/api/push": {"insecure": False, "stream": False},
    "/api/create": {"stream": False},
}


# The ollama client validates ``messages`` and ``tools`` into its own pydantic models
# (``Message``, ``Tool``) before sending ``model_dump(exclude_none=True)``: unknown keys
# vanish, some defaults appear. ``options``, ``format`` and the rest go out as given
# (a ``None`` inside ``options`` is sent as ``null``). These mirror ollama 0.6.
_OLLAMA_MESSAGE_KEYS = ("role", "content", "thinking", "images", "tool_name", "tool_calls")
_OLLAMA_PROPERTY_KEYS = ("type", "items", "description", "enum")


def _ollama_message(message: Any) -> Any:
    if not isinstance(message, dict):
        return message
    # ``_copy_messages`` drops falsy values (an empty ``content`` or ``tool_calls``).
    given = {k: v for k, v in message.items() if v}
    out: dict[str, Any] = {}
    for key in _OLLAMA_MESSAGE_KEYS:
        value = given.get(key)
        if value is None:
            continue
        if key == "tool_calls" and isinstance(value, list):
            value = [_ollama_tool_call(c) for c in value]
        out[key] = value
    return out


def _ollama_tool_call(call: Any) -> Any:
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        return call
    fn = call["function"]
    return {"function": {k: fn[k] for k in ("name", "arguments") if fn.get(k) is not None}}


def _ollama_tool(tool: Any) -> Any:
    if not isinstance(tool, dict):
        return tool
    out: dict[str, Any] = {"type": tool.get("type") or "function"}
    fn = tool.get("function")
    if isinstance(fn, dict):
        f: dict[str, Any] = {k: fn[k] for k in ("name", "description") if fn.get(k) is not None}
        params = fn.get("parameters")
        if isinstance(params, dict):
            p: dict[str, Any] = {"type": params.get("type") or "object"}
            for src, dst in (("$defs", "$defs"), ("defs", "$defs"), ("items", "items")):
                if params.get(src) is not None:
                    p[dst] = params[src]
            if params.get("required") is not None:
                p["required"] = params["required"]
            props = params.get("properties")
            if isinstance(props, dict):
                p["properties"] = {
                    name: {k: prop[k] for k in _OLLAMA_PROPERTY_KEYS if prop.get(k) is not None}
                    if isinstance(prop, dict)
                    else prop
                    for name, prop in props.items()
                }
            f["parameters"] = p
        out["function"] = f
    return out


def ollama_wire_body(endpoint: str, body: dict[str, Any]) -> tuple[Any, bool]:
    """What ollama's client sends for these kwargs, and whether any body must match."""
    if endpoint in _ARGLESS and not body:
        return body, True
    wire: dict[str, Any] = {}
    for k, v in body.items():
        if v is None:
            continue
        if k == "messages" and isinstance(v, list):
            v = [_ollama_message(m) for m in v]
        elif k == "tools" and isinstance(v, list):
            v = [_ollama_tool(t) for t in v]
        wire[k] = v
    for k, v in _OLLAMA_DEFAULTS.get(endpoint, {}).items():
        # A keyword default the caller overrode with ``None`` is not sent; chat always
        # sends its (possibly empty) tool list.
        if k not in body or (k == "tools" and body[k] is None):
            wire.setdefault(k, v)
    return wire, False
