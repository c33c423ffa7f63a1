"""The request side of a recording as a person reads it: messages, prompt text, parameters."""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["compact", "messages", "params", "prompt_text"]

# Request fields shown as "parameters" (everything except the conversation itself).
_CONVERSATION_FIELDS = frozenset(
    {"messages", "prompt", "input", "system", "instructions", "tools", "functions"}
)


def _text_of(content: Any) -> str:
    """Message content of any API as text (parts joined, images noted)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict):
                kind = part.get("type")
                if isinstance(part.get("text"), str):
                    parts.append(part["text"])
                elif kind in ("tool_result", "function_call_output"):
                    parts.append(_text_of(part.get("content") or part.get("output")))
                elif kind == "tool_use":
                    parts.append(f"[tool_use {part.get('name')}({compact(part.get('input'))})]")
                elif kind:
                    parts.append(f"[{kind}]")
        return "\n".join(p for p in parts if p)
    if isinstance(content, dict):
        return _text_of([content])
    return str(content)


def compact(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


def messages(body: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name in ("system", "instructions"):
        if body.get(name):
            out.append(("system", _text_of(body[name])))
    msgs = body.get("messages")
    if not isinstance(msgs, list):
        msgs = body.get("input") if isinstance(body.get("input"), list) else None
    if isinstance(msgs, list):
        for m in msgs:
            if not isinstance(m, dict):
                continue
            role = str(m.get("role") or m.get("type") or "?")
            text = _text_of(m.get("content"))
            calls = m.get("tool_calls")
            if isinstance(calls, list):
                for c in calls:
                    fn = c.get("function") if isinstance(c, dict) else None
                    if isinstance(fn, dict):
                        args = fn.get("arguments")
                        args_text = args if isinstance(args, str) else compact(args)
                        text += f"\n[tool_call {fn.get('name')}({args_text})]"
            if m.get("type") == "function_call":
                text = f"[function_call {m.get('name')}({m.get('arguments')})]"
            elif m.get("type") == "function_call_output":
                text = _text_of(m.get("output"))
            out.append((role, text.strip()))
    for name in ("prompt", "input"):
        value = body.get(name)
        if isinstance(value, str):
            out.append(("user", value))
        elif name == "input" and isinstance(value, list) and not out:
            out.append(("input", f"{len(value)} item(s)"))
    return out


def prompt_text(body: Any) -> str:
    """All the text a request sends the model (for ``ls --grep``)."""
    if not isinstance(body, dict):
        return ""
    return "\n".join(t for _, t in messages(body))


def params(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in body.items():
        if k in _CONVERSATION_FIELDS or k == "model":
            continue
        out[k] = v
    tools = body.get("tools") or body.get("functions")
    if isinstance(tools, list) and tools:
        names = []
        for t in tools:
            if isinstance(t, dict):
                inner = t.get("function")
                fn: dict[str, Any] = inner if isinstance(inner, dict) else t
                names.append(str(fn.get("name", "?")))
        out["tools"] = names
    return out
